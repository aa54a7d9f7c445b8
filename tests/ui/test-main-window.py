#!/usr/bin/python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Tern's main window, used through the accessibility tree as a person would.

Each test starts the built `tern` with a fresh --data-dir in a private
session (an Xvfb display, its own session bus and accessibility bus; see
session.py), finds it on the AT-SPI desktop, and clicks, types and resizes
the way a person does: buttons and menu items through their AT-SPI "click"
action, shortcuts as key presses on the display, window sizes as a window
manager sets them. It prints TAP and saves screenshots as PNG files in the
artifacts folder.

This script needs Debian's /usr/bin/python3, for which python3-pyatspi and
python3-gi are installed; it skips itself when they or Xvfb are missing.
"""

import argparse
import importlib.util
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import traceback

# The helpers beside this script; no bytecode is left in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import session as ui_session  # noqa: E402
import x11  # noqa: E402

# How long the app and its windows may take, in seconds. They are deadlines
# for polling, not sleeps: a passing run waits only as long as Tern needs.
STARTUP_TIMEOUT = 20
UI_TIMEOUT = 10
EXIT_TIMEOUT = 5

# The width of a phone held upright, and the narrowest the main window may be.
PHONE_WIDTH = 360

# The panes of the main window, left to right, with the title of the empty
# state each shows in a new profile, which has no account yet.
PANES = (
    ('Accounts and Folders', 'On This Computer'),
    ('Messages', 'No Messages'),
    ('Reader', 'Welcome to Tern'),
)

# Tests that show a known defect in Tern. TAP's TODO directive reports them
# as expected failures while the defect lasts, and as an unexpected pass,
# which fails the suite, once it is fixed: then the entry is removed here.
KNOWN_DEFECTS = {}

# The names GTK gives a widget that has no accessible name of its own.
CLASS_NAME = re.compile(r'^(Gtk|Adw)[A-Z][A-Za-z]*$')

pyatspi = None
Atspi = None
GLib = None


# The session to tear down when the runner is told to stop.
active_session = None


def on_terminate(signum, frame):
    """Stops the session and the runner at once, wherever the test was.

    meson sends SIGTERM on a timeout and SIGKILL half a second later. An
    exception raised here could be swallowed by the C code the test was
    in, so the session is closed from the handler itself.
    """
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    try:
        # The handler may have interrupted a print of its own.
        os.write(sys.stdout.fileno(), f'\nBail out! stopped by {signal.Signals(signum).name}\n'
                 .encode())
        if active_session is not None:
            active_session.close()
    finally:
        os._exit(1)


def quiet_cache_warning(domain, level, message, user_data):
    # GTK 4.8 has no AT-SPI cache object; the client library asks for it
    # once for each app and warns that it is missing, which says nothing
    # about Tern.
    if 'GetItems' not in message:
        print(f'{domain}-WARNING: {message}', file=sys.stderr)


def tap(line):
    print(line, flush=True)


def diagnose(text):
    for line in str(text).rstrip('\n').split('\n'):
        tap('# ' + line)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


class Skip(Exception):
    """The test cannot run in this build, for the reason given."""


# The accessibility tree

def wait_for(condition, what, timeout=UI_TIMEOUT):
    def attempt():
        try:
            return condition()
        except GLib.Error:
            # The tree changes under our feet while windows open and
            # close; an object that went away is tried again.
            return None
    return ui_session.deadline_wait(attempt, timeout, what=what)


def children(acc):
    try:
        count = acc.childCount
    except GLib.Error:
        return []
    result = []
    for i in range(count):
        try:
            child = acc.getChildAtIndex(i)
        except GLib.Error:
            continue
        if child is not None:
            result.append(child)
    return result


def descendants(acc, max_depth=64):
    stack = [(acc, 0)]
    while stack:
        node, depth = stack.pop()
        yield node
        if depth < max_depth:
            stack.extend((child, depth + 1) for child in reversed(children(node)))


def find_all(root, predicate):
    found = []
    for node in descendants(root):
        try:
            if predicate(node):
                found.append(node)
        except GLib.Error:
            pass
    return found


def find(root, predicate, what, timeout=UI_TIMEOUT):
    """Waits until one descendant of root matches, and returns the first."""
    return wait_for(lambda: next(iter(find_all(root, predicate)), None), what, timeout)


def has_role(acc, *roles):
    return acc.getRole() in roles


def called(acc, text):
    """Whether acc is called text: by its name, or by its tooltip.

    GTK 4.8 gives an icon button's tooltip to AT-SPI as its description.
    """
    return acc.name == text or acc.description == text


def extents(acc):
    """(x, y, width, height) of acc in its window's coordinates."""
    box = acc.queryComponent().getExtents(pyatspi.WINDOW_COORDS)
    return box.x, box.y, box.width, box.height


def is_on_screen(acc, window):
    """Whether acc is visible and drawn inside its window.

    GTK 4.8 reports "showing" only for windows, so a widget counts as on
    screen when it is visible and has an area inside its showing window.
    """
    if not window.getState().contains(pyatspi.STATE_SHOWING):
        return False
    if not acc.getState().contains(pyatspi.STATE_VISIBLE):
        return False
    x, y, width, height = extents(acc)
    _, _, window_width, window_height = extents(window)
    return (width > 0 and height > 0 and x < window_width and y < window_height
            and x + width > 0 and y + height > 0)


def action_index(acc, name):
    try:
        action = acc.queryAction()
    except NotImplementedError:
        return None
    for i in range(action.nActions):
        if action.getName(i) == name:
            return i
    return None


def click(acc, what):
    """Clicks acc through its AT-SPI action, as a screen reader user does."""
    index = action_index(acc, 'click')
    check(index is not None, f'{what} cannot be clicked: it has no “click” action')
    check(acc.queryAction().doAction(index), f'clicking {what} did nothing')


def describe(acc):
    try:
        return f'{acc.getRoleName()} “{acc.name}” (description “{acc.description}”)'
    except GLib.Error:
        return 'an object that went away'


# The app

class Tern:
    """One running tern, with its accessible application and main window."""

    def __init__(self, context, name, data_dir=None, extra_env=None, args=None):
        self.context = context
        self.name = name
        self.data_dir = data_dir or os.path.join(context.session.root, 'profiles', name)
        env = {
            # The headless tests switch the accessibility bridge off; these
            # tests need it on.
            'NO_AT_BRIDGE': None,
            # A critical warning is a bug: the test fails on it (see
            # Context.check_criticals()).
            'G_DEBUG': 'gc-friendly',
        }
        if context.args.schemas_dir:
            env['GSETTINGS_SCHEMA_DIR'] = context.args.schemas_dir
        env.update(extra_env or {})
        self.process = context.session.spawn(
            [context.args.tern, '--data-dir', self.data_dir] + list(args or []), 'tern-' + name,
            env, core_dumps=True)
        self.app = wait_for(self._find_app, f'tern (PID {self.process.pid}) on the AT-SPI desktop',
                            STARTUP_TIMEOUT)
        self.window = wait_for(self._find_main_window, 'the main window “Tern” to show',
                               STARTUP_TIMEOUT)

    def _find_app(self):
        self.check_running()
        for app in children(pyatspi.Registry.getDesktop(0)):
            if app.get_process_id() == self.process.pid:
                # The desktop's cache setting does not reach an app that
                # starts later: without this, the library answers from its
                # own copy of the tree, which missed the main menu once it
                # had opened.
                app.set_cache_mask(Atspi.Cache.NONE)
                return app
        return None

    def _find_main_window(self):
        self.check_running()
        for window in children(self.app):
            if (has_role(window, pyatspi.ROLE_FRAME) and window.name == 'Tern'
                    and window.getState().contains(pyatspi.STATE_SHOWING)):
                return window
        return None

    def windows(self):
        """The windows of the app that are showing, the main window included."""
        return [w for w in children(self.app)
                if w.getState().contains(pyatspi.STATE_SHOWING)]

    def main_xwindow(self):
        """The main window on the X display, once it is there."""
        return wait_for(lambda: self.context.display.find_window(self.process.pid, 'Tern'),
                        'the main window on the X display')

    def wait_for_keyboard_focus(self):
        """Waits until the keys typed on the display go to the main window.

        A person types into the window in front; on this display, which has
        no window manager, that is the X window that holds the input focus.
        """
        xwindow = self.main_xwindow()
        wait_for(lambda: (self.context.display.input_focus() == xwindow
                          and self.window.getState().contains(pyatspi.STATE_ACTIVE)),
                 'the main window to have the keyboard focus')

    def check_running(self):
        code = self.process.poll()
        if code is not None:
            raise AssertionError(f'tern exited with status {code}')

    def log(self):
        return self.context.session.log_text('tern-' + self.name)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Context:
    """What a test works with: the session, the options and its apps."""

    def __init__(self, args, session):
        self.args = args
        self.session = session
        self.apps = []
        self.test_slug = ''
        self.display = x11.Display(session.display)
        self.counters = []

    def start_tern(self, data_dir=None, extra_env=None, args=None):
        """Starts tern on a new profile, or on the profile in data_dir,
        with args after the profile's."""
        tern = Tern(self, f'{self.test_slug}-{len(self.apps)}', data_dir, extra_env, args)
        self.apps.append(tern)
        return tern

    def screenshot(self, name):
        """Saves the whole display as artifacts/name.png and names the file."""
        path = os.path.join(self.args.artifacts, name + '.png')
        result = subprocess.run(['import', '-window', 'root', 'png:' + path],
                                env=self.session.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, timeout=30)
        check(result.returncode == 0 and os.path.getsize(path) > 0,
              f'the screenshot {path} could not be taken: {result.stdout.strip()}')
        diagnose(f'screenshot: {path}')
        return path

    def press(self, *keys):
        """Presses keys in order and releases them in reverse, like a chord.

        The key events go through at-spi2-registryd to the display (XTest),
        so they reach the focused window as a keyboard's would.
        """
        codes = [self.display.keycode(key) for key in keys]
        for code in codes[:-1]:
            pyatspi.Registry.generateKeyboardEvent(code, None, pyatspi.KEY_PRESS)
        pyatspi.Registry.generateKeyboardEvent(codes[-1], None, pyatspi.KEY_PRESSRELEASE)
        for code in reversed(codes[:-1]):
            pyatspi.Registry.generateKeyboardEvent(code, None, pyatspi.KEY_RELEASE)

    def check_criticals(self):
        """Fails the test on a critical warning of any tern it started.

        Only tern's own process counts ("(tern:PID)"): WebKit's web
        processes share its log, inside their sandbox, where GLib calls
        them "(process:2)".  The one warning of tern let through comes from
        GTK 4.8's accessibility bridge, not from Tern: a widget going away
        while the bridge tells the bus about it has no object path yet or
        any more, and GLib says so; the bridge carries on.
        """
        for tern in self.apps:
            criticals = [line for line in tern.log().splitlines()
                         if 'CRITICAL **' in line and line.lstrip().startswith('(tern:')
                         and not any(known in line for known in GTK_BRIDGE_CRITICALS)]
            if criticals:
                raise AssertionError(f'tern {tern.name} gave critical warnings:\n'
                                     + '\n'.join(criticals[:10]))

    def end_test(self, failed):
        for tern in self.apps:
            if failed:
                path = os.path.join(self.args.artifacts, f'{tern.name}.log')
                with open(path, 'w') as f:
                    f.write(tern.log())
                diagnose(f'tern log: {path}')
                if tern.process.poll() is not None:
                    diagnose(f'tern exited with status {tern.process.returncode}')
                    report = self.session.crash_report(self.args.tern)
                    if report:
                        crash = os.path.join(self.args.artifacts, f'{tern.name}.crash.txt')
                        with open(crash, 'w') as f:
                            f.write(report)
                        diagnose(f'backtrace ({crash}):')
                        for line in report.splitlines()[:40]:
                            diagnose(line)
            tern.stop()
        self.apps = []

    def close(self):
        for counter in self.counters:
            counter.close()
        self.display.close()


# Shared steps

def open_main_menu_item(tern, label):
    """Opens the main menu and clicks one of its items."""
    button = find(tern.window,
                  lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON, pyatspi.ROLE_TOGGLE_BUTTON)
                             and called(a, 'Main Menu') and action_index(a, 'click') is not None),
                  'the “Main Menu” button')
    check(is_on_screen(button, tern.window), 'the “Main Menu” button is not on screen')
    click(button, 'the “Main Menu” button')

    item = find(tern.window,
                lambda a: has_role(a, pyatspi.ROLE_MENU_ITEM) and a.name == label,
                f'the menu item “{label}”')
    wait_for(lambda: is_on_screen(item, tern.window), f'the menu item “{label}” to show')
    click(item, f'the menu item “{label}”')


def new_window(tern, labels, what):
    """Waits for a window of tern, other than the main one, showing labels."""
    def search():
        for window in tern.windows():
            if window.name == 'Tern':
                continue
            found = find_all(window, lambda a: (has_role(a, pyatspi.ROLE_LABEL)
                                                and a.name in labels))
            shown = {a.name for a in found if is_on_screen(a, window)}
            if shown.issuperset(labels):
                return window
        return None
    return wait_for(search, what)


def close_window(tern, window, what):
    """Clicks the Close button in the header bar of a window of tern.

    A window may keep header bars, with their own Close buttons, on hidden
    pages too (the About window does): the one to click is on screen. The
    test display has no window manager to give a new window the keyboard
    focus, so the button is clicked rather than Escape pressed.
    """
    close = find(window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON) and a.name == 'Close'
                                    and is_on_screen(a, window)),
                 f'the “Close” button of {what}')
    click(close, f'the “Close” button of {what}')

    def closed():
        try:
            return not window.getState().contains(pyatspi.STATE_SHOWING)
        except GLib.Error:
            return True
    wait_for(closed, f'{what} to close')
    wait_for(lambda: len(tern.windows()) == 1, 'only the main window to be left')


def pane(tern, label):
    return find(tern.window,
                lambda a: has_role(a, pyatspi.ROLE_PANEL) and a.name == label,
                f'the “{label}” pane')


def back_buttons(root):
    return find_all(root, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                     and called(a, 'Back')
                                     and action_index(a, 'click') is not None))


def resize_main_window(context, tern, width):
    """Gives the main window's content width pixels, as a window manager would.

    The X window is wider than its content by the border GTK keeps around a
    window for resizing it; AT-SPI measures the content.
    """
    xwindow = tern.main_xwindow()
    _, _, x_width, x_height = context.display.geometry(xwindow)
    _, _, content_width, _ = extents(tern.window)
    context.display.resize(xwindow, width + (x_width - content_width), x_height)
    wait_for(lambda: extents(tern.window)[2] == width,
             f'the main window to be {width} pixels wide')


# The tests

TESTS = []


def ui_test(path):
    def register(function):
        TESTS.append((path, function))
        return function
    return register


@ui_test('/ui/main-window/shows-three-panes-with-empty-states')
def test_three_panes(context):
    tern = context.start_tern()

    check(tern.app.name.lower() == 'tern',
          f'the app is called “{tern.app.name}” on the AT-SPI desktop, not “tern”')
    check(has_role(tern.window, pyatspi.ROLE_FRAME), 'the main window is not a frame')

    boxes = []
    for label, title in PANES:
        box = pane(tern, label)
        check(is_on_screen(box, tern.window), f'the “{label}” pane is not on screen')
        heading = find(box, lambda a: has_role(a, pyatspi.ROLE_LABEL) and a.name == title,
                       f'“{title}” in the “{label}” pane')
        check(is_on_screen(heading, tern.window), f'“{title}” is not on screen')
        hx, hy, hw, hh = extents(heading)
        px, py, pw, ph = extents(box)
        check(px <= hx and hx + hw <= px + pw and py <= hy and hy + hh <= py + ph,
              f'“{title}” is drawn outside the “{label}” pane')
        boxes.append((label, px, pw))

    # Side by side, left to right, none over another.
    for (left, left_x, left_width), (right, right_x, _) in zip(boxes, boxes[1:]):
        check(left_x + left_width <= right_x,
              f'the “{left}” pane is not left of the “{right}” pane')

    context.screenshot('main-window')


@ui_test('/ui/startup/creates-private-profile-folders')
def test_profile_folders(context):
    # The runner's umask (022) would leave the folders readable by others
    # if Tern did not choose their mode itself.
    tern = context.start_tern()

    for sub in ('', 'config', 'data', 'cache'):
        path = os.path.join(tern.data_dir, sub)
        check(os.path.isdir(path), f'{path} was not created')
        info = os.stat(path)
        mode = stat.S_IMODE(info.st_mode)
        check(mode == 0o700, f'{path} has mode {mode:04o}, not 0700')
        check(info.st_uid == os.getuid(), f'{path} belongs to user {info.st_uid}')


@ui_test('/ui/main-window/about-window-opens-from-menu')
def test_about_window(context):
    tern = context.start_tern()
    version = context.args.version

    open_main_menu_item(tern, 'About Tern')
    about = new_window(tern, ['Tern', version],
                       f'a window showing “Tern” and the version “{version}”')
    context.screenshot('about-window')

    close_window(tern, about, 'the About window')
    check(tern.window.getState().contains(pyatspi.STATE_SHOWING),
          'the main window went away with the About window')


@ui_test('/ui/main-window/shortcuts-window-opens')
def test_shortcuts_window(context):
    tern = context.start_tern()
    # Tern's own shortcuts, as the window lists them.
    expected = ['Shortcuts', 'Show Shortcuts', 'Close Window', 'Quit', 'Go Back', 'Search',
                'Mark as Read', 'Mark as Unread', 'Delete', 'New Message', 'Reply', 'Reply All',
                'Forward', 'Send Message']

    open_main_menu_item(tern, 'Keyboard Shortcuts')
    shortcuts = new_window(tern, expected, 'the Shortcuts window, from the menu')
    context.screenshot('shortcuts-window')
    close_window(tern, shortcuts, 'the Shortcuts window')

    # The shortcut the menu shows beside the item: Ctrl+?, which is
    # Ctrl+Shift+/ on a US keyboard.
    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'Shift_L', 'slash')
    shortcuts = new_window(tern, expected, 'the Shortcuts window, from Ctrl+?')
    close_window(tern, shortcuts, 'the Shortcuts window')


@ui_test('/ui/main-window/folds-at-narrow-width')
def test_folds(context):
    tern = context.start_tern()
    sidebar = pane(tern, 'Accounts and Folders')
    messages = pane(tern, 'Messages')
    reader = pane(tern, 'Reader')
    wide_width = extents(tern.window)[2]
    check(not back_buttons(tern.window), 'the wide window shows “Back” buttons')

    resize_main_window(context, tern, PHONE_WIDTH)

    # One pane at a time: the sidebar fills the window...
    wait_for(lambda: extents(sidebar)[2] == PHONE_WIDTH,
             f'the “Accounts and Folders” pane to fill the {PHONE_WIDTH} pixel window')
    # ...the other panes gain a way back to it...
    for box, label in ((messages, 'Messages'), (reader, 'Reader')):
        wait_for(lambda: back_buttons(box), f'a “Back” button in the “{label}” pane')
    # ...and the window's own buttons move into the sidebar's header bar,
    # where they can still be reached.
    close = find(sidebar, lambda a: has_role(a, pyatspi.ROLE_PUSH_BUTTON) and a.name == 'Close',
                 'the window’s “Close” button in the “Accounts and Folders” pane')
    check(is_on_screen(close, tern.window), 'the window’s “Close” button is not on screen')
    context.screenshot('main-window-narrow')

    # Wide again, the three panes are side by side again.
    resize_main_window(context, tern, wide_width)
    wait_for(lambda: not back_buttons(tern.window), 'the “Back” buttons to go away')
    wait_for(lambda: extents(sidebar)[0] + extents(sidebar)[2] <= extents(messages)[0]
             and extents(messages)[0] + extents(messages)[2] <= extents(reader)[0],
             'the three panes to be side by side again')


def end_with_keys(context, tern, keys, shortcut):
    """Types a shortcut that should end tern, and waits for a clean exit."""
    tern.wait_for_keyboard_focus()
    context.press(*keys)
    try:
        code = tern.process.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f'tern still runs {EXIT_TIMEOUT} s after {shortcut}') from None
    check(code == 0, f'tern exited with status {code} after {shortcut}')


@ui_test('/ui/main-window/quit-closes-the-app')
def test_quit(context):
    tern = context.start_tern()
    end_with_keys(context, tern, ('Control_L', 'q'), 'Ctrl+Q')
    wait_for(lambda: all(app.get_process_id() != tern.process.pid
                         for app in children(pyatspi.Registry.getDesktop(0))),
             'tern to leave the AT-SPI desktop')


@ui_test('/ui/main-window/close-shortcut-closes-the-window')
def test_close_window(context):
    # Closing the only window ends the app, as it does in other GNOME apps.
    tern = context.start_tern()
    end_with_keys(context, tern, ('Control_L', 'w'), 'Ctrl+W')


def check_size_is_kept(context, keys, shortcut):
    """Resizes the window, ends tern with keys, and starts it again."""
    if not context.args.schemas_dir:
        raise Skip('no settings schema was given (--schemas-dir)')
    width = 800
    tern = context.start_tern()
    resize_main_window(context, tern, width)
    end_with_keys(context, tern, keys, shortcut)

    again = context.start_tern(data_dir=tern.data_dir)
    shown = extents(again.window)[2]
    check(shown == width,
          f'the window opened {shown} pixels wide, not {width} as it was before {shortcut}')


@ui_test('/ui/main-window/keeps-its-size-after-close')
def test_size_after_close(context):
    check_size_is_kept(context, ('Control_L', 'w'), 'Ctrl+W')


@ui_test('/ui/main-window/keeps-its-size-after-quit')
def test_size_after_quit(context):
    check_size_is_kept(context, ('Control_L', 'q'), 'Ctrl+Q')


@ui_test('/ui/a11y/main-window-buttons-have-names')
def test_button_names(context):
    tern = context.start_tern()
    # The Back buttons exist only while the window is folded.
    resize_main_window(context, tern, PHONE_WIDTH)
    wait_for(lambda: back_buttons(tern.window), 'the “Back” buttons of the folded window')

    buttons = find_all(tern.window,
                       lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON, pyatspi.ROLE_TOGGLE_BUTTON)
                                  and action_index(a, 'click') is not None))
    check(buttons, 'the main window has no buttons')
    unnamed = [describe(b) for b in buttons if not b.name or CLASS_NAME.match(b.name)]
    check(not unnamed, 'buttons a screen reader cannot name: ' + '; '.join(unnamed))


@ui_test('/ui/a11y/shortcuts-window-has-a-name')
def test_shortcuts_window_name(context):
    tern = context.start_tern()
    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'Shift_L', 'slash')
    shortcuts = new_window(tern, ['Show Shortcuts'], 'the Shortcuts window')
    # A screen reader says the name of a window as it opens.
    check(shortcuts.name == 'Shortcuts',
          f'the Shortcuts window is called “{shortcuts.name}”, not “Shortcuts”')




# A profile with mail

class RequestCounter:
    """A loopback HTTP listener that counts the connections made to it.

    The HTML message names an image and a link on it: a connection means
    that the reader let a remote load through.
    """

    def __init__(self):
        import socket
        import threading
        self.connections = 0
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(('127.0.0.1', 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            try:
                connection.recv(4096)
                connection.sendall(b'HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n')
            except OSError:
                pass
            connection.close()

    def close(self):
        self.socket.close()


def sample_png():
    """A small bar chart as a PNG, base64-encoded in lines, as mail carries it."""
    import base64
    import struct
    import zlib
    width, height = 48, 32
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            bar = (x // 12) * 8 + 4
            row += bytes((53, 132, 228) if y >= height - bar and x % 12 < 9 else (255, 255, 255))
        rows.append(bytes(row))

    def chunk(kind, data):
        body = kind + data
        return struct.pack('>I', len(data)) + body + struct.pack('>I', zlib.crc32(body))
    png = (b'\x89PNG\r\n\x1a\n'
           + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
           + chunk(b'IDAT', zlib.compress(b''.join(rows)))
           + chunk(b'IEND', b''))
    encoded = base64.b64encode(png).decode()
    return '\n'.join(encoded[i:i + 76] for i in range(0, len(encoded), 76))


def sample_mbox(port):
    """An mbox with a thread, HTML mail with a remote image and a deceptive
    link, an attachment, and encoded non-ASCII headers."""
    now = time.time()

    def date(hours_ago):
        return time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(now - hours_ago * 3600))

    def envelope(sender, hours_ago):
        when = time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(now - hours_ago * 3600))
        return f'From {sender} {when}'

    messages = [
        f"""{envelope('alice@example.org', 5)}
From: Alice Martin <alice@example.org>
To: Sam <sam@example.net>
Subject: Lunch plans
Date: {date(5)}
Message-ID: <lunch-1@example.org>
Status: RO
Content-Type: text/plain; charset=utf-8

Shall we meet at noon? The menu is at https://food.example.org/menu.
""",
        f"""{envelope('bob@example.org', 4)}
From: Bob Stone <bob@example.org>
To: Alice Martin <alice@example.org>
Cc: Sam <sam@example.net>
Subject: Re: Lunch plans
Date: {date(4)}
Message-ID: <lunch-2@example.org>
In-Reply-To: <lunch-1@example.org>
References: <lunch-1@example.org>
Content-Type: text/plain; charset=utf-8; format=flowed

Noon works for me. I will book the table by the window, if the place still 
has one free that day.

On {date(5)}, Alice Martin wrote:
> Shall we meet at noon? The menu is at 
> https://food.example.org/menu.
>
>> An older line, quoted twice.
""",
        f"""{envelope('news@bank.example', 3)}
From: Your Bank <news@bank.example>
To: sam@example.net
Subject: Your account statement
Date: {date(3)}
Message-ID: <statement@bank.example>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><p>Dear customer, your statement is ready.</p>
<p><img src="http://127.0.0.1:{port}/pixel.png" alt="tracker" width="40" height="40"></p>
<p><a href="http://127.0.0.1:{port}/phish">https://bank.example.com/login</a></p>
</body></html>
""",
        f"""{envelope('carol@example.org', 2)}
From: Carol White <carol@example.org>
To: sam@example.net
Subject: Quarterly report
Date: {date(2)}
Message-ID: <report@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

The figures are attached.
--b1
Content-Type: image/png; name="chart.png"
Content-Disposition: attachment; filename="chart.png"
Content-Transfer-Encoding: base64

{sample_png()}
--b1--
""",
        f"""{envelope('zoe@example.org', 1)}
From: =?UTF-8?Q?Zo=C3=AB_M=C3=BCller?= <zoe@example.org>
To: sam@example.net
Subject: =?UTF-8?Q?R=C3=A9union_=C3=A0_Z=C3=BCrich?=
Date: {date(1)}
Message-ID: <zurich@example.org>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

On se voit à la gare de Zürich.
""",
    ]
    return '\n'.join(messages)


FOLDER = 'Imported'
# All but the first message arrive unread.
UNREAD = 4


def filled_profile(context, name):
    """A profile whose local folder FOLDER holds the sample mailbox."""
    if not context.args.tern_cli:
        raise Skip('no tern-cli was given (--tern-cli)')
    counter = RequestCounter()
    context.counters.append(counter)
    data_dir = os.path.join(context.session.root, 'profiles', name)
    os.makedirs(data_dir, exist_ok=True)
    mbox = os.path.join(context.session.root, name + '.mbox')
    with open(mbox, 'w', encoding='utf-8') as f:
        f.write(sample_mbox(counter.port))
    result = subprocess.run([context.args.tern_cli, '--data-dir', data_dir, 'import',
                             '--mbox', mbox, '--folder', FOLDER],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=60)
    check(result.returncode == 0, f'tern-cli import failed: {result.stdout}')
    return data_dir, counter


def folder_row(tern):
    return find(tern.window,
                lambda a: has_role(a, pyatspi.ROLE_LIST_ITEM) and a.name == FOLDER,
                f'the folder “{FOLDER}” in the sidebar')


def unread_count_of(row):
    match = re.match(r'(\d+) unread', row.description or '')
    return int(match.group(1)) if match else 0


def select_child(child, what):
    """Selects child alone in its list through AT-SPI, as a screen reader
    user does (selecting adds to the selection of a multiple-choice list)."""
    index = child.getIndexInParent()
    selection = child.parent.querySelection()
    selection.clearSelection()
    check(selection.selectChild(index), f'{what} could not be selected')


def open_folder(tern):
    row = folder_row(tern)
    select_child(row, f'the folder “{FOLDER}”')
    messages = pane(tern, 'Messages')
    find(messages, lambda a: has_role(a, pyatspi.ROLE_LABEL) and a.name == FOLDER,
         f'the message list to show “{FOLDER}”')
    return messages


def message_rows(tern):
    return find_all(pane(tern, 'Messages'), lambda a: has_role(a, pyatspi.ROLE_LIST_ITEM))


def row_says(row, text):
    return any(text in (node.name or '') for node in descendants(row))


def message_row(tern, subject):
    return find(pane(tern, 'Messages'),
                lambda a: has_role(a, pyatspi.ROLE_LIST_ITEM) and row_says(a, subject),
                f'the message “{subject}” in the list')


def open_message(tern, subject):
    row = message_row(tern, subject)
    select_child(row, f'the message “{subject}”')
    reader = pane(tern, 'Reader')
    find(reader, lambda a: has_role(a, pyatspi.ROLE_LABEL) and a.name == subject,
         f'the subject “{subject}” in the reader')
    return reader


def label_in(root, text, what):
    return find(root, lambda a: has_role(a, pyatspi.ROLE_LABEL) and a.name == text, what)


@ui_test('/ui/mailbox/sidebar-lists-folders-with-counts')
def test_sidebar_counts(context):
    data_dir, _ = filled_profile(context, 'sidebar')
    tern = context.start_tern(data_dir=data_dir)
    sidebar = pane(tern, 'Accounts and Folders')

    for label in ('Inbox', 'Sent', 'Drafts', 'On This Computer'):
        find(sidebar, lambda a: a.name == label, f'“{label}” in the sidebar')
    row = folder_row(tern)
    wait_for(lambda: unread_count_of(row) == UNREAD,
             f'“{FOLDER}” to say {UNREAD} unread messages')
    count = label_in(row, str(UNREAD), f'the count {UNREAD} beside “{FOLDER}”')
    check(is_on_screen(count, tern.window), 'the unread count is not on screen')
    context.screenshot('mailbox-sidebar')


@ui_test('/ui/mailbox/reader-shows-headers-and-blocks-remote-content')
def test_reader(context):
    data_dir, counter = filled_profile(context, 'reader')
    tern = context.start_tern(data_dir=data_dir)
    open_folder(tern)

    # Plain text, with non-ASCII headers.
    reader = open_message(tern, 'Réunion à Zürich')
    label_in(reader, 'Zoë Müller', 'the sender “Zoë Müller” in the reader')
    label_in(reader, 'Zoë Müller <zoe@example.org>', 'the From header in the reader')
    find(reader, lambda a: has_role(a, pyatspi.ROLE_LABEL) and 'sam@example.net' in a.name,
         'the To header in the reader')
    context.screenshot('mailbox-plain-message')

    # HTML with a remote image and a link that shows another address.
    reader = open_message(tern, 'Your account statement')
    banner = find(reader, lambda a: (has_role(a, pyatspi.ROLE_LABEL)
                                     and (a.name or '').startswith('Remote content from')
                                     and (a.name or '').endswith('was blocked')),
                  'the note that remote content was blocked')
    wait_for(lambda: is_on_screen(banner, tern.window), 'the note on remote content to show')
    check('127.0.0.1' in banner.name, f'the note does not name the host: “{banner.name}”')
    find(reader, lambda a: has_role(a, pyatspi.ROLE_PUSH_BUTTON) and a.name == 'Show',
         'the “Show” button for remote content')
    # The web view has the time to load what it would load.
    time.sleep(2)
    context.screenshot('mailbox-html-message')
    check(counter.connections == 0,
          f'the reader made {counter.connections} requests to the remote host')

    # The link shows the bank's address but goes elsewhere: following it
    # shows the real target first, and Cancel leaves it unopened.
    # The link is the body's third paragraph (the web content is not in
    # the accessibility tree here): a click where it is drawn.
    body = find(reader, lambda a: a.name == 'Message Body', 'the message body')
    box = body.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
    pyatspi.Registry.generateMouseEvent(box.x + 60, box.y + 107, 'b1c')
    label_in(tern.app, 'Open This Link?', 'the dialog that shows the real target')
    target = f'http://127.0.0.1:{counter.port}/phish'
    find(tern.app, lambda a: has_role(a, pyatspi.ROLE_LABEL) and target in (a.name or ''),
         f'the real target {target} in the dialog')
    context.screenshot('mailbox-deceptive-link')
    cancel = find(tern.app, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                       and (a.name or '').replace('_', '').startswith('Cancel')),
                  'the “Cancel” button of the dialog')
    click(cancel, 'the “Cancel” button')
    time.sleep(1)
    check(counter.connections == 0, 'the link was followed after Cancel')

    # An attachment, listed with its size, and previewed.
    reader = open_message(tern, 'Quarterly report')
    label_in(reader, 'chart.png', 'the attachment “chart.png”')
    find(reader, lambda a: has_role(a, pyatspi.ROLE_PUSH_BUTTON) and a.name == 'Save chart.png',
         'the “Save” button of the attachment')
    context.screenshot('mailbox-attachment')

    # Opening it writes the decoded file, private, into the profile's cache
    # for the app that shows it.
    open_button = find(reader, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                          and a.name == 'Open chart.png'),
                       'the “Open” button of the attachment')
    click(open_button, 'the “Open” button of the attachment')
    import base64
    import glob
    expected = base64.b64decode(sample_png().replace('\n', ''))

    def opened():
        for path in glob.glob(os.path.join(data_dir, 'cache', 'attachments', '*', 'chart.png')):
            with open(path, 'rb') as f:
                if f.read() == expected:
                    return path
        return None
    path = wait_for(opened, 'chart.png to be written for opening')
    mode = stat.S_IMODE(os.stat(path).st_mode)
    check(mode == 0o600, f'{path} has mode {mode:04o}, not 0600')
    check(counter.connections == 0,
          f'the reader made {counter.connections} requests to the remote host')

    # A conversation, one message after the other: the first closed to its
    # header, the newest open.
    reader = open_message(tern, 'Re: Lunch plans')
    for sender in ('Alice Martin', 'Bob Stone'):
        label_in(reader, sender, f'the message from {sender} in the conversation')
    label_in(reader, 'Bob Stone <bob@example.org>', 'the From header of the newest message')
    find(reader, lambda a: has_role(a, pyatspi.ROLE_LABEL) and 'Alice Martin' in a.name
         and 'alice@example.org' in a.name, 'the Cc and To headers of the newest message')
    # The newest message's text, with its quotes drawn as quote blocks.
    time.sleep(2)
    context.screenshot('mailbox-conversation')


def import_mbox(context, data_dir, name, folder, text):
    mbox = os.path.join(context.session.root, name + '.mbox')
    with open(mbox, 'w', encoding='utf-8') as f:
        f.write(text)
    result = subprocess.run([context.args.tern_cli, '--data-dir', data_dir, 'import',
                             '--mbox', mbox, '--folder', folder],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=60)
    check(result.returncode == 0, f'tern-cli import failed: {result.stdout}')


@ui_test('/ui/mailbox/conversation-keeps-replies-with-a-new-subject-and-in-other-folders')
def test_conversation_across_subjects_and_folders(context):
    data_dir, _ = filled_profile(context, 'renamed')
    now = time.time()

    def message(sender, address, subject, hours_ago, message_id, parent, refs, body):
        stamp = now - hours_ago * 3600
        envelope = time.strftime('%a %b %d %H:%M:%S %Y', time.gmtime(stamp))
        date = time.strftime('%a, %d %b %Y %H:%M:%S +0000', time.gmtime(stamp))
        links = ''
        if parent:
            links = f'In-Reply-To: <{parent}>\nReferences: {refs}\n'
        return (f'From {address} {envelope}\nFrom: {sender} <{address}>\n'
                f'To: Alice Martin <alice@example.org>\nSubject: {subject}\nDate: {date}\n'
                f'Message-ID: <{message_id}>\n{links}Content-Type: text/plain; charset=utf-8\n'
                f'\n{body}\n')

    # The sample's lunch thread gets a reply in another folder and, newest,
    # a reply whose subject no longer says lunch; an unrelated message
    # has the thread's first subject.
    import_mbox(context, data_dir, 'renamed-sent', 'Sent',
                message('Sam Reed', 'sam@example.net', 'Re: Lunch plans', 3.5, 'lunch-3@example.net',
                        'lunch-2@example.org', '<lunch-1@example.org> <lunch-2@example.org>',
                        'I will book a table.'))
    import_mbox(context, data_dir, 'renamed-more', FOLDER,
                message('Carol White', 'carol@example.org', 'Moved to Friday', 0.5,
                        'lunch-4@example.org', 'lunch-3@example.net',
                        '<lunch-1@example.org> <lunch-2@example.org> <lunch-3@example.net>',
                        'The restaurant is closed on Thursday, so Friday it is.')
                + '\n'
                + message('Dan Gray', 'dan@example.org', 'Lunch plans', 0.25,
                          'other-lunch@example.org', None, None, 'Anyone for pizza?'))

    tern = context.start_tern(data_dir=data_dir)
    open_folder(tern)
    reader = open_message(tern, 'Moved to Friday')
    for sender in ('Alice Martin', 'Bob Stone', 'Sam Reed', 'Carol White'):
        label_in(reader, sender, f'the message from {sender} in the conversation')
    label_in(reader, 'Carol White <carol@example.org>', 'the From header of the newest message')
    time.sleep(1)
    names = [node.name for node in descendants(reader) if has_role(node, pyatspi.ROLE_LABEL)]
    check('Dan Gray' not in names,
          'the message that only shares the subject is in the conversation')
    # Oldest first.
    order = [name for name in names
             if name in ('Alice Martin', 'Bob Stone', 'Sam Reed', 'Carol White')]
    firsts = [name for i, name in enumerate(order) if name not in order[:i]]
    check(firsts == ['Alice Martin', 'Bob Stone', 'Sam Reed', 'Carol White'],
          f'the conversation is not oldest first: {firsts}')
    # Four web views take a while to draw on a busy machine.
    time.sleep(6)
    context.screenshot('mailbox-conversation-renamed')

    # The local folder “Sent” (the last row of that name: the first is the
    # Sent of all accounts) holds one message of the conversation; reading
    # it shows the whole conversation all the same.
    sent = wait_for(lambda: [a for a in find_all(tern.window, lambda a: (
                                 has_role(a, pyatspi.ROLE_LIST_ITEM) and a.name == 'Sent'))][1:],
                    'the local folder “Sent” in the sidebar')[-1]
    select_child(sent, 'the local folder “Sent”')
    find(pane(tern, 'Messages'), lambda a: has_role(a, pyatspi.ROLE_LABEL) and a.name == 'Sent',
         'the message list to show “Sent”')
    wait_for(lambda: len(message_rows(tern)) == 1, 'Sent to list the one reply it holds')
    # The conversation is titled by its newest message.
    select_child(message_row(tern, 'Re: Lunch plans'), 'the reply in Sent')
    reader = pane(tern, 'Reader')
    label_in(reader, 'Moved to Friday', 'the subject of the conversation in the reader')
    for sender in ('Alice Martin', 'Bob Stone', 'Sam Reed', 'Carol White'):
        label_in(reader, sender, f'the message from {sender} in the conversation read in Sent')
    time.sleep(3)
    context.screenshot('mailbox-conversation-from-sent')


@ui_test('/ui/mailbox/dark-style-keeps-blocking-remote-content')
def test_reader_dark(context):
    data_dir, counter = filled_profile(context, 'dark')
    tern = context.start_tern(data_dir=data_dir,
                              extra_env={'ADW_DEBUG_COLOR_SCHEME': 'prefer-dark'})
    open_folder(tern)
    reader = open_message(tern, 'Réunion à Zürich')
    label_in(reader, 'Zoë Müller <zoe@example.org>', 'the From header in the reader')
    time.sleep(1)
    context.screenshot('mailbox-dark-plain-message')

    reader = open_message(tern, 'Your account statement')
    find(reader, lambda a: has_role(a, pyatspi.ROLE_PUSH_BUTTON) and a.name == 'Show',
         'the “Show” button for remote content')
    time.sleep(2)
    context.screenshot('mailbox-dark-html-message')
    check(counter.connections == 0,
          f'the reader made {counter.connections} requests to the remote host')


@ui_test('/ui/mailbox/mark-read-and-unread-changes-the-count')
def test_read_unread(context):
    data_dir, _ = filled_profile(context, 'read')
    tern = context.start_tern(data_dir=data_dir)
    open_folder(tern)
    row = folder_row(tern)
    wait_for(lambda: unread_count_of(row) == UNREAD, f'{UNREAD} unread messages')

    # Opening a message reads it.
    open_message(tern, 'Quarterly report')
    wait_for(lambda: unread_count_of(row) == UNREAD - 1,
             f'the count to go down to {UNREAD - 1} once the message is open')

    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'u')
    wait_for(lambda: unread_count_of(row) == UNREAD,
             f'Ctrl+U to bring the count back to {UNREAD}')
    context.screenshot('mailbox-marked-unread')

    button = find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                          and a.name == 'Mark as Read'),
                  'the “Mark as Read” button')
    click(button, 'the “Mark as Read” button')
    wait_for(lambda: unread_count_of(row) == UNREAD - 1,
             f'“Mark as Read” to bring the count to {UNREAD - 1}')

    # Flagging shows in the row, and undoing it takes it away.
    message = message_row(tern, 'Quarterly report')
    check(not row_says(message, 'flagged'), 'the message is flagged before Ctrl+D')
    context.press('Control_L', 'd')
    wait_for(lambda: row_says(message_row(tern, 'Quarterly report'), 'flagged'),
             'Ctrl+D to flag the message')
    undo = find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                        and (a.name or '').split(' ')[0] == 'Undo'
                                        and is_on_screen(a, tern.window)),
                'the “Undo” button of the “Flagged” toast')
    click(undo, 'the “Undo” button')
    wait_for(lambda: not row_says(message_row(tern, 'Quarterly report'), 'flagged'),
             '“Undo” to take the flag away')


@ui_test('/ui/mailbox/phone-width-shows-one-pane-at-a-time')
def test_phone(context):
    data_dir, _ = filled_profile(context, 'phone')
    tern = context.start_tern(data_dir=data_dir)
    resize_main_window(context, tern, PHONE_WIDTH)
    sidebar = pane(tern, 'Accounts and Folders')
    wait_for(lambda: extents(sidebar)[2] == PHONE_WIDTH, 'the sidebar to fill the window')

    open_folder(tern)
    messages = pane(tern, 'Messages')
    wait_for(lambda: is_on_screen(messages, tern.window) and extents(messages)[2] == PHONE_WIDTH,
             'the message list to fill the window once a folder is chosen')
    reader = open_message(tern, 'Quarterly report')
    wait_for(lambda: is_on_screen(reader, tern.window) and extents(reader)[2] == PHONE_WIDTH,
             'the reader to fill the window once a message is chosen')
    label_in(reader, 'chart.png', 'the attachment in the narrow reader')
    context.screenshot('mailbox-phone-reader')

    back = wait_for(lambda: next(iter(b for b in back_buttons(reader)
                                      if is_on_screen(b, tern.window)), None),
                    'the reader’s “Back” button')
    click(back, 'the reader’s “Back” button')
    wait_for(lambda: extents(messages)[0] == 0 and extents(messages)[2] == PHONE_WIDTH,
             'the message list to come back')


@ui_test('/ui/mailbox/delete-can-be-undone')
def test_delete_undo(context):
    data_dir, _ = filled_profile(context, 'delete')
    tern = context.start_tern(data_dir=data_dir)
    open_folder(tern)
    subject = 'Your account statement'
    message_row(tern, subject)
    before = len(message_rows(tern))

    open_message(tern, subject)
    button = find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                          and a.name == 'Delete'), 'the “Delete” button')
    click(button, 'the “Delete” button')
    wait_for(lambda: len(message_rows(tern)) == before - 1, 'the message to leave the list')
    # GTK 4.8 names the toast's button after its label twice (“Undo Undo”).
    undo = find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                        and (a.name or '').split(' ')[0] == 'Undo'),
                'the “Undo” button of the toast')
    context.screenshot('mailbox-deleted')
    click(undo, 'the “Undo” button')
    wait_for(lambda: len(message_rows(tern)) == before, 'the message to come back')
    message_row(tern, subject)

    # Deleted for good once its toast goes without an undo.
    open_message(tern, subject)
    tern.wait_for_keyboard_focus()
    context.press('Delete')
    wait_for(lambda: len(message_rows(tern)) == before - 1, 'Delete to take the message away')

    def gone():
        result = subprocess.run([context.args.tern_cli, '--data-dir', data_dir, 'list', FOLDER],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                timeout=30)
        return result.returncode == 0 and subject not in result.stdout and 'Lunch' in result.stdout
    wait_for(gone, 'the message to be deleted from the store after its toast', timeout=30)

    # A second delete takes the first one's place: the first is done, and
    # Undo brings back the second alone.
    count = len(message_rows(tern))
    for delete in ('Quarterly report', 'Réunion à Zürich'):
        open_message(tern, delete)
        click(find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                           and a.name == 'Delete'), 'the “Delete” button'),
              'the “Delete” button')
    wait_for(lambda: len(message_rows(tern)) == count - 2, 'both messages to leave the list')
    # The first toast fades out; the second one's button is the one left.
    time.sleep(1)
    undos = find_all(tern.window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                             and (a.name or '').split(' ')[0] == 'Undo'))
    check(len(undos) == 1, f'{len(undos)} “Undo” buttons are shown, not one')
    click(undos[0], 'the “Undo” button')
    wait_for(lambda: len(message_rows(tern)) == count - 1, 'the second message to come back')
    message_row(tern, 'Réunion à Zürich')
    check(not any(row_says(row, 'Quarterly report') for row in message_rows(tern)),
          'Undo brought back the first deleted message too')
    # The first toast does not come back to offer its Undo again.
    time.sleep(1.5)
    check(not find_all(tern.window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                               and (a.name or '').split(' ')[0] == 'Undo')),
          'the first delete offers its Undo again')


@ui_test('/ui/mailbox/search-finds-a-message')
def test_search(context):
    data_dir, _ = filled_profile(context, 'search')
    tern = context.start_tern(data_dir=data_dir)
    open_folder(tern)
    message_row(tern, 'Lunch plans')

    tern.wait_for_keyboard_focus()
    context.press('Control_L', 'f')
    find(tern.window, lambda a: a.name == 'Search Mail' and is_on_screen(a, tern.window),
         'the search entry')
    for key in 'figures':
        context.press(key)
    messages = pane(tern, 'Messages')
    label_in(messages, 'Search Results', 'the title “Search Results”')
    wait_for(lambda: len(message_rows(tern)) == 1, 'one message to match “figures”')
    message_row(tern, 'Quarterly report')
    context.screenshot('mailbox-search')


@ui_test('/ui/mailbox/conversations-can-be-shown-as-messages')
def test_conversations_toggle(context):
    data_dir, _ = filled_profile(context, 'conversations')
    tern = context.start_tern(data_dir=data_dir)
    open_folder(tern)
    # Five messages, two of them one conversation.
    wait_for(lambda: len(message_rows(tern)) == 4, 'four rows, one a conversation of two')
    toggle = find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_TOGGLE_BUTTON,
                                                   pyatspi.ROLE_PUSH_BUTTON)
                                          and called(a, 'Group by Conversation')
                                          and action_index(a, 'click') is not None),
                  'the “Group by Conversation” button')
    click(toggle, 'the “Group by Conversation” button')
    wait_for(lambda: len(message_rows(tern)) == 5, 'five rows, one a message')
    message_row(tern, 'Lunch plans')
    context.screenshot('mailbox-messages')
    click(toggle, 'the “Group by Conversation” button')
    wait_for(lambda: len(message_rows(tern)) == 4, 'four rows again')


@ui_test('/ui/mailbox/move-to-a-folder-can-be-undone')
def test_move(context):
    data_dir, _ = filled_profile(context, 'move')
    # A second folder on this computer to move to.
    mbox = os.path.join(context.session.root, 'move-archive.mbox')
    with open(mbox, 'w', encoding='utf-8') as f:
        f.write('From old@example.org Mon Jan  5 09:00:00 2026\nFrom: old@example.org\n'
                'Subject: Old news\nDate: Mon, 5 Jan 2026 09:00:00 +0000\n\nOld.\n')
    result = subprocess.run([context.args.tern_cli, '--data-dir', data_dir, 'import',
                             '--mbox', mbox, '--folder', 'Archive'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=60)
    check(result.returncode == 0, f'tern-cli import failed: {result.stdout}')

    tern = context.start_tern(data_dir=data_dir)
    open_folder(tern)
    subject = 'Quarterly report'
    message_row(tern, subject)
    before = len(message_rows(tern))
    open_message(tern, subject)

    more = find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON,
                                                 pyatspi.ROLE_TOGGLE_BUTTON)
                                        and called(a, 'More Actions')
                                        and action_index(a, 'click') is not None),
                'the “More Actions” button')
    click(more, 'the “More Actions” button')
    move_to = find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_MENU_ITEM)
                                           and a.name == 'Move To'
                                           and is_on_screen(a, tern.window)),
                   'the “Move To” menu item')
    click(move_to, 'the “Move To” menu item')
    archive = find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_MENU_ITEM)
                                           and a.name == 'Archive'
                                           and is_on_screen(a, tern.window)),
                   'the folder “Archive” in the menu')
    click(archive, 'the folder “Archive”')
    wait_for(lambda: len(message_rows(tern)) == before - 1, 'the message to leave the folder')
    undo = find(tern.window, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON)
                                        and (a.name or '').split(' ')[0] == 'Undo'
                                        and is_on_screen(a, tern.window)),
                'the “Undo” button of the “Moved” toast')
    context.screenshot('mailbox-moved')
    click(undo, 'the “Undo” button')
    wait_for(lambda: len(message_rows(tern)) == before, 'the message to come back')
    message_row(tern, subject)


# The set-up assistant

def assistant_window(tern):
    # GTK 4.8 gives the assistant window the role “filler” and no “showing”
    # state on AT-SPI: it is found by its name and its “visible” state.
    def search():
        for window in children(tern.app):
            if (window.name == 'Add Account'
                    and window.getState().contains(pyatspi.STATE_VISIBLE)):
                return window
        return None
    try:
        return wait_for(search, 'the “Add Account” assistant to show')
    except TimeoutError:
        diagnose('\n'.join(describe(w) + ' ' + str(w.getState().getStates())
                           for w in children(tern.app)))
        raise


def shown_in(acc, window):
    """Whether acc is visible and drawn inside window, whatever its state.
    A widget that goes away while it is asked is not shown."""
    try:
        if not acc.getState().contains(pyatspi.STATE_VISIBLE):
            return False
        x, y, width, height = extents(acc)
        _, _, window_width, window_height = extents(window)
    except (NotImplementedError, GLib.GError):
        return False
    return (width > 0 and height > 0 and x < window_width and y < window_height
            and x + width > 0 and y + height > 0)


def dump(acc, depth=0, out=None):
    out = [] if out is None else out
    try:
        out.append('  ' * depth + describe(acc))
    except Exception:
        return out
    for child in children(acc):
        dump(child, depth + 1, out)
    return out


def text_field(window, title):
    """The text field of the entry row called title."""
    def search():
        for acc in find_all(window, lambda a: has_role(a, pyatspi.ROLE_TEXT, pyatspi.ROLE_ENTRY,
                                                        pyatspi.ROLE_PASSWORD_TEXT)):
            # Titles are unique in the assistant; a field lower down a long
            # page is scrolled away, and no less there.
            if acc.name == title and acc.getState().contains(pyatspi.STATE_VISIBLE):
                return acc
        return None
    try:
        return wait_for(search, f'the field “{title}”')
    except TimeoutError:
        diagnose('\n'.join(dump(window)))
        raise


def fill(window, title, text):
    field = text_field(window, title)
    editable = field.queryEditableText()
    # GTK 4.8 does not read a field's text back through AT-SPI: what the
    # field took shows in what Tern does with it.
    check(editable.setTextContents(text), f'the field “{title}” did not take the text')


def button_in(root, label, window=None):
    """The button called label under root that is on screen in window (root)."""
    window = window or root
    # GTK 4.8 names a button with a mnemonic by its label twice, the first
    # time with the underscore: “_Next Next”.
    def named(a):
        name = (a.name or '').replace('_', '')
        return name == label or name == f'{label} {label}'
    try:
        return find(root, lambda a: (has_role(a, pyatspi.ROLE_PUSH_BUTTON) and named(a)
                                     and shown_in(a, window)),
                    f'the “{label}” button')
    except TimeoutError:
        diagnose('\n'.join(dump(root)))
        raise


def shown_labels(window):
    return [a.name for a in find_all(window, lambda a: has_role(a, pyatspi.ROLE_LABEL))
            if a.name and shown_in(a, window)]


def wait_for_label(window, predicate, what, timeout=UI_TIMEOUT):
    def search():
        for name in shown_labels(window):
            if predicate(name):
                return name
        return None
    return wait_for(search, what, timeout)


def server_fingerprint(port):
    """The SHA-256 fingerprint of the certificate a test server sends."""
    import hashlib
    import ssl
    pem = ssl.get_server_certificate((os.environ['TERN_TEST_HOST'], int(port)))
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest().upper()
    return ':'.join(digest[i:i + 2] for i in range(0, len(digest), 2))


def start_keyring(context):
    """A real GNOME Keyring on the session's bus, unlocked, for the passwords."""
    daemon = shutil.which('gnome-keyring-daemon')
    if daemon is None:
        raise Skip('gnome-keyring-daemon is missing (package gnome-keyring)')
    process = subprocess.Popen([daemon, '--foreground', '--unlock', '--components=secrets'],
                               env=context.session.env, stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    process.stdin.write(b'tern-ui-keyring')
    process.stdin.close()
    context.keyring = process
    wait_for(lambda: context.session._bus_has_owner('org.freedesktop.secrets'),
             'the keyring to own org.freedesktop.secrets', STARTUP_TIMEOUT)


def stop_keyring(context):
    process = getattr(context, 'keyring', None)
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    context.keyring = None


def servers_or_skip():
    if 'TERN_TEST_SERVERS_DIR' not in os.environ or 'TERN_TEST_SMTPS_PORT' not in os.environ:
        raise Skip('not run under tests/servers/tern-test-servers')


def toggle(window, label):
    """Clicks the radio button, check box or switch called label."""
    try:
        widget = find(window, lambda a: (has_role(a, pyatspi.ROLE_RADIO_BUTTON,
                                                  pyatspi.ROLE_CHECK_BOX,
                                                  pyatspi.ROLE_TOGGLE_BUTTON)
                                         and a.name in (label, f'{label} {label}')),
                      f'the choice “{label}”')
    except TimeoutError:
        diagnose('\n'.join(line for line in dump(window) if label in line or 'radio' in line
                           or 'check' in line or 'toggle' in line))
        raise
    # GTK 4.8 gives check buttons and switches no AT-SPI action: they are
    # clicked with the mouse, where they are drawn.
    box = widget.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
    check(box.width > 0 and box.height > 0, f'the choice “{label}” is not drawn')
    pyatspi.Registry.generateMouseEvent(box.x + box.width // 2, box.y + box.height // 2, 'b1c')
    wait_for(lambda: widget.getState().contains(pyatspi.STATE_CHECKED)
             or widget.getState().contains(pyatspi.STATE_PRESSED),
             f'“{label}” to be chosen')


def fill_manual_settings(context, window, user, password, pop3=False, name=None):
    env = os.environ
    fill(window, 'Name', 'Alice Example')
    fill(window, 'Email Address', user)
    fill(window, 'Password', password)
    if name is None:
        context.screenshot('setup-address')
    click(button_in(window, 'Set Up Manually…'), 'the “Set Up Manually…” button')
    wait_for_label(window, lambda n: n == 'Keep mail on the server and in sync on all your devices',
                   'the plain-language choice between IMAP and POP3')
    if pop3:
        toggle(window, 'Download mail to this computer')
        toggle(window, 'Leave a copy on the server')
        wait_for_label(window, lambda n: n == 'Delete it from the server after',
                       'the number of days the server keeps a copy')
    fill(window, 'Receiving Server Name', env['TERN_TEST_HOSTNAME'])
    fill(window, 'Receiving Port', env['TERN_TEST_POP3S_PORT' if pop3 else 'TERN_TEST_IMAPS_PORT'])
    fill(window, 'Receiving User Name', user)
    fill(window, 'Sending Server Name', env['TERN_TEST_HOSTNAME'])
    fill(window, 'Sending Port', env['TERN_TEST_SMTPS_PORT'])
    fill(window, 'Sending User Name', user)
    context.screenshot(name or 'setup-manual')


def accounts_in(data_dir):
    folder = os.path.join(data_dir, 'config', 'accounts')
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder))


def trust_dialogs(context, tern, fingerprints, name='setup-certificate'):
    """Trusts each certificate Tern shows until none is left; returns how many."""
    shown = 0
    while True:
        def dialog_or_done():
            for window in children(tern.app):
                labels = shown_labels(window)
                if 'Unverified Certificate' in labels:
                    return ('dialog', window, labels)
                if 'Your Account Is Ready' in labels:
                    return ('done', window, labels)
            return None
        kind, window, labels = wait_for(dialog_or_done, 'a certificate dialog or the end',
                                        STARTUP_TIMEOUT)
        if kind == 'done':
            return shown
        shown += 1
        check(any(f in ' '.join(labels).replace('\n', ':') for f in fingerprints),
              f'the dialog does not show the server’s SHA-256 fingerprint: {labels}')
        for needed in ('Issued to', 'Issued by', 'Valid from', 'Valid until', 'SHA-256'):
            check(needed in labels, f'the certificate dialog does not show “{needed}”')
        check(any('could not be verified' in name for name in labels),
              'the dialog does not say why the certificate is refused')
        trust = button_in(window, 'Trust')
        # The dialog is in the tree before it is drawn.
        time.sleep(0.5)
        context.screenshot(f'{name}-{shown}')
        click(trust, 'the “Trust” button')
        check(shown <= 2, 'more certificate dialogs than servers')


@ui_test('/ui/setup/manual-settings-trusts-certificate-and-saves-account')
def test_setup_verified(context):
    servers_or_skip()
    start_keyring(context)
    try:
        tern = context.start_tern()
        reader = pane(tern, 'Reader')
        add = button_in(reader, 'Add an Account', tern.window)
        context.screenshot('setup-welcome')
        click(add, 'the “Add an Account” button')
        window = assistant_window(tern)

        user = os.environ['TERN_TEST_USER1']
        fill_manual_settings(context, window, user, os.environ['TERN_TEST_PASSWORD1'])
        fingerprints = {server_fingerprint(os.environ['TERN_TEST_IMAPS_PORT']),
                        server_fingerprint(os.environ['TERN_TEST_SMTPS_PORT'])}
        check(accounts_in(tern.data_dir) == [], 'an account was saved before the login')
        click(button_in(window, 'Log In'), 'the “Log In” button')

        dialogs = trust_dialogs(context, tern, fingerprints)
        check(dialogs >= 1, 'no certificate dialog for a server the system does not trust')
        context.screenshot('setup-done')

        files = accounts_in(tern.data_dir)
        check(len(files) == 1, f'not one account file after the set-up: {files}')
        with open(files[0]) as f:
            text = f.read()
        check(os.environ['TERN_TEST_PASSWORD1'] not in text, 'the password is in the account file')
        check(user in text, 'the account file does not name the user')
        with open(os.path.join(tern.data_dir, 'config', 'trusted-certificates.ini')) as f:
            pins = f.read().upper()
        check(any(f.replace(':', '') in pins.replace(':', '') for f in fingerprints),
              'the trusted certificate is not pinned')

        # The keyring holds the password: the command line logs in with it.
        account_id = os.path.splitext(os.path.basename(files[0]))[0]
        if context.args.tern_cli:
            result = subprocess.run([context.args.tern_cli, '--data-dir', tern.data_dir,
                                     'account', 'verify', account_id],
                                    env=context.session.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, timeout=60)
            check(result.returncode == 0,
                  f'tern-cli account verify with the stored password failed: {result.stdout}')

        click(button_in(window, 'Done'), 'the “Done” button')
        wait_for(lambda: not any(w.name == 'Add Account' and w.getState().contains(pyatspi.STATE_VISIBLE)
                              for w in children(tern.app)), 'the assistant to close')
        find(reader, lambda a: (has_role(a, pyatspi.ROLE_LABEL) and a.name == 'No Message Selected'
                                and shown_in(a, tern.window)),
             'the reader to leave the welcome page')
        # The new account has no folders until its first sync; the sidebar
        # lists it all the same, by its name: the assistant names it by its
        # address.
        sidebar = pane(tern, 'Accounts and Folders')
        find(sidebar, lambda a: (has_role(a, pyatspi.ROLE_LABEL) and a.name == user
                                 and is_on_screen(a, tern.window)),
             f'the account “{account_id}” ({user}) in the sidebar')
        context.screenshot('setup-main-window')
    finally:
        stop_keyring(context)


@ui_test('/ui/setup/download-to-this-computer-keeps-copies-for-days')
def test_setup_pop3(context):
    servers_or_skip()
    start_keyring(context)
    try:
        tern = context.start_tern()
        open_main_menu_item(tern, 'Add Account…')
        window = assistant_window(tern)
        user = os.environ['TERN_TEST_USER3']
        fill_manual_settings(context, window, user, os.environ['TERN_TEST_PASSWORD3'], pop3=True,
                             name='setup-manual-pop3')
        click(button_in(window, 'Log In'), 'the “Log In” button')
        trust_dialogs(context, tern, {server_fingerprint(os.environ['TERN_TEST_POP3S_PORT']),
                                      server_fingerprint(os.environ['TERN_TEST_SMTPS_PORT'])},
                      'setup-pop3-certificate')
        files = accounts_in(tern.data_dir)
        check(len(files) == 1, f'not one account file after the set-up: {files}')
        with open(files[0]) as f:
            text = f.read()
        for line in ('Protocol=pop3', 'AfterDownload=keep-for-days', 'KeepDays=14'):
            check(line in text, f'the account file lacks “{line}”:\n{text}')
        check(os.environ['TERN_TEST_PASSWORD3'] not in text, 'the password is in the account file')
    finally:
        stop_keyring(context)


@ui_test('/ui/setup/wrong-password-says-so-and-saves-nothing')
def test_setup_wrong_password(context):
    servers_or_skip()
    start_keyring(context)
    try:
        tern = context.start_tern()
        open_main_menu_item(tern, 'Add Account…')
        window = assistant_window(tern)
        fill_manual_settings(context, window, os.environ['TERN_TEST_USER2'], 'not the password',
                             name='setup-manual-wrong-password')
        click(button_in(window, 'Log In'), 'the “Log In” button')

        def error_or_dialog():
            for w in children(tern.app):
                labels = shown_labels(w)
                if 'Unverified Certificate' in labels:
                    click(button_in(w, 'Trust'), 'the “Trust” button')
                    return None
            return next((n for n in shown_labels(window) if n.startswith('Wrong user name')),
                        None)
        wait_for(error_or_dialog, 'the “Wrong user name or password” error', STARTUP_TIMEOUT)
        text_field(window, 'Password')
        context.screenshot('setup-wrong-password')
        check(accounts_in(tern.data_dir) == [], 'an account was saved with a wrong password')

        # The settings typed by hand are kept: the right password is enough.
        fill(window, 'Password', os.environ['TERN_TEST_PASSWORD2'])
        click(button_in(window, 'Next'), 'the “Next” button')
        trust_dialogs(context, tern, {server_fingerprint(os.environ['TERN_TEST_IMAPS_PORT']),
                                      server_fingerprint(os.environ['TERN_TEST_SMTPS_PORT'])},
                      'setup-retry-certificate')
        files = accounts_in(tern.data_dir)
        check(len(files) == 1, f'not one account file with the right password: {files}')
    finally:
        stop_keyring(context)



# The runner

def missing_requirements():
    """Why the tests cannot run on this machine, or None when they can."""
    for module in ('gi', 'pyatspi'):
        if importlib.util.find_spec(module) is None:
            return (f'the Python module {module} is missing for {sys.executable} '
                    '(packages python3-gi, python3-pyatspi)')
    for program, package in (('Xvfb', 'xvfb'), ('xauth', 'xauth'),
                             ('dbus-daemon', 'dbus'), ('dbus-send', 'dbus'),
                             ('import', 'imagemagick')):
        if shutil.which(program) is None:
            return f'{program} is missing (package {package})'
    if not os.access('/usr/libexec/at-spi-bus-launcher', os.X_OK):
        return 'at-spi-bus-launcher is missing (package at-spi2-core)'
    return None


def slug(path):
    return path.strip('/').replace('/', '-')


# Critical warnings of GTK 4.8's accessibility bridge (see
# Context.check_criticals()).
GTK_BRIDGE_CRITICALS = (
    "g_variant_is_object_path: assertion 'string != NULL' failed",
)


def run_test(number, path, function, context):
    context.test_slug = slug(path)
    todo = KNOWN_DEFECTS.get(path)
    directive = f' # TODO {todo}' if todo else ''
    started = time.monotonic()
    failed = True
    try:
        function(context)
        context.check_criticals()
        failed = False
    except Skip as e:
        failed = False
        directive = f' # SKIP {e}'
    except Exception as e:
        tap(f'not ok {number} - {path}{directive}')
        if isinstance(e, (AssertionError, TimeoutError)):
            # What the user would have seen, or not seen, in time.
            diagnose(str(e))
        else:
            diagnose(traceback.format_exc())
        try:
            context.screenshot('failed-' + context.test_slug)
        except Exception as shot_error:  # The report matters more than the picture.
            diagnose(f'no screenshot of the failure: {shot_error}')
    finally:
        context.end_test(failed)
    if not failed:
        tap(f'ok {number} - {path}{directive}')
    diagnose(f'{path} took {time.monotonic() - started:.1f} s')
    return not failed or bool(todo)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--tern', required=True, help='the tern program to test')
    parser.add_argument('--artifacts', required=True, help='the folder for screenshots and logs')
    parser.add_argument('--version', required=True, help='the version the About window shows')
    parser.add_argument('--schemas-dir', help='the folder of the compiled settings schema')
    parser.add_argument('--tern-cli', help='the tern-cli program, to fill profiles with mail')
    parser.add_argument('--only', default='', help='run the tests whose path starts with this')
    parser.add_argument('--exclude', action='append', default=[],
                        help='leave out the tests whose path starts with this')
    parser.add_argument('--keep', action='store_true',
                        help='keep the session folder, with the logs of every process')
    args = parser.parse_args()

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_terminate)

    tests = [(path, fn) for path, fn in TESTS
             if path.startswith(args.only)
             and not any(path.startswith(prefix) for prefix in args.exclude)]
    reason = missing_requirements()
    if reason:
        tap(f'1..0 # SKIP {reason}')
        return 0
    if not os.access(args.tern, os.X_OK):
        tap(f'Bail out! {args.tern} is not a program')
        return 1

    args.tern = os.path.abspath(args.tern)
    args.artifacts = os.path.abspath(args.artifacts)
    os.makedirs(args.artifacts, exist_ok=True)
    for entry in os.listdir(args.artifacts):
        if entry.endswith(('.png', '.log')):
            os.unlink(os.path.join(args.artifacts, entry))

    # Folders that Tern makes must be private because Tern asks for it, not
    # because the umask happens to hide them.
    os.umask(0o022)

    global pyatspi, Atspi, GLib, active_session
    tap(f'1..{len(tests)}')
    all_passed = True
    started = time.monotonic()
    try:
        active_session = ui_session.Session(keep_dir=args.keep)
        with active_session as session:
            if args.keep:
                diagnose(f'session folder: {session.root}')
            # The AT-SPI library finds the accessibility bus through the
            # environment when it is first imported.
            session.export()
            import pyatspi as pyatspi_module
            from gi.repository import Atspi as atspi_module, GLib as glib_module
            pyatspi, Atspi, GLib = pyatspi_module, atspi_module, glib_module
            # Every question goes to the app itself: a cached answer could
            # be one the app has already changed.
            pyatspi.Registry.getDesktop(0).set_cache_mask(Atspi.Cache.NONE)
            GLib.log_set_handler('dbind', GLib.LogLevelFlags.LEVEL_WARNING,
                                 quiet_cache_warning, None)

            context = Context(args, session)
            try:
                for number, (path, function) in enumerate(tests, start=1):
                    all_passed &= run_test(number, path, function, context)
            finally:
                context.close()
    except ui_session.SessionError as e:
        tap(f'Bail out! the test session could not start: {e}')
        return 1
    diagnose(f'all tests took {time.monotonic() - started:.1f} s')
    return 0 if all_passed else 1


if __name__ == '__main__':
    sys.exit(main())
