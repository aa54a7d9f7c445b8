#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tern's composer, used through the accessibility tree as a person would.

Runs under tests/servers/tern-test-servers (a real Postfix submission and
Dovecot): an account set up with tern-cli sends through Postfix, and the
message is fetched back from Dovecot over POP3 to check what arrived. The
helpers, the session and the runner are those of test-main-window.py.
"""

import importlib.util
import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

_spec = importlib.util.spec_from_file_location('tern_ui', os.path.join(HERE, 'test-main-window.py'))
T = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(T)

# The tests here replace the main window's.
T.TESTS.clear()
ui_test = T.ui_test
check = T.check
wait_for = T.wait_for
find = T.find
find_all = T.find_all


def has_role(acc, *roles):
    return T.has_role(acc, *roles)


def server_env():
    """The harness's variables, or Skip when the servers are not running."""
    if 'TERN_TEST_SUBMISSION_PORT' not in os.environ:
        raise T.Skip('no test mail servers (run under tern-test-servers)')
    return os.environ


def cli(context, data_dir, *args, stdin=None):
    result = subprocess.run([context.args.tern_cli, '--data-dir', data_dir] + list(args),
                            input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=60)
    check(result.returncode == 0,
          f'tern-cli {" ".join(args)} failed ({result.returncode}): {result.stdout}')
    return result.stdout


def new_profile(context, name):
    if not context.args.tern_cli:
        raise T.Skip('no tern-cli was given (--tern-cli)')
    data_dir = os.path.join(context.session.root, 'profiles', name)
    os.makedirs(data_dir, exist_ok=True)
    return data_dir


def add_account(context, data_dir, user, password, alias=None, signature=None,
                alias_format=None):
    """A POP3 account on the harness's servers, its password from a command,
    the submission server's certificate trusted as a person trusts it."""
    env = server_env()
    host = env['TERN_TEST_HOST']
    secret = os.path.join(data_dir, user + '.password')
    with open(secret, 'w') as f:
        f.write(password)
    os.chmod(secret, 0o600)
    cli(context, data_dir, 'account', 'add', '--email', user, '--name', 'Alice Tester',
        '--pop3', f'{host}:{env["TERN_TEST_POP3_PORT"]}',
        '--smtp', f'{host}:{env["TERN_TEST_SUBMISSION_PORT"]}',
        '--security', 'starttls', '--password-command', f"cat '{secret}'", '--yes')
    account = tern_account_of(context, data_dir)
    if alias:
        cli(context, data_dir, 'identity', 'add', account, '--email', alias,
            '--name', 'Alice Sales', *(['--signature', signature] if signature else []),
            *(['--compose-format', alias_format] if alias_format else []))
    cli(context, data_dir, 'trust', f'{host}:{env["TERN_TEST_SUBMISSION_PORT"]}',
        '--starttls', 'smtp', '--yes')
    return account


def outbox(context, data_dir):
    return json.loads(cli(context, data_dir, 'outbox', '--json'))


KEYSYMS = {'@': ('Shift_L', 'at'), '.': ('period',), '-': ('minus',), ' ': ('space',),
           ',': ('comma',), '\n': ('Return',), '!': ('Shift_L', 'exclam'), '/': ('slash',),
           '_': ('Shift_L', 'underscore')}


def type_text(context, text):
    """Types text on the keyboard, a key at a time."""
    for char in text:
        if char in KEYSYMS:
            context.press(*KEYSYMS[char])
        elif char.isupper():
            context.press('Shift_L', char)
        else:
            context.press(char)


def composer_window(tern, title='New Message'):
    def search():
        for window in tern.windows():
            if window.name == title and has_role(window, T.pyatspi.ROLE_FRAME):
                return window
        return None
    try:
        return wait_for(search, f'the composer “{title}” to open')
    except Exception:
        T.diagnose('windows: ' + ', '.join(T.describe(w) for w in T.children(tern.app)))
        raise


def wait_for_focus_in(context, tern, window, pid_title):
    xwindow = wait_for(lambda: context.display.find_window(tern.process.pid, pid_title),
                       f'the window “{pid_title}” on the X display')
    wait_for(lambda: (context.display.input_focus() == xwindow
                      and window.getState().contains(T.pyatspi.STATE_ACTIVE)),
             f'the window “{pid_title}” to have the keyboard focus')


def named(root, role, name, what):
    return find(root, lambda a: has_role(a, role) and a.name == name, what)


def text_of(acc):
    text = acc.queryText()
    return text.getText(0, text.characterCount)


def enabled(acc):
    return acc.getState().contains(T.pyatspi.STATE_SENSITIVE)


def new_message_to(context, tern, to, subject):
    """Opens a new message with Ctrl+N and types its recipient and
    subject; returns the composer."""
    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'n')
    window = composer_window(tern)
    wait_for_focus_in(context, tern, window, 'New Message')
    type_text(context, to)
    context.press('Alt_L', 'u')
    type_text(context, subject)
    return window


@ui_test('/ui/composer/without-an-account-says-so-and-cannot-send')
def test_no_account(context):
    tern = context.start_tern()
    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'n')
    window = composer_window(tern)
    note = find(window, lambda a: (has_role(a, T.pyatspi.ROLE_LABEL)
                                   and (a.name or '').startswith('No account is set up')),
                'the note that no account is set up')
    wait_for(lambda: T.is_on_screen(note, window), 'the note to show')
    send = find(window, lambda a: (has_role(a, T.pyatspi.ROLE_PUSH_BUTTON)
                                   and 'Send' in (a.name or '')),
                'the “Send” button')
    check(not enabled(send), 'Send can be clicked without an account')
    context.screenshot('composer-no-account')


@ui_test('/ui/composer/mailto-fills-it-and-never-attaches-by-itself')
def test_mailto(context):
    data_dir = new_profile(context, 'mailto')
    secret = os.path.join(data_dir, 'secret.txt')
    with open(secret, 'w') as f:
        f.write('do not send me\n')
    uri = ('mailto:ann@example.org?cc=carl%40example.org&subject=Tickets%20for%20Friday'
           f'&body=Two%20seats%2C%20please.&attach={secret}')
    tern = context.start_tern(data_dir=data_dir, args=[uri])
    window = composer_window(tern, 'Tickets for Friday')
    to = named(window, T.pyatspi.ROLE_TEXT, 'To', 'the “To” field')
    check(text_of(to) == 'ann@example.org', f'To says “{text_of(to)}”')
    cc = named(window, T.pyatspi.ROLE_TEXT, 'Cc', 'the “Cc” field')
    wait_for(lambda: T.is_on_screen(cc, window), 'the “Cc” field to show')
    check(text_of(cc) == 'carl@example.org', f'Cc says “{text_of(cc)}”')
    subject = named(window, T.pyatspi.ROLE_TEXT, 'Subject', 'the “Subject” field')
    check(text_of(subject) == 'Tickets for Friday', f'Subject says “{text_of(subject)}”')
    body = find(window, lambda a: a.name == 'Message Text', 'the message text')
    check(text_of(body).startswith('Two seats, please.'), f'the text is “{text_of(body)}”')
    note = find(window, lambda a: (has_role(a, T.pyatspi.ROLE_LABEL)
                                   and secret in (a.name or '')
                                   and 'Nothing was attached' in (a.name or '')),
                'the note that names the file the link asked for')
    wait_for(lambda: T.is_on_screen(note, window), 'the note on the file to show')
    attachments = find(window, lambda a: a.name == 'Attachments', 'the attachment list')
    check(not any('secret.txt' in (a.name or '') for a in T.descendants(attachments)),
          'the file the link named was attached')
    check(not attachments.getState().contains(T.pyatspi.STATE_SHOWING),
          'the attachment list shows')
    context.screenshot('composer-mailto')


def sample_message(alias):
    date = time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(time.time() - 3600))
    return f"""From bob@tern.test Mon Nov 23 01:00:00 2026
Delivered-To: {alias}
From: Bob Stone <bob@tern.test>
To: {alias}
Subject: Price list
Date: {date}
Message-ID: <price-list-1@tern.test>
Content-Type: text/plain; charset=utf-8

Could you send me this year's price list?
"""


def pop3_fetch(context, env, user, password, name):
    """Downloads user's new mail into a profile of its own; returns it."""
    data_dir = new_profile(context, name)
    secret = os.path.join(data_dir, 'pw')
    with open(secret, 'w') as f:
        f.write(password)
    host = env['TERN_TEST_HOST']
    cli(context, data_dir, 'account', 'add', '--email', user, '--name', 'Bob',
        '--pop3', f'{host}:{env["TERN_TEST_POP3_PORT"]}',
        '--smtp', f'{host}:{env["TERN_TEST_SUBMISSION_PORT"]}',
        '--security', 'starttls', '--password-command', f"cat '{secret}'", '--yes')
    return data_dir, tern_account_of(context, data_dir)


@ui_test('/ui/composer/reply-from-the-alias-arrives-with-its-from')
def test_reply_alias(context):
    env = server_env()
    alice, alice_pw = env['TERN_TEST_USER1'], env['TERN_TEST_PASSWORD1']
    bob, bob_pw = env['TERN_TEST_USER2'], env['TERN_TEST_PASSWORD2']
    alias = 'alice.sales@' + env['TERN_TEST_DOMAIN']
    data_dir = new_profile(context, 'reply')
    add_account(context, data_dir, alice, alice_pw, alias=alias, signature='Alice, Sales')
    mbox = os.path.join(context.session.root, 'reply.mbox')
    with open(mbox, 'w') as f:
        f.write(sample_message(alias).replace('bob@tern.test', bob))
    cli(context, data_dir, 'import', '--mbox', mbox, '--folder', T.FOLDER)

    tern = context.start_tern(data_dir=data_dir)
    T.open_folder(tern)
    T.open_message(tern, 'Price list')
    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'r')
    window = composer_window(tern, 'Re: Price list')
    # The From list shows the identity chosen.
    find(window, lambda a: (has_role(a, T.pyatspi.ROLE_LABEL)
                            and a.name == f'Alice Sales <{alias}>'),
         f'the reply to be from {alias}')
    to = named(window, T.pyatspi.ROLE_TEXT, 'To', 'the “To” field')
    check(bob in text_of(to), f'the reply goes to “{text_of(to)}”')
    body = find(window, lambda a: a.name == 'Message Text', 'the message text')
    text = text_of(body)
    check('> Could you send me this year' in text, f'the text does not quote: “{text}”')
    check(text.endswith('-- \nAlice, Sales'), f'the alias’s signature is not at the end: “{text}”')
    context.screenshot('composer-reply')

    wait_for_focus_in(context, tern, window, 'Re: Price list')
    type_text(context, 'Here it is.')
    context.press('Control_L', 'Return')
    toast = find(tern.window, lambda a: has_role(a, T.pyatspi.ROLE_LABEL) and a.name == 'Sending…',
                 'the “Sending…” toast')
    check(toast is not None, 'no toast')
    context.screenshot('composer-sending-toast')
    wait_for(lambda: outbox(context, data_dir) == [], 'the outbox to be sent', timeout=60)
    sent = cli(context, data_dir, 'list', f'{tern_account_of(context, data_dir)}:Sent')
    check('Re: Price list' in sent, f'the reply is not in Sent: {sent}')

    bob_dir, bob_account = pop3_fetch(context, env, bob, bob_pw, 'reply-bob')
    ca = ['--ca-file', env['TERN_TEST_CA_FILE']]

    def fetched():
        cli(context, bob_dir, 'fetch', bob_account, *ca)
        listing = json.loads(cli(context, bob_dir, 'list', '--json', f'{bob_account}:INBOX'))
        return next((m['id'] for m in listing if m['subject'] == 'Re: Price list'), None)
    message_id = wait_for(fetched, 'the reply to reach Bob’s Inbox', timeout=60)
    message = cli(context, bob_dir, 'show', '--raw', str(message_id))
    check(f'From: Alice Sales <{alias}>' in message, f'the reply arrived from: {message[:800]}')
    check('In-Reply-To: <price-list-1@tern.test>' in message, 'In-Reply-To is missing')
    check('Here it is.' in message, 'the text typed is missing')


@ui_test('/ui/composer/a-delivery-receipt-comes-back')
def test_delivery_receipt(context):
    env = server_env()
    alice, alice_pw = env['TERN_TEST_USER1'], env['TERN_TEST_PASSWORD1']
    data_dir = new_profile(context, 'receipt')
    add_account(context, data_dir, alice, alice_pw)
    tern = context.start_tern(data_dir=data_dir)
    subject = f'Tell me it arrived {os.getpid()}'
    window = new_message_to(context, tern, env['TERN_TEST_USER2'], subject)

    # The option is in the composer's menu, off until asked for.
    menu = find(window, lambda a: a.name == 'More Options', 'the “More Options” button')
    # GTK puts the clickable toggle button inside the menu button.
    button = menu if T.action_index(menu, 'click') is not None else next(
        a for a in T.descendants(menu) if T.action_index(a, 'click') is not None)

    def open_item():
        T.click(button, 'the “More Options” button')
        return find(tern.app, lambda a: ('Delivery Receipt' in (a.name or '')
                                         and T.shown_in(a, window)),
                    'the “Ask for a Delivery Receipt” item')
    item = open_item()
    check(not item.getState().contains(T.pyatspi.STATE_CHECKED),
          'a delivery receipt is asked for before the user asks')
    context.screenshot('composer-delivery-receipt')
    T.click(item, 'the “Ask for a Delivery Receipt” item')
    # The menu says so when opened again.
    time.sleep(0.5)
    item = open_item()
    wait_for(lambda: item.getState().contains(T.pyatspi.STATE_CHECKED),
             'the item to be checked')
    context.press('Escape')
    wait_for_focus_in(context, tern, window, subject)
    # Clicked, not Control+Return: a key pressed as the menu closes may go
    # to the menu.  The outbox is empty before the message is queued too,
    # so the "Sending…" toast comes first.
    send = find(window, lambda a: (has_role(a, T.pyatspi.ROLE_PUSH_BUTTON)
                                   and 'Send' in (a.name or '')),
                'the “Send” button')
    T.click(send, 'the “Send” button')
    find(tern.window, lambda a: has_role(a, T.pyatspi.ROLE_LABEL) and a.name == 'Sending…',
         'the “Sending…” toast')
    wait_for(lambda: outbox(context, data_dir) == [], 'the outbox to be sent', timeout=60)

    # The sending server reports the delivery back to Alice.
    alice_dir, alice_account = pop3_fetch(context, env, alice, alice_pw, 'receipt-alice')
    ca = ['--ca-file', env['TERN_TEST_CA_FILE']]

    def report():
        cli(context, alice_dir, 'fetch', alice_account, *ca)
        listing = json.loads(cli(context, alice_dir, 'list', '--json', f'{alice_account}:INBOX'))
        for m in listing:
            if 'Delivery' in (m['subject'] or ''):
                raw = cli(context, alice_dir, 'show', '--raw', str(m['id']))
                if subject in raw and 'delivery-status' in raw:
                    return raw
        return None
    raw = wait_for(report, 'the delivery report to reach Alice', timeout=60)
    check('Action: delivered' in raw or 'Action: relayed' in raw,
          f'the report does not say the message was delivered: {raw[:1500]}')


def tern_account_of(context, data_dir):
    """The ID of the profile's only account, the first word of its line."""
    return cli(context, data_dir, 'account', 'list').strip().split('\n')[-1].split()[0]


@ui_test('/ui/composer/new-message-undo-keeps-it-in-drafts')
def test_undo(context):
    env = server_env()
    data_dir = new_profile(context, 'undo')
    add_account(context, data_dir, env['TERN_TEST_USER1'], env['TERN_TEST_PASSWORD1'])
    # A long undo window, so that a loaded machine still clicks in time:
    # the setting, in the profile's own settings file.
    os.makedirs(os.path.join(data_dir, 'config'), exist_ok=True)
    with open(os.path.join(data_dir, 'config', 'settings.ini'), 'w') as f:
        for group in ('io/github/ternmail/Tern', 'io/github/ternmail/Tern/Devel'):
            f.write(f'[{group}]\nsend-delay=60\n\n')
    tern = context.start_tern(data_dir=data_dir)
    window = new_message_to(context, tern, env['TERN_TEST_USER2'], 'Undo me')
    # A Bcc, which the message queued to be sent does not carry: Undo must
    # give it back.
    carol = env['TERN_TEST_USER3']
    context.press('Alt_L', 'b')
    bcc = named(window, T.pyatspi.ROLE_TEXT, 'Bcc', 'the “Bcc” field')
    wait_for(lambda: T.is_on_screen(bcc, window), 'the “Bcc” field to show')
    box = bcc.queryComponent().getExtents(T.pyatspi.DESKTOP_COORDS)
    T.pyatspi.Registry.generateMouseEvent(box.x + box.width // 2, box.y + box.height // 2, 'b1c')
    wait_for(lambda: bcc.getState().contains(T.pyatspi.STATE_FOCUSED),
             'the “Bcc” field to have the focus')
    type_text(context, carol)

    # A file attached through the file chooser, its path typed as a person
    # types one.
    blob = os.path.join(data_dir, 'figures.bin')
    with open(blob, 'wb') as f:
        f.write(os.urandom(30000))
    attach = named(window, T.pyatspi.ROLE_PUSH_BUTTON, 'Attach Files', 'the “Attach Files” button')
    T.click(attach, 'the “Attach Files” button')
    # GTK 4.8 gives its file chooser dialog no window role in AT-SPI, so it
    # is known by its title, and by the input focus on the display.
    wait_for(lambda: any(w.name == 'Attach Files' for w in T.children(tern.app)),
             'the file chooser')
    xchooser = wait_for(lambda: context.display.find_window(tern.process.pid, 'Attach Files'),
                        'the file chooser on the X display')
    wait_for(lambda: context.display.input_focus() == xchooser,
             'the file chooser to have the keyboard focus')
    context.press('Control_L', 'l')
    type_text(context, blob)
    context.press('Return')
    attachments = find(window, lambda a: a.name == 'Attachments', 'the attachment list')
    find(attachments, lambda a: a.name == 'figures.bin', 'the attachment “figures.bin”')
    find(window, lambda a: a.name == 'Remove “figures.bin”', 'a way to remove the attachment')
    context.screenshot('composer-new-message')
    context.press('Control_L', 'Return')
    toast = find(tern.window, lambda a: has_role(a, T.pyatspi.ROLE_LABEL) and a.name == 'Sending…',
                 'the “Sending…” toast')
    undo = find(tern.window, lambda a: (has_role(a, T.pyatspi.ROLE_PUSH_BUTTON)
                                        and 'Undo' in (a.name or '')),
                'the “Undo” button of the toast')
    queued = outbox(context, data_dir)
    check(len(queued) == 1 and queued[0]['subject'] == 'Undo me'
          and queued[0]['state'] == 'queued'
          and queued[0]['send_after'] >= queued[0]['created'] + 60
          and queued[0]['size'] > 30000 * 4 // 3,
          f'the outbox holds {queued}')
    context.screenshot('composer-sending-undo')
    T.click(undo, 'the “Undo” button')
    T.label_in(tern.window, 'Sending was cancelled; the message is in Drafts',
               'the toast that says the message is in Drafts')
    check(outbox(context, data_dir) == [], 'the message is still in the outbox')
    # The outbox gives a message it takes back to the account's Drafts.
    drafts_folder = f'{tern_account_of(context, data_dir)}:Drafts'
    drafts = cli(context, data_dir, 'list', drafts_folder)
    check('Undo me' in drafts, f'the message is not in Drafts: {drafts}')
    check(toast is not None, 'no toast')

    # ...and opens it again in a composer, as it was: Bcc and attachment
    # included.
    again = composer_window(tern, 'Undo me')
    bcc = named(again, T.pyatspi.ROLE_TEXT, 'Bcc', 'the “Bcc” field of the message taken back')
    wait_for(lambda: T.is_on_screen(bcc, again), 'the “Bcc” field to show')
    check(text_of(bcc) == carol, f'Bcc says “{text_of(bcc)}”, not “{carol}”')
    find(again, lambda a: a.name == 'figures.bin', 'the attachment of the message taken back')
    context.screenshot('composer-taken-back')

    # The copy in Drafts is written again, with its Bcc.
    def draft_with_bcc():
        listed = json.loads(cli(context, data_dir, 'list', '--json', drafts_folder))
        found = [m for m in listed if m.get('subject') == 'Undo me']
        if len(found) != 1:
            return None
        # The draft may be replaced between the two calls: then ask again.
        shown = subprocess.run([context.args.tern_cli, '--data-dir', data_dir, 'show', '--raw',
                                str(found[0]['id'])], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=60)
        if shown.returncode != 0:
            return None
        headers = shown.stdout.replace('\r', '').split('\n\n', 1)[0]
        return 'Bcc:' in headers and carol in headers
    wait_for(draft_with_bcc, 'the draft to be saved again with its Bcc', timeout=30)


def plain_text_on(window):
    # GTK 4.8 names the button from its label twice, once with the
    # mnemonic's underscore: "_Plain Text Plain Text".
    button = find(window, lambda a: ((a.name or '').startswith('_Plain Text')
                                     and has_role(a, T.pyatspi.ROLE_TOGGLE_BUTTON,
                                                  T.pyatspi.ROLE_PUSH_BUTTON)),
                  'the “Plain Text” button')
    states = button.getState()
    return states.contains(T.pyatspi.STATE_PRESSED) or states.contains(T.pyatspi.STATE_CHECKED)


def choose_from(context, window, label, key):
    """Chooses the identity shown as label in the From list with the
    keyboard, as a person does: its mnemonic, Space to open the list, the
    arrow key to the next (Down) or previous (Up) identity, Return."""
    context.press('Alt_L', 'f')
    context.press('space')
    time.sleep(0.5)
    context.press(key)
    context.press('Return')
    wait_for(lambda: any(has_role(a, T.pyatspi.ROLE_LABEL) and a.name == label
                         and T.is_on_screen(a, window)
                         for a in T.find_all(window, lambda b: True)),
             f'the From list to show “{label}”')


@ui_test('/ui/composer/identity-starts-plain-text-until-written-in')
def test_plain_identity(context):
    env = server_env()
    alice, alice_pw = env['TERN_TEST_USER1'], env['TERN_TEST_PASSWORD1']
    alias = 'alice.sales@' + env['TERN_TEST_DOMAIN']
    data_dir = new_profile(context, 'plain')
    add_account(context, data_dir, alice, alice_pw, alias=alias, signature='Alice, Sales',
                alias_format='plain')
    tern = context.start_tern(data_dir=data_dir)
    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'n')
    window = composer_window(tern)
    wait_for_focus_in(context, tern, window, 'New Message')
    # The default identity writes rich text.
    check(not plain_text_on(window), 'a message from the default identity starts in plain text')

    # The alias writes plain text: chosen before anything is written, the
    # composer changes to it.
    choose_from(context, window, f'Alice Sales <{alias}>', 'Down')
    wait_for(lambda: plain_text_on(window), 'the composer to change to plain text')
    body = find(window, lambda a: a.name == 'Message Text', 'the message text')
    check(text_of(body).endswith('-- \nAlice, Sales'), f'the text is “{text_of(body)}”')
    context.screenshot('composer-plain-identity')

    # Once written in, the text keeps its format whatever identity sends it.
    box = body.queryComponent().getExtents(T.pyatspi.DESKTOP_COORDS)
    T.pyatspi.Registry.generateMouseEvent(box.x + 40, box.y + 12, 'b1c')
    wait_for(lambda: body.getState().contains(T.pyatspi.STATE_FOCUSED),
             'the message text to have the focus')
    type_text(context, 'Hello')
    wait_for(lambda: 'Hello' in text_of(body), 'the typed text')
    choose_from(context, window, f'Alice Tester <{alice}>', 'Up')
    time.sleep(1)
    check(plain_text_on(window), 'the written text changed format with the identity')
    check('Hello' in text_of(body), f'the text is “{text_of(body)}”')


@ui_test('/ui/composer/drafts-are-saved-and-discard-asks')
def test_drafts(context):
    env = server_env()
    data_dir = new_profile(context, 'drafts')
    add_account(context, data_dir, env['TERN_TEST_USER1'], env['TERN_TEST_PASSWORD1'])
    # Bob's address is one the store has collected from a message.
    mbox = os.path.join(context.session.root, 'drafts.mbox')
    with open(mbox, 'w') as f:
        f.write(sample_message(env['TERN_TEST_USER1']).replace('bob@tern.test',
                                                               env['TERN_TEST_USER2']))
    cli(context, data_dir, 'import', '--mbox', mbox, '--folder', T.FOLDER)
    account = tern_account_of(context, data_dir)

    tern = context.start_tern(data_dir=data_dir)
    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'n')
    window = composer_window(tern)
    wait_for_focus_in(context, tern, window, 'New Message')
    # Completion offers the collected address for what is typed; the list
    # (a tree view, which GTK 4.8 keeps out of AT-SPI) is used with the
    # keyboard, as a person would: Down, then Enter.
    type_text(context, 'bo')
    to = named(window, T.pyatspi.ROLE_TEXT, 'To', 'the “To” field')
    offered = f'Bob Stone <{env["TERN_TEST_USER2"]}>'
    time.sleep(1)
    context.screenshot('composer-completion')
    context.press('Down')
    context.press('Return')
    wait_for(lambda: text_of(to) == offered + ', ',
             f'the “To” field to say “{offered}, ”, not “{text_of(to)}”')
    context.press('Alt_L', 'u')
    type_text(context, 'Half done')

    def drafts():
        listing = json.loads(cli(context, data_dir, 'list', '--json', f'{account}:Drafts'))
        return [m['subject'] for m in listing]

    # Closing at once, before the draft's few seconds are up, keeps it
    # without a question.
    T.close_window(tern, window, 'the composer')
    wait_for(lambda: drafts() == ['Half done'], 'the draft to be saved on closing')
    tern.check_running()

    # Discarding asks, and then deletes the draft. With no window manager
    # to give the main window the focus back, its button is clicked.
    button = find(tern.window, lambda a: (has_role(a, T.pyatspi.ROLE_PUSH_BUTTON)
                                          and T.called(a, 'New Message')),
                  'the “New Message” button')
    T.click(button, 'the “New Message” button')
    window = composer_window(tern)
    wait_for_focus_in(context, tern, window, 'New Message')
    context.press('Alt_L', 'u')
    type_text(context, 'Throw away')
    # Saved by itself a few seconds after the typing stops.
    T.label_in(window, 'Draft saved', 'the note that the draft is saved')
    check(sorted(drafts()) == ['Half done', 'Throw away'], f'the Drafts hold {drafts()}')
    discard = named(window, T.pyatspi.ROLE_PUSH_BUTTON, 'Discard Draft', 'the “Discard” button')
    T.click(discard, 'the “Discard Draft” button')
    T.label_in(tern.app, 'Discard Draft?', 'the question before discarding')
    context.screenshot('composer-discard')
    confirm = find(tern.app, lambda a: (has_role(a, T.pyatspi.ROLE_PUSH_BUTTON)
                                        and (a.name or '').replace('_', '').startswith('Discard')
                                        and a.name != 'Discard Draft'),
                   'the “Discard” answer')
    T.click(confirm, 'the “Discard” answer')
    wait_for(lambda: drafts() == ['Half done'], 'the discarded draft to go')


@ui_test('/ui/composer/forward-attaches-the-message')
def test_forward(context):
    data_dir = new_profile(context, 'forward')
    mbox = os.path.join(context.session.root, 'forward.mbox')
    with open(mbox, 'w') as f:
        f.write(sample_message('sales@example.org'))
    cli(context, data_dir, 'import', '--mbox', mbox, '--folder', T.FOLDER)
    tern = context.start_tern(data_dir=data_dir)
    T.open_folder(tern)
    T.open_message(tern, 'Price list')
    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'l')
    window = composer_window(tern, 'Fwd: Price list')
    attachments = find(window, lambda a: a.name == 'Attachments', 'the attachment list')
    find(attachments, lambda a: (has_role(a, T.pyatspi.ROLE_LABEL)
                                 and a.name == 'Forwarded message attached: “Price list”'),
         'the forwarded message among the attachments')
    to = named(window, T.pyatspi.ROLE_TEXT, 'To', 'the “To” field')
    check(text_of(to) == '', f'a forward is addressed to “{text_of(to)}” already')
    context.screenshot('composer-forward')


@ui_test('/ui/composer/mail-queued-before-start-is-sent')
def test_resume(context):
    env = server_env()
    data_dir = new_profile(context, 'resume')
    add_account(context, data_dir, env['TERN_TEST_USER1'], env['TERN_TEST_PASSWORD1'])
    account = tern_account_of(context, data_dir)
    cli(context, data_dir, 'send', '--account', account, '--to', env['TERN_TEST_USER2'],
        '--subject', 'Queued earlier', '--queue-only', stdin='Sent when Tern starts.\n')
    check(len(outbox(context, data_dir)) == 1, 'the message is not queued')
    context.start_tern(data_dir=data_dir)
    wait_for(lambda: outbox(context, data_dir) == [], 'the queued message to be sent',
             timeout=60)
    sent = cli(context, data_dir, 'list', f'{account}:Sent')
    check('Queued earlier' in sent, f'the message is not in Sent: {sent}')


if __name__ == '__main__':
    sys.exit(T.main())
