#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The account's menu, dragging messages, archiving and failed sends.

Runs under tests/servers/tern-test-servers (a real Dovecot and Postfix),
with the helpers, session and runner of test-main-window.py:

- the account's menu in the sidebar shows "N kB of 1.0 MB used" once
  Dovecot's quota plugin sets a limit, and nothing of it without one;
- messages dragged (with the pointer, through XTest) from the list onto a
  folder of the sidebar move there, all of the selection, with an Undo
  toast; the server has them in the new folder;
- "Archive Old Mail" moves the Inbox's mail older than a year to a folder
  On This Computer, and the server keeps only the newer mail;
- a message the server refuses for good (an unknown recipient) is told in
  a toast that stays, naming it; its details name the refused address, and
  Try Again sends it once more; it stays in the Outbox;
- reading a message, and marking it unread again, reach the server soon;
  deleting moves a message to the Trash, and deleting it there deletes it
  on the server too;
- "Remove Account…" asks first; Cancel keeps everything, Remove takes the
  account out of the sidebar, its settings and its mail on this computer,
  while the server keeps its mail.
"""

import imaplib
import importlib.util
import os
import re
import ssl
import subprocess
import sys
import time

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
_mspec = importlib.util.spec_from_file_location('tern_ui_mail',
                                                os.path.join(HERE, 'test-getting-mail.py'))
M = importlib.util.module_from_spec(_mspec)
_mspec.loader.exec_module(M)

# The tests here replace the others.
T.TESTS.clear()
ui_test = T.ui_test
check = T.check
wait_for = T.wait_for
find = T.find
find_all = T.find_all
SYNC_TIMEOUT = 60


def ctl(*args):
    env = M.server_env()
    result = subprocess.run([env['TERN_TEST_SERVERS_PYTHON'], env['TERN_TEST_SERVERS_CTL']]
                            + list(args), capture_output=True, text=True, timeout=120)
    check(result.returncode == 0, f'tern-test-servers {" ".join(args)}: {result.stderr}')


def imap_count(folder, user=1):
    """How many messages the server holds in a user's folder."""
    env = M.server_env()
    context = ssl.create_default_context(cafile=env['TERN_TEST_CA_FILE'])
    context.check_hostname = False
    with imaplib.IMAP4_SSL(env['TERN_TEST_HOST'], int(env['TERN_TEST_IMAPS_PORT']),
                           ssl_context=context) as imap:
        imap.login(env[f'TERN_TEST_USER{user}'], env[f'TERN_TEST_PASSWORD{user}'])
        status, data = imap.status(folder, '(MESSAGES)')
        check(status == 'OK', f'STATUS {folder}: {data}')
        return int(re.search(rb'MESSAGES (\d+)', data[0]).group(1))


def imap_unseen(folder, user=1):
    """How many messages of a user's folder the server holds unread."""
    env = M.server_env()
    context = ssl.create_default_context(cafile=env['TERN_TEST_CA_FILE'])
    context.check_hostname = False
    with imaplib.IMAP4_SSL(env['TERN_TEST_HOST'], int(env['TERN_TEST_IMAPS_PORT']),
                           ssl_context=context) as imap:
        imap.login(env[f'TERN_TEST_USER{user}'], env[f'TERN_TEST_PASSWORD{user}'])
        status, data = imap.status(folder, '(UNSEEN)')
        check(status == 'OK', f'STATUS {folder}: {data}')
        return int(re.search(rb'UNSEEN (\d+)', data[0]).group(1))


def start_with_account(context, name, subjects=(), user=1):
    """Tern on a new profile with an IMAP account of test user number user:
    each test has a user of its own, as they share the servers."""
    env = M.server_env()
    login = env[f'TERN_TEST_USER{user}']
    for subject in subjects:
        M.deliver(env, login, 'someone@tern.test', subject, f'About {subject.lower()}.')
    data_dir = C.new_profile(context, name)
    account = M.add_imap_account(context, data_dir, login, env[f'TERN_TEST_PASSWORD{user}'])
    tern = context.start_tern(data_dir=data_dir, extra_env={'G_MESSAGES_DEBUG': 'tern'})
    return tern, data_dir, account


def wait_for_subjects(tern, subjects):
    wait_for(lambda: all(any(T.row_says(row, s) for row in T.message_rows(tern))
                         for s in subjects),
             f'{", ".join(subjects)} in the list', timeout=SYNC_TIMEOUT)


def exact_row(tern, subject):
    """The list's row whose subject is subject, exactly."""
    return find(T.pane(tern, 'Messages'),
                lambda a: (T.has_role(a, T.pyatspi.ROLE_LIST_ITEM)
                           and any(n.name == subject for n in T.descendants(a))),
                f'the message “{subject}” in the list')


def sidebar_row(tern, name, what):
    sidebar = T.pane(tern, 'Accounts and Folders')
    return find(sidebar, lambda a: T.has_role(a, T.pyatspi.ROLE_LIST_ITEM) and a.name == name,
                what, timeout=SYNC_TIMEOUT)


# The sidebar shows an account by its name; tern-cli gave the accounts of
# these tests the name of their person.
ACCOUNT_NAME = 'Alice Tester'


def open_account_menu(tern, account, name=ACCOUNT_NAME):
    menu = find(tern.window, lambda a: a.name == f'Menu of {name}',
                f'the menu button of {account} ({name})', timeout=SYNC_TIMEOUT)
    # GTK puts the clickable toggle button inside the menu button.
    button = menu if T.action_index(menu, 'click') is not None else next(
        a for a in T.descendants(menu) if T.action_index(a, 'click') is not None)
    T.click(button, 'the account’s menu button')
    return button


def quota_labels(tern):
    # The line is made when the server tells a limit, and removed when not.
    return find_all(tern.window, lambda a: (T.has_role(a, T.pyatspi.ROLE_LABEL)
                                            and (a.name or '').endswith(' used')))


def close_menu(context, tern):
    context.press('Escape')
    time.sleep(0.5)


@ui_test('/ui/tools/quota-in-the-account-menu')
def test_quota(context):
    # Some 60 generated messages, so that the bar shows something.
    ctl('load-mailbox', '--user', M.server_env()['TERN_TEST_USER1'], '--folder', 'INBOX',
        '--count', '60')
    tern, _, account = start_with_account(context, 'quota', ['Quota check'], user=1)
    wait_for_subjects(tern, ['Quota check'])

    # Without the quota plugin the server sets no limit: no usage line.
    open_account_menu(tern, account)
    find(tern.window, lambda a: (T.has_role(a, T.pyatspi.ROLE_MENU_ITEM)
                                 and (a.name or '').startswith('Archive Old Mail')),
         'the “Archive Old Mail…” item of the account’s menu')
    time.sleep(5)
    check(quota_labels(tern) == [], 'a usage line shows though the server sets no limit')
    context.screenshot('tools-menu-without-quota')
    close_menu(context, tern)

    ctl('dovecot-set', 'mail_plugins', '$mail_plugins quota')
    ctl('dovecot-set', 'protocol imap/mail_plugins', '$mail_plugins imap_quota')
    ctl('dovecot-set', 'plugin/quota', 'maildir:User quota')
    ctl('dovecot-set', 'plugin/quota_rule', '*:storage=1M')
    try:
        open_account_menu(tern, account)
        try:
            label = wait_for(lambda: next(iter(quota_labels(tern)), None),
                             'the usage line in the account’s menu', timeout=SYNC_TIMEOUT)
        except TimeoutError:
            T.diagnose('\n'.join(T.dump(tern.window)))
            raise
        T.diagnose(f'usage: {label.name}')
        # g_format_size: decimal units (1 MiB of quota is “1.0 MB”), and a
        # no-break space before the unit.
        check(re.fullmatch(r'\d+(\.\d)?\s(bytes|kB|MB) of 1\.0\sMB used', label.name),
              f'the usage line says “{label.name}”')
        levels = find_all(tern.window, lambda a: T.has_role(a, T.pyatspi.ROLE_LEVEL_BAR))
        check(len(levels) == 1, f'{len(levels)} level bars show, not one')
        check(0 < levels[0].queryValue().currentValue <= 1,
              f'the level bar is at {levels[0].queryValue().currentValue}')
        context.screenshot('tools-menu-with-quota')
        close_menu(context, tern)
    finally:
        for key in ('plugin/quota_rule', 'plugin/quota', 'protocol imap/mail_plugins',
                    'mail_plugins'):
            ctl('dovecot-set', key)
    tern.check_running()


def centre(acc):
    box = acc.queryComponent().getExtents(T.pyatspi.DESKTOP_COORDS)
    return box.x + box.width // 2, box.y + box.height // 2


def drag(start, end):
    """Presses the first button at start, moves in steps, releases at end:
    through at-spi2-registryd and XTest, as a mouse does."""
    generate = T.pyatspi.Registry.generateMouseEvent
    generate(start[0], start[1], 'abs')
    time.sleep(0.2)
    generate(start[0], start[1], 'b1p')
    time.sleep(0.2)
    steps = 12
    for i in range(1, steps + 1):
        x = start[0] + (end[0] - start[0]) * i // steps
        y = start[1] + (end[1] - start[1]) * i // steps
        generate(x, y, 'abs')
        time.sleep(0.08)
    time.sleep(0.4)
    generate(end[0], end[1], 'b1r')


@ui_test('/ui/tools/drag-messages-to-a-folder')
def test_drag(context):
    ctl('load-mailbox', '--user', M.server_env()['TERN_TEST_USER3'], '--folder', 'Projects',
        '--count', '1')
    subjects = ['Drag me', 'Drag me too', 'Stay here']
    tern, _, account = start_with_account(context, 'drag', subjects, user=3)
    wait_for_subjects(tern, subjects)
    projects = sidebar_row(tern, 'Projects', 'the server folder “Projects” in the sidebar')
    check(imap_count('INBOX', 3) == 3, 'the server’s Inbox does not hold the three messages')

    # Two selected with the mouse: a click, then a Control-click.
    first = exact_row(tern, 'Drag me')
    generate = T.pyatspi.Registry.generateMouseEvent
    generate(*centre(first), 'b1c')
    time.sleep(0.5)
    control = context.display.keycode('Control_L')
    T.pyatspi.Registry.generateKeyboardEvent(control, None, T.pyatspi.KEY_PRESS)
    time.sleep(0.2)
    generate(*centre(exact_row(tern, 'Drag me too')), 'b1c')
    time.sleep(0.2)
    T.pyatspi.Registry.generateKeyboardEvent(control, None, T.pyatspi.KEY_RELEASE)
    selection = first.parent.querySelection()
    wait_for(lambda: selection.nSelectedChildren == 2, 'two rows to be selected')
    context.screenshot('tools-drag-selected')

    drag(centre(exact_row(tern, 'Drag me too')), centre(projects))
    undo = find(tern.window, lambda a: (T.has_role(a, T.pyatspi.ROLE_PUSH_BUTTON)
                                        and (a.name or '').split(' ')[0] == 'Undo'
                                        and T.is_on_screen(a, tern.window)),
                'the “Undo” button of the “Moved” toast')
    # Undo (at once: a toast goes after a few seconds) brings them back;
    # then they are dragged again, and the server gets them in the folder.
    T.click(undo, 'the “Undo” button')
    context.screenshot('tools-dragged-undone')
    wait_for(lambda: sum(1 for row in T.message_rows(tern) if T.row_says(row, 'Drag me')) == 2,
             'the two messages to come back')
    # A move undone never reaches the server.
    time.sleep(8)
    check(imap_count('INBOX', 3) == 3, 'the undone move reached the server')
    generate = T.pyatspi.Registry.generateMouseEvent
    generate(*centre(exact_row(tern, 'Drag me')), 'b1c')
    time.sleep(0.5)
    T.pyatspi.Registry.generateKeyboardEvent(control, None, T.pyatspi.KEY_PRESS)
    time.sleep(0.2)
    generate(*centre(exact_row(tern, 'Drag me too')), 'b1c')
    time.sleep(0.2)
    T.pyatspi.Registry.generateKeyboardEvent(control, None, T.pyatspi.KEY_RELEASE)
    wait_for(lambda: (exact_row(tern, 'Drag me').parent.querySelection().nSelectedChildren
                      == 2), 'two rows to be selected again')
    context.screenshot('tools-drag-selected-again')
    drag(centre(exact_row(tern, 'Drag me')), centre(projects))
    wait_for(lambda: not any(T.row_says(row, 'Drag me') for row in T.message_rows(tern)),
             'both dragged messages to leave the Inbox')
    context.screenshot('tools-dragged')
    counts = {}

    def on_server():
        counts['Projects'] = imap_count('Projects', 3)
        counts['INBOX'] = imap_count('INBOX', 3)
        return counts == {'Projects': 3, 'INBOX': 1}
    try:
        wait_for(on_server, 'the server to have both messages in Projects',
                 timeout=SYNC_TIMEOUT)
    finally:
        T.diagnose(f'on the server: {counts}')
    tern.check_running()


@ui_test('/ui/tools/archive-old-mail-to-this-computer')
def test_archive(context):
    env = M.server_env()
    # 30 messages from January 2024, and two of today.
    ctl('load-mailbox', '--user', env['TERN_TEST_USER2'], '--folder', 'INBOX', '--count', '30')
    recent = ['Fresh news', 'Also fresh']
    tern, _, account = start_with_account(context, 'archive', recent, user=2)
    wait_for_subjects(tern, recent)
    check(imap_count('INBOX', 2) == 32, 'the server’s Inbox does not hold 32 messages')

    open_account_menu(tern, account)
    item = find(tern.window, lambda a: (T.has_role(a, T.pyatspi.ROLE_MENU_ITEM)
                                        and (a.name or '').startswith('Archive Old Mail')),
                'the “Archive Old Mail…” item')
    T.click(item, 'the “Archive Old Mail…” item')
    dialog = T.new_window(tern, ['Archive Old Mail'], 'the “Archive Old Mail” dialog')
    context.screenshot('tools-archive-choice')
    T.label_in(dialog, 'Inbox', 'the folder chosen')
    T.label_in(dialog, '1 Year', 'the age chosen')
    T.click(T.button_in(dialog, 'Archive'), 'the “Archive” button')
    T.wait_for_label(dialog, lambda name: name == '30 Messages Archived',
                     'the dialog to say 30 messages were archived', timeout=SYNC_TIMEOUT)
    context.screenshot('tools-archive-done')
    check(imap_count('INBOX', 2) == 2,
          f'the server’s Inbox holds {imap_count("INBOX", 2)}, not 2')
    T.click(T.button_in(dialog, 'Done'), 'the “Done” button')

    row = sidebar_row(tern, f'Archive/{account}', 'the archive folder On This Computer')
    T.select_child(row, 'the archive folder')
    wait_for(lambda: len(T.message_rows(tern)) >= 10, 'the archived messages to be listed')
    context.screenshot('tools-archived-folder')
    tern.check_running()


@ui_test('/ui/tools/a-refused-message-is-told-and-kept')
def test_refused(context):
    env = M.server_env()
    data_dir = C.new_profile(context, 'refused')
    # Dave: his password has a space, quotes and a non-ASCII letter.
    account = M.add_imap_account(context, data_dir, env['TERN_TEST_USER4'],
                                 env['TERN_TEST_PASSWORD4'])
    C.cli(context, data_dir, 'trust', f'{env["TERN_TEST_HOST"]}:{env["TERN_TEST_SUBMISSION_PORT"]}',
          '--starttls', 'smtp', '--yes')
    C.cli(context, data_dir, 'send', '--account', account, '--to', 'nobody-here@tern.test',
          '--bcc', 'nobody-else@tern.test', '--subject', 'Lost letter', '--queue-only',
          stdin='Nobody reads this.\n')
    tern = context.start_tern(data_dir=data_dir)

    def toasts():
        return find_all(tern.window, lambda a: (T.has_role(a, T.pyatspi.ROLE_LABEL)
                                                and a.name == '“Lost letter” was not sent'))
    wait_for(toasts, 'the toast that says “Lost letter” was not sent', timeout=SYNC_TIMEOUT)
    context.screenshot('tools-refused')
    # It stays for as long as the user wants to read it.
    time.sleep(8)
    check(toasts(), 'the toast went by itself')
    check(len(C.outbox(context, data_dir)) == 1, 'the refused message left the outbox')

    # Its details name the refused address; Try Again sends it again (and
    # the server refuses it again).
    def open_details():
        details = find(tern.window, lambda a: (T.has_role(a, T.pyatspi.ROLE_PUSH_BUTTON)
                                               and (a.name or '').replace('_', '').split(' ')[0]
                                               == 'Details'),
                       'the toast’s “Details” button')
        T.click(details, 'the “Details” button')
        heading = '“Lost letter” Was Not Sent'
        return wait_for(lambda: next((w for w in T.children(tern.app)
                                      if find_all(w, lambda a: a.name == heading)), None),
                        'the dialog with the details')
    dialog = open_details()
    find(dialog, lambda a: 'nobody-here@tern.test' in (a.name or ''),
         'the refused address in the details')
    context.screenshot('tools-refused-details')
    T.click(T.button_in(dialog, 'Try Again'), 'the “Try Again” button')
    wait_for(lambda: tern.log().count('“Lost letter” was not sent') >= 2,
             'the message to be sent again and refused again', timeout=SYNC_TIMEOUT)
    wait_for(lambda: len(C.outbox(context, data_dir)) == 1, 'the message back in the outbox')

    # Edit takes it out of the outbox and opens it in a composer, to be
    # corrected: its Bcc, which the message sent does not carry, comes back
    # from the addresses it was sent to.
    wait_for(toasts, 'the toast of the second refusal')
    dialog = open_details()
    T.click(T.button_in(dialog, 'Edit'), 'the “Edit” button')
    composer = wait_for(lambda: next((w for w in tern.windows()
                                      if w.name == 'Lost letter'
                                      and T.has_role(w, T.pyatspi.ROLE_FRAME)), None),
                        'a composer with the refused message')

    def field(name):
        return find(composer, lambda a: T.has_role(a, T.pyatspi.ROLE_TEXT) and a.name == name,
                    f'the “{name}” field')
    to = field('To')
    check(C.text_of(to) == 'nobody-here@tern.test', f'To says “{C.text_of(to)}”')
    bcc = field('Bcc')
    wait_for(lambda: T.is_on_screen(bcc, composer), 'the “Bcc” field to show')
    check(C.text_of(bcc) == 'nobody-else@tern.test', f'Bcc says “{C.text_of(bcc)}”')
    context.screenshot('tools-refused-edit')
    wait_for(lambda: len(C.outbox(context, data_dir)) == 0, 'the message to leave the outbox')
    tern.check_running()


@ui_test('/ui/tools/read-and-unread-reach-the-server')
def test_read_state_on_server(context):
    subjects = ['Read me here', 'Read me there']
    tern, _, account = start_with_account(context, 'readstate', subjects, user=3)
    wait_for_subjects(tern, subjects)
    unseen = imap_unseen('INBOX', 3)
    check(unseen >= 2, f'the server holds {unseen} unread messages, not 2 or more')

    # Opening a message reads it, here and soon on the server.
    T.select_child(exact_row(tern, 'Read me here'), 'the message “Read me here”')
    wait_for(lambda: imap_unseen('INBOX', 3) == unseen - 1,
             'the server to hear that the message was read', timeout=SYNC_TIMEOUT)
    # Marking it unread again goes there too.
    context.press('Control_L', 'u')
    wait_for(lambda: imap_unseen('INBOX', 3) == unseen,
             'the server to hear that the message is unread again', timeout=SYNC_TIMEOUT)
    tern.check_running()


@ui_test('/ui/tools/delete-moves-to-trash-then-deletes-on-the-server')
def test_delete_on_server(context):
    subjects = ['Throw me away']
    tern, _, account = start_with_account(context, 'deleting', subjects, user=3)
    wait_for_subjects(tern, subjects)
    trash = imap_count('Trash', 3)

    # Delete in the Inbox: to the Trash, on the server once the toast goes.
    T.select_child(exact_row(tern, 'Throw me away'), 'the message “Throw me away”')
    context.press('Delete')
    wait_for(lambda: imap_count('Trash', 3) == trash + 1,
             'the message to reach the server’s Trash', timeout=SYNC_TIMEOUT)

    # Delete in the Trash: for good, there too.
    T.select_child(sidebar_row(tern, 'Trash', 'the account’s Trash'), 'the Trash')
    wait_for_subjects(tern, subjects)
    T.select_child(exact_row(tern, 'Throw me away'), 'the message “Throw me away” in the Trash')
    context.press('Delete')
    wait_for(lambda: imap_count('Trash', 3) == trash,
             'the message to leave the server’s Trash', timeout=SYNC_TIMEOUT)
    context.screenshot('tools-deleted-for-good')
    tern.check_running()


@ui_test('/ui/tools/remove-an-account')
def test_remove_account(context):
    env = M.server_env()
    subjects = ['Stays on the server']
    tern, data_dir, account = start_with_account(context, 'remove', subjects, user=2)
    address = env['TERN_TEST_USER2']
    wait_for_subjects(tern, subjects)
    on_server = imap_count('INBOX', 2)
    check('Stays on the server' in C.cli(context, data_dir, 'list', f'{account}:INBOX'),
          'the message is not in the store before the removal')

    def remove_item():
        open_account_menu(tern, account)
        item = find(tern.window, lambda a: (T.has_role(a, T.pyatspi.ROLE_MENU_ITEM)
                                            and (a.name or '').startswith('Remove Account')),
                    'the “Remove Account…” item')
        T.click(item, 'the “Remove Account…” item')
        T.label_in(tern.app, f'Remove {address}?', 'the question before removing')

    def answer(name):
        button = find(tern.app, lambda a: (T.has_role(a, T.pyatspi.ROLE_PUSH_BUTTON)
                                           and (a.name or '').replace('_', '').startswith(name)
                                           and 'Account' not in (a.name or '')),
                      f'the “{name}” answer')
        T.click(button, f'the “{name}” answer')

    # Cancel keeps everything.
    remove_item()
    context.screenshot('tools-remove-account')
    answer('Cancel')
    time.sleep(1)
    check(account in C.cli(context, data_dir, 'account', 'list'),
          'the account went although the removal was cancelled')

    # Remove takes it away here, and only here.
    remove_item()
    answer('Remove')
    T.wait_for_label(tern.window, lambda name: name == f'Removed {address}',
                     'the toast that says the account is removed', timeout=SYNC_TIMEOUT)
    wait_for(lambda: not find_all(tern.window, lambda a: a.name == f'Menu of {ACCOUNT_NAME}'),
             'the account to leave the sidebar')
    context.screenshot('tools-account-removed')
    check(account not in C.cli(context, data_dir, 'account', 'list'),
          'the account is still listed by tern-cli')
    folders = C.cli(context, data_dir, 'folders')
    check(account not in folders, f'the account’s folders are still in the store: {folders}')
    check(imap_count('INBOX', 2) == on_server,
          'the server’s Inbox changed when the account was removed here')
    tern.check_running()


if __name__ == '__main__':
    sys.exit(T.main())
