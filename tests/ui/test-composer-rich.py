#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tern's composer with rich text and drafts on the server, used through the
accessibility tree as a person would.

Runs under tests/servers/tern-test-servers (a real Postfix submission and
Dovecot) with an IMAP account: bold text and a link typed with the
keyboard arrive as HTML with a plain text alternative, and a draft is saved
to the server's Drafts folder, replaced there as it changes, opened again
from the Drafts folder, and gone from the server once sent. What is on the
server is read with Python's own IMAP client. The helpers, the session and
the runner are those of test-main-window.py and test-composer.py.
"""

import email
import email.policy
import imaplib
import importlib.util
import os
import ssl
import struct
import sys
import time
import zlib

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

_spec = importlib.util.spec_from_file_location('tern_ui', os.path.join(HERE, 'test-main-window.py'))
T = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(T)
_cspec = importlib.util.spec_from_file_location('tern_ui_composer',
                                                os.path.join(HERE, 'test-composer.py'))
C = importlib.util.module_from_spec(_cspec)
_cspec.loader.exec_module(C)
# The composer's helpers use this runner's module, whose AT-SPI is set up.
C.T = T

# The tests here replace the others.
T.TESTS.clear()
ui_test = T.ui_test
check = T.check
wait_for = T.wait_for
find = T.find


def server_env():
    if 'TERN_TEST_IMAP_PORT' not in os.environ:
        raise T.Skip('no test mail servers (run under tern-test-servers)')
    return os.environ


def add_imap_account(context, data_dir, user, password):
    env = server_env()
    host = env['TERN_TEST_HOST']
    secret = os.path.join(data_dir, 'imap.password')
    with open(secret, 'w') as f:
        f.write(password)
    os.chmod(secret, 0o600)
    C.cli(context, data_dir, 'account', 'add', '--email', user, '--name', 'Alice Tester',
          '--imap', f'{host}:{env["TERN_TEST_IMAP_PORT"]}',
          '--smtp', f'{host}:{env["TERN_TEST_SUBMISSION_PORT"]}',
          '--security', 'starttls', '--password-command', f"cat '{secret}'", '--yes')
    for port, protocol in ((env['TERN_TEST_IMAP_PORT'], 'imap'),
                           (env['TERN_TEST_SUBMISSION_PORT'], 'smtp')):
        C.cli(context, data_dir, 'trust', f'{host}:{port}', '--starttls', protocol, '--yes')
    return C.tern_account_of(context, data_dir)


def server_messages(env, user, password, mailbox):
    """The messages of a mailbox on the server: (flags, email message)."""
    tls = ssl.create_default_context(cafile=env['TERN_TEST_CA_FILE'])
    tls.check_hostname = False
    imap = imaplib.IMAP4(env['TERN_TEST_HOST'], int(env['TERN_TEST_IMAP_PORT']))
    try:
        imap.starttls(tls)
        imap.login(user, password)
        status, _ = imap.select(mailbox, readonly=True)
        check(status == 'OK', f'the server has no mailbox {mailbox}')
        _, data = imap.uid('SEARCH', None, 'ALL')
        found = []
        for uid in data[0].split():
            _, parts = imap.uid('FETCH', uid, '(FLAGS BODY.PEEK[])')
            # A message expunged meanwhile answers without its literal.
            for part in parts:
                if isinstance(part, tuple):
                    found.append((part[0].decode(),
                                  email.message_from_bytes(part[1],
                                                           policy=email.policy.default)))
        return found
    finally:
        try:
            imap.logout()
        except Exception:
            pass


def tiny_png():
    """A 48 by 32 pixel PNG, made here."""
    def chunk(kind, data):
        body = kind + data
        return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body))
    rows = b''.join(b'\0' + bytes([200, 40, 40, 255] * 48) for _ in range(32))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 48, 32, 8, 6, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))


def click_text(component_acc):
    """Clicks the middle of a widget with the mouse, as a person does to
    start writing in it."""
    box = component_acc.queryComponent().getExtents(T.pyatspi.DESKTOP_COORDS)
    T.pyatspi.Registry.generateMouseEvent(box.x + box.width // 2, box.y + 20, 'b1c')


def open_composer(context, tern):
    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'n')
    window = C.composer_window(tern)
    C.wait_for_focus_in(context, tern, window, 'New Message')
    return window


def write_to(context, window, to, subject):
    C.type_text(context, to)
    context.press('Alt_L', 'u')
    C.type_text(context, subject)
    body = find(window, lambda a: a.name == 'Message Text', 'the message text')
    click_text(body)
    wait_for(lambda: body.getState().contains(T.pyatspi.STATE_FOCUSED),
             'the message text to have the focus')
    return body


def wait_for_synced(context, data_dir, account):
    """Waits for Tern's first pass to learn the server's folders."""
    def listed():
        result = C.subprocess.run([context.args.tern_cli, '--data-dir', data_dir, 'folders'],
                                  stdout=C.subprocess.PIPE, stderr=C.subprocess.STDOUT,
                                  text=True, timeout=60)
        return result.returncode == 0 and 'Drafts' in result.stdout
    wait_for(listed, 'the account’s folders to be synced', timeout=60)


@ui_test('/ui/composer/bold-text-and-a-link-arrive-as-html-with-plain-text')
def test_rich_send(context):
    env = server_env()
    alice, alice_pw = env['TERN_TEST_USER1'], env['TERN_TEST_PASSWORD1']
    bob, bob_pw = env['TERN_TEST_USER2'], env['TERN_TEST_PASSWORD2']
    data_dir = C.new_profile(context, 'rich')
    add_imap_account(context, data_dir, alice, alice_pw)

    tern = context.start_tern(data_dir=data_dir)
    window = open_composer(context, tern)
    subject = f'Rich hello {int(time.time())}'
    body = write_to(context, window, bob, subject)
    C.type_text(context, 'Hello ')
    context.press('Control_L', 'b')
    bold = find(window, lambda a: a.name == 'Bold', 'the “Bold” button')

    def pressed():
        state = bold.getState()
        return state.contains(T.pyatspi.STATE_PRESSED) or state.contains(T.pyatspi.STATE_CHECKED)
    wait_for(pressed, 'the “Bold” button to show that bold is on')
    C.type_text(context, 'Important')
    context.press('Control_L', 'b')
    C.type_text(context, ' news, see ')
    context.press('Control_L', 'k')
    T.label_in(tern.app, 'Add Link', 'the link dialog')
    # The address has the focus; the text to show comes next.
    C.type_text(context, 'example.org/a')
    context.press('Tab')
    C.type_text(context, 'our site')
    context.press('Return')
    wait_for(lambda: 'our site' in C.text_of(body), 'the link text in the message')
    context.press('Return')
    C.type_text(context, 'Bye')
    wait_for(lambda: C.text_of(body) == 'Hello Important news, see our site\nBye',
             f'the text to be typed, not “{C.text_of(body)}”')

    # A bulleted list from the formatting bar; Enter on an empty item ends
    # it.
    context.press('Return')
    bullets = find(window, lambda a: a.name == 'Bulleted List', 'the “Bulleted List” button')
    T.click(bullets, 'the “Bulleted List” button')
    wait_for(lambda: C.text_of(body).endswith('Bye\n• '), 'the first item’s bullet')
    C.type_text(context, 'one\ntwo\n\n')
    wait_for(lambda: C.text_of(body).endswith('Bye\n• one\n• two\n'),
             f'the list in the text, not “{C.text_of(body)}”')

    # An inline image, chosen as a person chooses a file.
    image = os.path.join(data_dir, 'dot.png')
    with open(image, 'wb') as f:
        f.write(tiny_png())
    insert = find(window, lambda a: a.name == 'Insert Image', 'the “Insert Image” button')
    T.click(insert, 'the “Insert Image” button')
    wait_for(lambda: any(w.name == 'Insert Image' for w in T.children(tern.app)),
             'the file chooser')
    xchooser = wait_for(lambda: context.display.find_window(tern.process.pid, 'Insert Image'),
                        'the file chooser on the X display')
    wait_for(lambda: context.display.input_focus() == xchooser,
             'the file chooser to have the keyboard focus')
    context.press('Control_L', 'l')
    C.type_text(context, image)
    context.press('Return')
    # GTK keeps an image out of the accessible text; the message sent
    # shows it is there.
    wait_for(lambda: not any(w.name == 'Insert Image' for w in T.children(tern.app)),
             'the file chooser to close')
    time.sleep(1)
    context.screenshot('composer-rich-text')

    context.press('Control_L', 'Return')
    T.label_in(tern.window, 'Sending…', 'the “Sending…” toast')
    wait_for(lambda: C.outbox(context, data_dir) == [], 'the message to be sent', timeout=60)

    def arrived():
        return next((m for _, m in server_messages(env, bob, bob_pw, 'INBOX')
                     if m['Subject'] == subject), None)
    message = wait_for(arrived, 'the message to reach Bob’s Inbox', timeout=60)
    check(message.get_content_type() == 'multipart/alternative',
          f'the message is {message.get_content_type()}')
    parts = list(message.iter_parts())
    check([p.get_content_type() for p in parts] == ['text/plain', 'multipart/related'],
          f'the parts are {[p.get_content_type() for p in parts]}')
    related = list(parts[1].iter_parts())
    check([p.get_content_type() for p in related] == ['text/html', 'image/png'],
          f'the related parts are {[p.get_content_type() for p in related]}')
    plain = parts[0].get_content()
    html = related[0].get_content()
    cid = related[1]['Content-ID'].strip('<>')
    check(related[1].get_content() == tiny_png(), 'the image arrived changed')
    check(f'<img src="cid:{cid}"' in html, f'the HTML does not show the image {cid}: “{html}”')
    check('<ul>\n<li>one</li>\n<li>two</li>\n</ul>' in html.replace('\r\n', '\n'),
          f'the HTML has no list: “{html}”')
    check('- one\n- two\n' in plain.replace('\r\n', '\n'),
          f'the plain text has no list: “{plain}”')
    check('[dot.png]' in plain, f'the plain text does not name the image: “{plain}”')
    check('Hello Important news, see our site <https://example.org/a>' in plain,
          f'the plain text is “{plain}”')
    check('<b>' not in plain, 'the plain text has HTML in it')
    check('Hello <b>Important</b> news, see <a href="https://example.org/a">our site</a>'
          in html, f'the HTML is “{html}”')
    check('<script' not in html.lower(), 'the HTML has a script')


@ui_test('/ui/composer/draft-goes-to-the-server-and-opens-again')
def test_server_draft(context):
    env = server_env()
    alice, alice_pw = env['TERN_TEST_USER1'], env['TERN_TEST_PASSWORD1']
    bob, bob_pw = env['TERN_TEST_USER2'], env['TERN_TEST_PASSWORD2']
    carol, carol_pw = env['TERN_TEST_USER3'], env['TERN_TEST_PASSWORD3']
    data_dir = C.new_profile(context, 'server-draft')
    account = add_imap_account(context, data_dir, alice, alice_pw)

    tern = context.start_tern(data_dir=data_dir)
    wait_for_synced(context, data_dir, account)
    window = open_composer(context, tern)
    subject = f'Plans {int(time.time())}'
    body = write_to(context, window, bob, subject)
    # Carol gets it too, unseen by Bob: the Bcc field, shown with its
    # button's mnemonic, then clicked into.
    context.press('Alt_L', 'b')
    bcc = C.named(window, T.pyatspi.ROLE_TEXT, 'Bcc', 'the “Bcc” field')
    wait_for(lambda: T.is_on_screen(bcc, window), 'the “Bcc” field to show')
    click_text(bcc)
    wait_for(lambda: bcc.getState().contains(T.pyatspi.STATE_FOCUSED),
             'the “Bcc” field to have the focus')
    C.type_text(context, carol)
    click_text(body)
    wait_for(lambda: body.getState().contains(T.pyatspi.STATE_FOCUSED),
             'the message text to have the focus')
    context.press('Control_L', 'i')
    C.type_text(context, 'First')
    context.press('Control_L', 'i')
    C.type_text(context, ' version')

    def drafts_on_server():
        return [(flags, m) for flags, m in server_messages(env, alice, alice_pw, 'Drafts')
                if m['Subject'] == subject]

    def first_on_server():
        found = drafts_on_server()
        return found if len(found) == 1 and 'version' in str(found[0][1]) else None
    found = wait_for(first_on_server, 'the draft to reach the server’s Drafts', timeout=60)
    check('\\Draft' in found[0][0], f'the draft on the server has the flags {found[0][0]}')
    # The draft, the user's own copy, keeps its Bcc for when it is opened
    # again, on this computer or another.
    check(carol in str(found[0][1].get('Bcc', '')),
          f'the draft on the server has Bcc “{found[0][1].get("Bcc")}”')

    # A change replaces the copy on the server: one draft, the new text.
    C.type_text(context, ' and more')

    def replaced():
        found = drafts_on_server()
        return found if (len(found) == 1
                         and 'version and more' in found[0][1].get_body(
                             ('plain',)).get_content()) else None
    wait_for(replaced, 'the server’s draft to be replaced by the new one', timeout=60)
    context.screenshot('composer-draft-saved')
    T.close_window(tern, window, 'the composer')

    # Opened again from the account's Drafts folder: with the reader's
    # button, or with a double click.
    sidebar = T.pane(tern, 'Accounts and Folders')
    rows = T.find_all(sidebar, lambda a: (T.has_role(a, T.pyatspi.ROLE_LIST_ITEM)
                                          and a.name == 'Drafts'))
    check(len(rows) >= 1, 'no Drafts folder in the sidebar')
    T.select_child(rows[-1], 'the account’s Drafts folder')
    row = T.message_row(tern, subject)
    T.select_child(row, f'the draft “{subject}”')
    reader = T.open_message(tern, subject)
    # The reader says it is a draft, and offers to edit it.
    T.label_in(reader, 'This message is a draft.', 'the note that the message is a draft')
    edit = find(reader, lambda a: (T.has_role(a, T.pyatspi.ROLE_PUSH_BUTTON)
                                   and a.name == 'Edit Draft'),
                'the “Edit Draft” button')
    context.screenshot('composer-draft-in-reader')
    T.click(edit, 'the “Edit Draft” button')
    window = C.composer_window(tern, subject)
    body = find(window, lambda a: a.name == 'Message Text', 'the message text')
    wait_for(lambda: C.text_of(body).startswith('First version and more'),
             f'the draft’s text in the composer, not “{C.text_of(body)}”')
    # Closed unchanged, it stays as it was: one draft on the server.
    T.close_window(tern, window, 'the composer')
    time.sleep(2)
    check(len(drafts_on_server()) == 1, 'closing the draft unchanged changed the server')

    # Or opened with a double click on it in the list.
    box = row.queryComponent().getExtents(T.pyatspi.DESKTOP_COORDS)
    T.pyatspi.Registry.generateMouseEvent(box.x + box.width // 2, box.y + box.height // 2, 'b1d')
    window = C.composer_window(tern, subject)
    body = find(window, lambda a: a.name == 'Message Text', 'the message text')
    wait_for(lambda: C.text_of(body).startswith('First version and more'),
             f'the draft’s text in the composer, not “{C.text_of(body)}”')
    to = C.named(window, T.pyatspi.ROLE_TEXT, 'To', 'the “To” field')
    check(bob in C.text_of(to), f'To says “{C.text_of(to)}”')
    bcc = C.named(window, T.pyatspi.ROLE_TEXT, 'Bcc', 'the “Bcc” field')
    wait_for(lambda: T.is_on_screen(bcc, window), 'the “Bcc” field of the draft to show')
    check(C.text_of(bcc) == carol, f'Bcc says “{C.text_of(bcc)}”')
    context.screenshot('composer-draft-opened')

    # Sent, the draft goes, here and on the server.
    C.wait_for_focus_in(context, tern, window, subject)
    context.press('Control_L', 'Return')
    wait_for(lambda: C.outbox(context, data_dir) == [], 'the message to be sent', timeout=60)
    wait_for(lambda: drafts_on_server() == [], 'the draft to leave the server’s Drafts',
             timeout=60)
    listing = C.json.loads(C.cli(context, data_dir, 'list', '--json', f'{account}:Drafts'))
    check(all(m['subject'] != subject for m in listing), f'the draft is still here: {listing}')

    # Both got it, without a Bcc header; Bob's copy does not name Carol
    # (hers does, in the lines her server added on delivery).
    def arrived(user, password):
        found = [m for _, m in server_messages(env, user, password, 'INBOX')
                 if m['Subject'] == subject]
        return found[0] if found else None
    for user, password in ((bob, bob_pw), (carol, carol_pw)):
        message = wait_for(lambda: arrived(user, password), f'the message to reach {user}',
                           timeout=60)
        check('Bcc' not in message, f'the copy {user} got has a Bcc header: {message["Bcc"]}')
        if user == bob:
            check(carol not in message.as_string(),
                  f'Bob’s copy names Carol: {message.as_string()[:2000]}')


if __name__ == '__main__':
    sys.exit(T.main())
