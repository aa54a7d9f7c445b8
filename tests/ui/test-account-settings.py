#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""An account's settings in the app, and the sending server's certificate.

Runs under tests/servers/tern-test-servers (a real Dovecot and Postfix),
with the helpers, session and runner of test-main-window.py and
test-account-tools.py:

- "Account Settings…" in the account's menu opens the settings; a new
  account name, a signature typed there and an added address are saved in
  the account's file (tern-cli reads the name and the address back), the sidebar shows the new name, and the
  account still gets its mail (its sync started again with the settings);
- a port out of range is refused with a message that says so, and the
  account's file stays as it was;
- a change tern-cli made while the window was open is not overwritten:
  Save says so, the file keeps tern-cli's change, and the window opened
  again shows it;
- an account tern-cli renames while Tern runs is renamed in the sidebar,
  and still gets its mail;
- a new receiving password typed there goes to the keyring (the old one
  no longer logs in with tern-cli), never into the account's file;
- a message that could not be sent through a wrong sending port goes at
  once when the right port is saved, not at its next attempt;
- mail queued for a submission server whose certificate the system does
  not know brings up the certificate dialog with the server's SHA-256
  fingerprint; Trust pins it and the message is sent and arrives.
"""

import importlib.util
import os
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


T = _load('tern_ui', 'test-main-window.py')
C = _load('tern_ui_composer', 'test-composer.py')
M = _load('tern_ui_mail', 'test-getting-mail.py')
A = _load('tern_ui_tools', 'test-account-tools.py')
# The helpers of test-account-tools.py use the AT-SPI modules the runner
# here imports.
A.T = T

# The tests here replace the others.
T.TESTS.clear()
ui_test = T.ui_test
check = T.check
wait_for = T.wait_for
find = T.find
find_all = T.find_all
SYNC_TIMEOUT = 60
TRUST_FILE = 'trusted-certificates.ini'
ALIAS = 'support@tern.test'


def open_settings(context, tern, account, name=A.ACCOUNT_NAME):
    # The sidebar makes its rows again when folders come: a menu opened
    # just then goes with its row, and is opened again.
    for attempt in range(3):
        A.open_account_menu(tern, account, name)
        try:
            item = find(tern.window, lambda a: (T.has_role(a, T.pyatspi.ROLE_MENU_ITEM)
                                                and (a.name or '').startswith('Account Settings')),
                        'the “Account Settings…” item of the account’s menu')
            break
        except TimeoutError:
            if attempt == 2:
                raise
    T.click(item, 'the “Account Settings…” item')
    title = f'Settings of {name}'
    window = wait_for(lambda: next((w for w in tern.windows() if w.name == title), None),
                      f'the window “{title}”')
    # The window is in the tree before it is drawn.
    time.sleep(1)
    return window


def account_file(data_dir):
    files = T.accounts_in(data_dir)
    check(len(files) == 1, f'{len(files)} account files, not one')
    with open(files[0], encoding='utf-8') as f:
        return f.read()


def show_page(window, title):
    """Shows the page called title through the window's view switcher,
    clicked with the mouse where its label is drawn."""
    label = find(window, lambda a: (T.has_role(a, T.pyatspi.ROLE_LABEL) and a.name == title
                                    and T.shown_in(a, window)),
                 f'the “{title}” page of the view switcher')
    x, y = A.centre(label)
    T.pyatspi.Registry.generateMouseEvent(x, y, 'b1c')
    time.sleep(0.5)


@ui_test('/ui/settings/name-and-signature-are-saved')
def test_name_and_signature(context):
    env = M.server_env()
    tern, data_dir, account = A.start_with_account(context, 'settings', ['Before the change'],
                                                   user=1)
    A.wait_for_subjects(tern, ['Before the change'])
    window = open_settings(context, tern, account)
    context.screenshot('settings-account')

    T.fill(window, 'Account Name', 'Work Mail')
    signature = find(window, lambda a: (T.has_role(a, T.pyatspi.ROLE_TEXT)
                                        and a.name == 'Signature'),
                     'the signature of the main address')
    x, y = A.centre(signature)
    T.pyatspi.Registry.generateMouseEvent(x, y, 'b1c')
    time.sleep(0.3)
    C.type_text(context, 'Alice at work\nTern Tests')
    wait_for(lambda: 'Tern Tests' in C.text_of(signature), 'the signature to take the text')

    # An alias, added below the main address.
    T.click(T.button_in(window, 'Add Address'), 'the “Add Address” button')
    fields = wait_for(lambda: [a for a in find_all(window, lambda a: (
                                   T.has_role(a, T.pyatspi.ROLE_TEXT) and a.name == 'Address'))
                               ] if len(find_all(window, lambda a: (
                                   T.has_role(a, T.pyatspi.ROLE_TEXT)
                                   and a.name == 'Address'))) == 2 else None,
                      'the fields of a second address')
    check(fields[-1].queryEditableText().setTextContents(ALIAS),
          'the new address did not take the text')
    time.sleep(0.5)
    context.screenshot('settings-alias')

    show_page(window, 'Servers')
    context.screenshot('settings-servers')
    T.click(T.button_in(window, 'Save'), 'the “Save” button')

    T.wait_for_label(tern.window, lambda n: n == 'Saved the settings of Work Mail',
                     'the toast that says the settings are saved', timeout=SYNC_TIMEOUT)
    wait_for(lambda: not any(w.name == f'Settings of {A.ACCOUNT_NAME}' for w in tern.windows()),
             'the settings window to close')
    text = account_file(data_dir)
    check('Name=Work Mail' in text, f'the account’s file does not hold the new name:\n{text}')
    check('Alice at work\\nTern Tests' in text,
          f'the account’s file does not hold the signature:\n{text}')
    shown = C.cli(context, data_dir, 'account', 'show', account)
    check('Work Mail' in shown, f'tern-cli does not read the new name: {shown}')
    check(ALIAS in shown, f'tern-cli does not list the new address: {shown}')

    # The sidebar calls the account by its new name, and its mail still
    # comes with the sync started again.
    sidebar = T.pane(tern, 'Accounts and Folders')
    find(sidebar, lambda a: T.has_role(a, T.pyatspi.ROLE_LABEL) and a.name == 'Work Mail',
         'the account’s new name in the sidebar')
    find(tern.window, lambda a: a.name == 'Menu of Work Mail', 'the menu of “Work Mail”')
    context.screenshot('settings-saved')
    M.deliver(env, env['TERN_TEST_USER1'], 'someone@tern.test', 'After the change',
              'Still coming.')
    A.wait_for_subjects(tern, ['After the change'])
    tern.check_running()


@ui_test('/ui/settings/a-bad-port-is-refused')
def test_bad_port(context):
    tern, data_dir, account = A.start_with_account(context, 'badport', ['Port check'], user=2)
    A.wait_for_subjects(tern, ['Port check'])
    before = account_file(data_dir)
    window = open_settings(context, tern, account)
    T.fill(window, 'Account Name', 'Should Not Be Saved')
    show_page(window, 'Servers')
    T.fill(window, 'Receiving Port', '70000')
    T.click(T.button_in(window, 'Save'), 'the “Save” button')
    T.wait_for_label(window,
                     lambda n: n == 'The receiving port must be a number from 1 to 65535',
                     'the message that the port is out of range')
    context.screenshot('settings-bad-port')
    time.sleep(1)
    check(account_file(data_dir) == before, 'the account’s file changed though Save refused')
    check(any(w.name == f'Settings of {A.ACCOUNT_NAME}' for w in tern.windows()),
          'the settings window closed though its settings are wrong')

    # An empty server name is refused too.
    T.fill(window, 'Receiving Port', '143')
    T.fill(window, 'Sending Server Name', '')
    T.click(T.button_in(window, 'Save'), 'the “Save” button')
    T.wait_for_label(window, lambda n: n.startswith('The sending server must be a server name'),
                     'the message that the sending server has no name')
    check(account_file(data_dir) == before, 'the account’s file changed though Save refused')
    T.click(T.button_in(window, 'Cancel'), 'the “Cancel” button')
    wait_for(lambda: not any(w.name == f'Settings of {A.ACCOUNT_NAME}' for w in tern.windows()),
             'the settings window to close')
    check(account_file(data_dir) == before, 'Cancel changed the account’s file')
    tern.check_running()


@ui_test('/ui/settings/a-change-made-elsewhere-is-not-overwritten')
def test_changed_elsewhere(context):
    tern, data_dir, account = A.start_with_account(context, 'elsewhere', ['Elsewhere check'],
                                                   user=2)
    A.wait_for_subjects(tern, ['Elsewhere check'])
    window = open_settings(context, tern, account)
    T.fill(window, 'Account Name', 'Typed in the Window')
    # While the window is open, tern-cli renames the account.
    C.cli(context, data_dir, 'account', 'edit', account, '--name', 'Renamed by tern-cli')
    changed = account_file(data_dir)
    T.click(T.button_in(window, 'Save'), 'the “Save” button')
    heading = 'Settings Changed Elsewhere'
    dialog = wait_for(lambda: next((w for w in T.children(tern.app)
                                    if find_all(w, lambda a: a.name == heading)), None),
                      'the dialog that says the settings changed elsewhere')
    context.screenshot('settings-changed-elsewhere')
    check(account_file(data_dir) == changed, 'the window overwrote the change made elsewhere')
    T.click(T.button_in(dialog, 'Close Window'), 'the “Close Window” button')
    wait_for(lambda: not any(w.name == f'Settings of {A.ACCOUNT_NAME}' for w in tern.windows()),
             'the settings window to close')
    # Opened again, it shows the settings as tern-cli left them (and the
    # sidebar calls the account so too).
    window = open_settings(context, tern, account, name='Renamed by tern-cli')
    name = find(window, lambda a: (T.has_role(a, T.pyatspi.ROLE_TEXT)
                                   and a.name == 'Account Name'), 'the account name field')
    check(C.text_of(name) == 'Renamed by tern-cli', f'the window shows “{C.text_of(name)}”')
    check(account_file(data_dir) == changed, 'the window overwrote the change made elsewhere')
    tern.check_running()


@ui_test('/ui/settings/a-change-made-elsewhere-is-followed')
def test_followed(context):
    env = M.server_env()
    tern, data_dir, account = A.start_with_account(context, 'followed', ['Before renaming'],
                                                   user=1)
    A.wait_for_subjects(tern, ['Before renaming'])
    # tern-cli renames the account while Tern runs: the sidebar follows,
    # and the account still gets its mail.
    C.cli(context, data_dir, 'account', 'edit', account, '--name', 'Renamed Outside')
    sidebar = T.pane(tern, 'Accounts and Folders')
    find(sidebar, lambda a: T.has_role(a, T.pyatspi.ROLE_LABEL) and a.name == 'Renamed Outside',
         'the name tern-cli gave the account, in the sidebar', timeout=SYNC_TIMEOUT)
    find(tern.window, lambda a: a.name == 'Menu of Renamed Outside',
         'the menu of “Renamed Outside”')
    context.screenshot('settings-followed')
    M.deliver(env, env['TERN_TEST_USER1'], 'someone@tern.test', 'After renaming',
              'Still coming.')
    A.wait_for_subjects(tern, ['After renaming'])
    tern.check_running()


@ui_test('/ui/settings/trusting-the-sending-server-sends')
def test_sending_certificate(context):
    env = M.server_env()
    data_dir = C.new_profile(context, 'smtptrust')
    # The receiving server is trusted by tern-cli; the submission server
    # is not: its certificate is the test CA's, which the system does not
    # know.
    account = M.add_imap_account(context, data_dir, env['TERN_TEST_USER3'],
                                 env['TERN_TEST_PASSWORD3'])
    to = env['TERN_TEST_USER2']
    before = A.imap_count('INBOX', 2)
    C.cli(context, data_dir, 'send', '--account', account, '--to', to,
          '--subject', 'Through a trusted server', '--queue-only', stdin='Hello.\n')
    tern = context.start_tern(data_dir=data_dir, extra_env={'G_MESSAGES_DEBUG': 'tern'})

    def dialog():
        for window in T.children(tern.app):
            labels = T.shown_labels(window)
            if 'Unverified Certificate' in labels:
                return window, labels
        return None
    window, labels = wait_for(dialog, 'the certificate dialog for the sending server',
                              timeout=SYNC_TIMEOUT)
    fingerprint = T.server_fingerprint(env['TERN_TEST_SMTPS_PORT'])
    check(fingerprint in ' '.join(labels).replace('\n', ':'),
          f'the dialog does not show the server’s SHA-256 fingerprint {fingerprint}: {labels}')
    check(any(env['TERN_TEST_SUBMISSION_PORT'] in name for name in labels),
          f'the dialog does not name the submission port: {labels}')
    check(len(C.outbox(context, data_dir)) == 1, 'the message left the outbox before trusting')
    time.sleep(0.5)
    context.screenshot('settings-smtp-certificate')
    T.click(T.button_in(window, 'Trust'), 'the “Trust” button')

    wait_for(lambda: len(C.outbox(context, data_dir)) == 0,
             'the message to leave the outbox once the certificate is trusted',
             timeout=SYNC_TIMEOUT)
    wait_for(lambda: A.imap_count('INBOX', 2) == before + 1,
             'the message to arrive through the submission server', timeout=SYNC_TIMEOUT)
    with open(os.path.join(data_dir, 'config', TRUST_FILE), encoding='utf-8') as f:
        trusted = f.read()
    check(env['TERN_TEST_SUBMISSION_PORT'] in trusted and fingerprint in trusted.upper(),
          f'the submission server’s certificate is not pinned: {trusted}')
    tern.check_running()


@ui_test('/ui/settings/a-new-sending-port-sends-what-waits')
def test_new_sending_port(context):
    env = M.server_env()
    host = env['TERN_TEST_HOST']
    data_dir = C.new_profile(context, 'smtpport')
    secret = os.path.join(data_dir, 'imap.password')
    with open(secret, 'w') as f:
        f.write(env['TERN_TEST_PASSWORD3'])
    os.chmod(secret, 0o600)
    # A port nothing listens on: the account's first setting is wrong.
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        closed = probe.getsockname()[1]
    C.cli(context, data_dir, 'account', 'add', '--email', env['TERN_TEST_USER3'],
          '--name', A.ACCOUNT_NAME, '--imap', f'{host}:{env["TERN_TEST_IMAP_PORT"]}',
          '--smtp', f'{host}:{closed}', '--security', 'starttls',
          '--password-command', f"cat '{secret}'", '--yes')
    for port, protocol in ((env['TERN_TEST_IMAP_PORT'], 'imap'),
                           (env['TERN_TEST_SUBMISSION_PORT'], 'smtp')):
        C.cli(context, data_dir, 'trust', f'{host}:{port}', '--starttls', protocol, '--yes')
    account = C.tern_account_of(context, data_dir)
    to = env['TERN_TEST_USER2']
    before = A.imap_count('INBOX', 2)
    C.cli(context, data_dir, 'send', '--account', account, '--to', to,
          '--subject', 'Through the right port', '--queue-only', stdin='Hello.\n')
    tern = context.start_tern(data_dir=data_dir)

    # The first attempt finds nobody there; the message waits for another.
    item = wait_for(lambda: next((i for i in C.outbox(context, data_dir) if i['attempts'] >= 1),
                                 None),
                    'a first attempt to send', timeout=SYNC_TIMEOUT)
    due = item['next_attempt']
    check(due > time.time(), f'the next attempt is not later: {item}')

    # The right port, saved, takes the message at once, not at its next
    # attempt: the live sender goes by the new settings.
    window = open_settings(context, tern, account)
    show_page(window, 'Servers')
    T.fill(window, 'Sending Port', env['TERN_TEST_SUBMISSION_PORT'])
    context.screenshot('settings-sending-port')
    T.click(T.button_in(window, 'Save'), 'the “Save” button')
    T.wait_for_label(tern.window, lambda n: n == f'Saved the settings of {A.ACCOUNT_NAME}',
                     'the toast that says the settings are saved', timeout=SYNC_TIMEOUT)
    wait_for(lambda: A.imap_count('INBOX', 2) == before + 1,
             'the message to arrive through the port now set', timeout=SYNC_TIMEOUT)
    check(time.time() < due,
          'the message went only at its next attempt, not when the settings changed')
    wait_for(lambda: len(C.outbox(context, data_dir)) == 0, 'the message to leave the outbox')
    tern.check_running()


@ui_test('/ui/settings/a-new-password-goes-to-the-keyring')
def test_new_password(context):
    T.servers_or_skip()
    T.start_keyring(context)
    try:
        env = M.server_env()
        host = env['TERN_TEST_HOST']
        user = env['TERN_TEST_USER4']
        data_dir = C.new_profile(context, 'password')

        def tern_cli(*args, stdin=None):
            # On the session's bus, where the keyring is.
            return subprocess.run([context.args.tern_cli, '--data-dir', data_dir] + list(args),
                                  input=stdin, env=context.session.env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=60)

        result = tern_cli('account', 'add', '--email', user, '--name', A.ACCOUNT_NAME,
                          '--imap', f'{host}:{env["TERN_TEST_IMAP_PORT"]}',
                          '--smtp', f'{host}:{env["TERN_TEST_SUBMISSION_PORT"]}',
                          '--security', 'starttls', '--password-stdin', '--yes',
                          stdin=env['TERN_TEST_PASSWORD4'] + '\n')
        check(result.returncode == 0, f'tern-cli account add failed: {result.stdout}')
        for port, protocol in ((env['TERN_TEST_IMAP_PORT'], 'imap'),
                               (env['TERN_TEST_SUBMISSION_PORT'], 'smtp')):
            C.cli(context, data_dir, 'trust', f'{host}:{port}', '--starttls', protocol, '--yes')
        account = C.tern_account_of(context, data_dir)
        result = tern_cli('account', 'verify', account)
        check(result.returncode == 0, f'the password in the keyring does not log in: {result.stdout}')

        M.deliver(env, user, 'someone@tern.test', 'Password check', 'Before the change.')
        tern = context.start_tern(data_dir=data_dir)
        A.wait_for_subjects(tern, ['Password check'])
        window = open_settings(context, tern, account)
        show_page(window, 'Servers')
        T.fill(window, 'New Receiving Password', 'not-the-password')
        context.screenshot('settings-new-password')
        T.click(T.button_in(window, 'Save'), 'the “Save” button')
        T.wait_for_label(tern.window,
                         lambda n: n == f'Saved the settings of {A.ACCOUNT_NAME}',
                         'the toast that says the settings are saved', timeout=SYNC_TIMEOUT)
        text = account_file(data_dir)
        check('not-the-password' not in text, 'the new password is in the account’s file')
        # The keyring holds the new password now: it no longer logs in.
        result = tern_cli('account', 'verify', account)
        T.diagnose(f'verify after the change: {result.stdout.strip()}')
        check(result.returncode != 0 and 'receiving server' in result.stdout
              and 'login was refused' in result.stdout,
              f'the old password still logs in: the new one did not reach the keyring: '
              f'{result.stdout}')
        tern.check_running()
    finally:
        T.stop_keyring(context)


if __name__ == '__main__':
    sys.exit(T.main())
