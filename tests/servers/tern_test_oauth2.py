# SPDX-License-Identifier: GPL-3.0-or-later
"""A small OAuth2 authorization server for Tern's tests, on 127.0.0.1 only.

It plays the provider's side of what Tern does with Google or Microsoft:

  GET  /authorize   the sign-in page; the test user "agrees" at once: it
                    redirects to the loopback redirect_uri with a code and
                    the state (login_hint, if given, names the user)
  POST /token       authorization_code (checks the PKCE S256 verifier and
                    the redirect_uri) and refresh_token grants (RFC 6749)
  POST /introspect  RFC 7662 token introspection, which Dovecot's oauth2
                    passdb asks: {"active": true, "username": ...}
  POST /revoke      revokes an access or refresh token (RFC 7009 form)
  POST /expire      makes every access token issued so far expired
  POST /revoke-refresh-tokens   revokes every refresh token (the user
                    withdrew Tern's access at the provider)
  GET  /stats       counts of grants, for tests: {"code": n, "refresh": n}

Usage: tern_test_oauth2.py --port-file FILE [--client-id ID]
          [--expires-in SECONDS] [--rotate-refresh-tokens] [--user LOGIN]
Writes the chosen port to FILE once it is listening, and serves until it
gets SIGTERM.
"""

import argparse
import base64
import hashlib
import http.server
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse


class Provider:
    def __init__(self, client_id, expires_in, rotate, default_user):
        self.client_id = client_id
        self.expires_in = expires_in
        self.rotate = rotate
        self.default_user = default_user
        self.lock = threading.RLock()
        self.codes = {}      # code -> (challenge, redirect_uri, user)
        self.access = {}     # token -> (user, expiry)
        self.refresh = {}    # token -> user
        self.stats = {'code': 0, 'refresh': 0, 'introspect': 0, 'refused': 0}

    def issue(self, user, with_refresh):
        access = 'at-' + secrets.token_urlsafe(24)
        self.access[access] = (user, time.time() + self.expires_in)
        answer = {'access_token': access, 'token_type': 'Bearer',
                  'expires_in': self.expires_in}
        if with_refresh:
            refresh = 'rt-' + secrets.token_urlsafe(24)
            self.refresh[refresh] = user
            answer['refresh_token'] = refresh
        return answer


def s256(verifier):
    digest = hashlib.sha256(verifier.encode('ascii')).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b'=').decode('ascii')


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = 'TernTestOAuth2/1'

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body, headers=()):
        data = json.dumps(body).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Cache-Control', 'no-store')
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def error(self, code, description, status=400):
        with self.server.provider.lock:
            self.server.provider.stats['refused'] += 1
        self.reply(status, {'error': code, 'error_description': description})

    def form(self):
        length = int(self.headers.get('Content-Length') or 0)
        if length > 65536:
            return {}
        body = self.rfile.read(length).decode('utf-8', 'replace')
        return {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        p = self.server.provider
        if url.path == '/stats':
            with p.lock:
                self.reply(200, dict(p.stats))
            return
        if url.path != '/authorize':
            self.reply(404, {'error': 'not_found'})
            return
        redirect = query.get('redirect_uri', '')
        if (query.get('client_id') != p.client_id or query.get('response_type') != 'code'
                or query.get('code_challenge_method') != 'S256'
                or not query.get('code_challenge')
                or not redirect.startswith('http://127.0.0.1:')):
            self.reply(400, {'error': 'invalid_request'})
            return
        code = 'code-' + secrets.token_urlsafe(16)
        with p.lock:
            p.codes[code] = (query['code_challenge'], redirect,
                             query.get('login_hint') or p.default_user)
        target = redirect + ('&' if '?' in redirect else '?') + urllib.parse.urlencode(
            {'code': code, 'state': query.get('state', '')})
        self.send_response(302)
        self.send_header('Location', target)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        form = self.form()
        p = self.server.provider
        if url.path == '/token':
            self.token(p, form)
        elif url.path == '/introspect':
            token = form.get('token', '')
            with p.lock:
                p.stats['introspect'] += 1
                entry = p.access.get(token)
            if entry is None or entry[1] <= time.time():
                self.reply(200, {'active': False})
            else:
                self.reply(200, {'active': True, 'username': entry[0],
                                 'exp': int(entry[1]), 'scope': 'mail'})
        elif url.path == '/revoke':
            token = form.get('token', '')
            with p.lock:
                found = p.access.pop(token, None) or p.refresh.pop(token, None)
            self.reply(200 if found else 404, {})
        elif url.path == '/revoke-refresh-tokens':
            with p.lock:
                p.refresh.clear()
            self.reply(200, {})
        elif url.path == '/expire':
            with p.lock:
                for token, (user, _) in list(p.access.items()):
                    p.access[token] = (user, 0)
            self.reply(200, {})
        else:
            self.reply(404, {'error': 'not_found'})

    def token(self, p, form):
        if form.get('client_id') != p.client_id:
            self.error('invalid_client', 'unknown client', 401)
            return
        grant = form.get('grant_type')
        with p.lock:
            if grant == 'authorization_code':
                entry = p.codes.pop(form.get('code', ''), None)
                if entry is None:
                    self.error('invalid_grant', 'unknown or used code')
                    return
                challenge, redirect, user = entry
                if form.get('redirect_uri') != redirect:
                    self.error('invalid_grant', 'redirect_uri differs')
                    return
                if s256(form.get('code_verifier', '')) != challenge:
                    self.error('invalid_grant', 'PKCE verifier does not match')
                    return
                p.stats['code'] += 1
                self.reply(200, p.issue(user, True))
            elif grant == 'refresh_token':
                old = form.get('refresh_token', '')
                user = p.refresh.get(old)
                if user is None:
                    self.error('invalid_grant', 'refresh token revoked or unknown')
                    return
                p.stats['refresh'] += 1
                if p.rotate:
                    del p.refresh[old]
                self.reply(200, p.issue(user, p.rotate))
            else:
                self.error('unsupported_grant_type', grant or '')


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('--port-file', required=True)
    parser.add_argument('--client-id', default='tern-test-client')
    parser.add_argument('--expires-in', type=int, default=3600)
    parser.add_argument('--rotate-refresh-tokens', action='store_true')
    parser.add_argument('--user', default='alice@tern.test')
    args = parser.parse_args(argv)

    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    server.provider = Provider(args.client_id, args.expires_in, args.rotate_refresh_tokens,
                               args.user)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    tmp = args.port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % server.server_address[1])
    os.replace(tmp, args.port_file)
    server.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
