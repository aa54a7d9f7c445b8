#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The headless half of `make demo`, against the real servers.

Runs under tests/servers/tern-test-servers: `tern-demo setup` must fill the
servers' mailbox and write a profile whose account logs in to both servers
with no keyring (this test has no D-Bus session), whose alias identity is
there, and whose INBOX and Archive tern-cli then syncs and lists.

    test-demo.py TERN_DEMO TERN_CLI
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

results = []


def check(name, condition, detail=''):
    results.append((name, bool(condition), detail))


def cli(tern_cli, data_dir, *args):
    result = subprocess.run([tern_cli, '--data-dir', data_dir] + list(args),
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError('tern-cli %s: %s%s' % (' '.join(args), result.stdout, result.stderr))
    return result.stdout


def main():
    demo, tern_cli = sys.argv[1], sys.argv[2]
    if 'TERN_TEST_IMAP_PORT' not in os.environ:
        print('1..0 # SKIP no test servers')
        return 0
    env = dict(os.environ)
    # No keyring can answer: the password must come from the command.
    env.pop('DBUS_SESSION_BUS_ADDRESS', None)
    top = tempfile.mkdtemp(prefix='tern-demo-test-')
    data_dir = os.path.join(top, 'profile')
    try:
        setup = subprocess.run(['/usr/bin/python3', demo, 'setup', '--data-dir', data_dir,
                                '--tern-cli', tern_cli],
                               capture_output=True, text=True, env=env, timeout=180)
        check('setup succeeds', setup.returncode == 0, setup.stderr)
        if setup.returncode != 0:
            return report()
        account = setup.stdout.strip()
        check('setup names the account', account != '', setup.stdout)

        listed = cli(tern_cli, data_dir, 'account', 'list')
        check('the profile holds the demo account', account in listed, listed)
        shown = cli(tern_cli, data_dir, 'account', 'show', account)
        check('its password comes from a command, not a keyring',
              'cat ' in shown and os.environ['TERN_TEST_PASSWORD1'] not in shown, shown)
        identities = cli(tern_cli, data_dir, 'identity', 'list', account)
        check('the alias is an identity of the account', 'help@tern.test' in identities,
              identities)
        verified = subprocess.run([tern_cli, '--data-dir', data_dir, 'account', 'verify',
                                   account], capture_output=True, text=True, env=env,
                                  timeout=120)
        check('the account logs in to IMAP and SMTP with the pinned certificates',
              verified.returncode == 0, verified.stdout + verified.stderr)

        cli(tern_cli, data_dir, 'sync', account)
        inbox = json.loads(cli(tern_cli, data_dir, 'list', account + ':INBOX', '--limit', '500',
                               '--json'))
        check('tern-cli lists the demo INBOX: 40 generated and 7 written messages',
              len(inbox) == 47, '%d messages' % len(inbox))
        subjects = [m.get('subject', '') for m in inbox]
        check('the newest is the welcome message',
              subjects and subjects[0] == 'Welcome to your demo mailbox', subjects[:3])
        check('the encoded subject is decoded', 'Grüße aus München' in subjects, subjects[:8])
        check('the picnic thread has its three messages',
              sum(1 for s in subjects if s.endswith('Picnic on Saturday?')) == 3)
        archive = json.loads(cli(tern_cli, data_dir, 'list', account + ':Archive', '--limit',
                                 '500', '--json'))
        check('the Archive holds 200 older messages', len(archive) == 200,
              '%d messages' % len(archive))
        found = cli(tern_cli, data_dir, 'search', 'to:help@tern.test')
        check('mail to the alias is there', 'Cannot find the undo button' in found, found)
        found = cli(tern_cli, data_dir, 'search', 'has:attachment Marienplatz')
        check('the attachment with a non-ASCII name is there', 'München' in found, found)
    except (AssertionError, subprocess.TimeoutExpired, ValueError) as e:
        check('no command failed', False, str(e))
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return report()


def report():
    print('1..%d' % len(results))
    failed = 0
    for number, (name, ok, detail) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', number, name))
        if not ok:
            failed += 1
            for line in str(detail).splitlines()[:20]:
                print('# ' + line)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
