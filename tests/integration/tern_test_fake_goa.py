#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stand-in for GNOME Online Accounts with one OAuth2 mail account.

The real goa-daemon refreshes an OAuth2 account's tokens with its provider
(Google, Microsoft) over the network and checks the account's identity at
start; a test machine reaches neither.  This service answers on the session
bus as goa-daemon does, for what Tern asks: the object manager's list of
accounts (with the Account, Mail and OAuth2Based interfaces), and
OAuth2Based.GetAccessToken, which gives the token found in TOKEN_FILE, as
GOA gives the one it got from the provider.  Each call adds a line to
CALLS_FILE.

Usage: tern_test_fake_goa.py ID ADDRESS IMAP_HOST:PORT SMTP_HOST:PORT
       TOKEN_FILE CALLS_FILE
It prints "ready" once it owns org.gnome.OnlineAccounts.
"""

import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BUS_NAME = 'org.gnome.OnlineAccounts'
ROOT = '/org/gnome/OnlineAccounts'
ACCOUNT = 'org.gnome.OnlineAccounts.Account'
MAIL = 'org.gnome.OnlineAccounts.Mail'
OAUTH2 = 'org.gnome.OnlineAccounts.OAuth2Based'
PROPERTIES = 'org.freedesktop.DBus.Properties'


def properties(account_id, address, imap, smtp):
    def props(values):
        return dbus.Dictionary(values, signature='sv')

    return {
        ACCOUNT: props({
            'Id': dbus.String(account_id),
            'ProviderType': dbus.String('google'),
            'ProviderName': dbus.String('Google'),
            'Identity': dbus.String(address),
            'PresentationIdentity': dbus.String(address),
            'IsLocked': dbus.Boolean(False),
            'AttentionNeeded': dbus.Boolean(False),
            'MailDisabled': dbus.Boolean(False),
        }),
        MAIL: props({
            'EmailAddress': dbus.String(address),
            'Name': dbus.String('Online Alice'),
            'ImapSupported': dbus.Boolean(True),
            'ImapHost': dbus.String(imap),
            'ImapUserName': dbus.String(address),
            'ImapUseSsl': dbus.Boolean(True),
            'ImapUseTls': dbus.Boolean(False),
            'ImapAcceptSslErrors': dbus.Boolean(False),
            'SmtpSupported': dbus.Boolean(True),
            'SmtpHost': dbus.String(smtp),
            'SmtpUserName': dbus.String(address),
            'SmtpUseAuth': dbus.Boolean(True),
            'SmtpAuthXoauth2': dbus.Boolean(True),
            'SmtpUseSsl': dbus.Boolean(True),
            'SmtpUseTls': dbus.Boolean(False),
            'SmtpAcceptSslErrors': dbus.Boolean(False),
        }),
        OAUTH2: props({
            'ClientId': dbus.String('goa-test-client'),
            'ClientSecret': dbus.String(''),
        }),
    }


class Manager(dbus.service.Object):
    def __init__(self, bus, path, interfaces):
        super().__init__(bus, ROOT)
        self.path = path
        self.interfaces = interfaces

    @dbus.service.method('org.freedesktop.DBus.ObjectManager',
                         out_signature='a{oa{sa{sv}}}')
    def GetManagedObjects(self):
        return {dbus.ObjectPath(self.path): self.interfaces}


class Account(dbus.service.Object):
    def __init__(self, bus, path, interfaces, token_file, calls_file):
        super().__init__(bus, path)
        self.interfaces = interfaces
        self.token_file = token_file
        self.calls_file = calls_file

    @dbus.service.method(OAUTH2, out_signature='si')
    def GetAccessToken(self):
        with open(self.calls_file, 'a') as calls:
            calls.write('GetAccessToken\n')
        with open(self.token_file) as f:
            token = f.read().strip()
        if not token:
            raise dbus.exceptions.DBusException(
                'The account needs attention', name='org.gnome.OnlineAccounts.Error.NotAuthorized')
        return token, 3600

    @dbus.service.method(PROPERTIES, in_signature='ss', out_signature='v')
    def Get(self, interface, name):
        return self.interfaces[interface][name]

    @dbus.service.method(PROPERTIES, in_signature='s', out_signature='a{sv}')
    def GetAll(self, interface):
        return self.interfaces.get(interface, dbus.Dictionary({}, signature='sv'))


def main(argv):
    if len(argv) != 7:
        print(__doc__, file=sys.stderr)
        return 2
    account_id, address, imap, smtp, token_file, calls_file = argv[1:]
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    path = f'{ROOT}/Accounts/{account_id}'
    interfaces = properties(account_id, address, imap, smtp)
    objects = [Manager(bus, path, interfaces),
               Account(bus, path, interfaces, token_file, calls_file)]
    name = dbus.service.BusName(BUS_NAME, bus, do_not_queue=True)
    print('ready', flush=True)
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)
    loop.run()
    del objects, name
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
