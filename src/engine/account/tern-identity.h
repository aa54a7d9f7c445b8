/* SPDX-License-Identifier: GPL-3.0-or-later */

#pragma once

#include <glib-object.h>

#include "tern-account-types.h"

G_BEGIN_DECLS

#define TERN_TYPE_IDENTITY (tern_identity_get_type ())

G_DECLARE_FINAL_TYPE (TernIdentity, tern_identity, TERN, IDENTITY, GObject)

TernIdentity *tern_identity_new               (const char   *name,
                                               const char   *address);

const char   *tern_identity_get_name          (TernIdentity *self);
void          tern_identity_set_name          (TernIdentity *self,
                                               const char   *name);
const char   *tern_identity_get_address       (TernIdentity *self);
void          tern_identity_set_address       (TernIdentity *self,
                                               const char   *address);
const char   *tern_identity_get_reply_to      (TernIdentity *self);
void          tern_identity_set_reply_to      (TernIdentity *self,
                                               const char   *reply_to);
const char   *tern_identity_get_signature     (TernIdentity *self);
void          tern_identity_set_signature     (TernIdentity *self,
                                               const char   *signature);

/* How the composer starts a message from this identity; rich by default. */
TernComposeFormat tern_identity_get_compose_format (TernIdentity      *self);
void              tern_identity_set_compose_format (TernIdentity      *self,
                                                    TernComposeFormat  format);

/* An identity may send through its own SMTP server; without a host it
 * sends through its account's. */
gboolean      tern_identity_has_smtp_server   (TernIdentity *self);
const char   *tern_identity_get_smtp_host     (TernIdentity *self);
void          tern_identity_set_smtp_host     (TernIdentity *self,
                                               const char   *host);
guint16       tern_identity_get_smtp_port     (TernIdentity *self);
void          tern_identity_set_smtp_port     (TernIdentity *self,
                                               guint16       port);
TernSecurity  tern_identity_get_smtp_security (TernIdentity *self);
void          tern_identity_set_smtp_security (TernIdentity *self,
                                               TernSecurity  security);
const char   *tern_identity_get_smtp_username (TernIdentity *self);
void          tern_identity_set_smtp_username (TernIdentity *self,
                                               const char   *username);

/* Set through tern_account_set_default_identity(). */
gboolean      tern_identity_get_is_default    (TernIdentity *self);

G_END_DECLS
