# SPDX-License-Identifier: GPL-3.0-or-later
"""A private desktop session for Tern's UI tests.

The session is an Xvfb display, a D-Bus session bus with no service
activation, and the accessibility bus that at-spi-bus-launcher starts on it.
Everything lives under one temporary folder (HOME, XDG_RUNTIME_DIR and the
XDG base directories), so a test run never reads or writes the desktop of the
person who runs it, and two runs never meet.

The runner makes itself a child subreaper: a process that one of the daemons
starts (the accessibility bus, at-spi2-registryd) and then loses its parent
is handed to the runner instead of to init, so teardown can find and stop
every process the session started, even after a crash or a timeout.
"""

import ctypes
import ctypes.util
import os
import resource
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

PR_SET_CHILD_SUBREAPER = 36

# A private session bus: no service files, so nothing on the host can be
# activated into the test session behind the test's back.
SESSION_BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

# Variables of the caller's desktop that would let a test process reach it.
HOST_VARIABLES = (
    'DISPLAY', 'WAYLAND_DISPLAY', 'XAUTHORITY', 'DBUS_SESSION_BUS_ADDRESS',
    'AT_SPI_BUS_ADDRESS', 'SESSION_MANAGER', 'XDG_SESSION_TYPE',
    'XDG_CURRENT_DESKTOP', 'DESKTOP_SESSION', 'GNOME_KEYRING_CONTROL',
    'SSH_AUTH_SOCK', 'NO_AT_BRIDGE', 'GTK_A11Y', 'GDK_BACKEND',
    'XDG_CONFIG_DIRS', 'XDG_DATA_DIRS',
    # ...and the settings that would make the app look or read differently
    # from one machine to the next.
    'GTK_THEME', 'GTK_MODULES', 'GTK_IM_MODULE', 'GDK_SCALE', 'GDK_DPI_SCALE',
    'LANGUAGE', 'LANG', 'LC_ALL', 'LC_MESSAGES',
)


class SessionError(Exception):
    """The session could not be started: a fault of the machine, not of Tern."""


def deadline_wait(condition, timeout, interval=0.05, what='a condition'):
    """Polls condition() until it returns a true value, which is returned.

    Raises TimeoutError naming what was awaited when timeout seconds pass.
    """
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= end:
            raise TimeoutError(f'timed out after {timeout:g} s waiting for {what}')
        time.sleep(interval)


def _set_child_subreaper():
    libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_CHILD_SUBREAPER) failed')


def _children_of(pid):
    """The PIDs of the live children of pid, read from /proc."""
    children = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open(f'/proc/{entry}/stat', 'rb') as f:
                stat = f.read().decode('utf-8', 'replace')
        except OSError:
            continue
        # The command name is in parentheses and may itself hold spaces.
        fields = stat[stat.rindex(')') + 2:].split()
        state, ppid = fields[0], int(fields[1])
        if ppid == pid and state != 'Z':
            children.append(int(entry))
    return children


def descendants(pid):
    """The PIDs of every live process below pid."""
    found = []
    todo = [pid]
    while todo:
        for child in _children_of(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def _reap_zombies():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _read_line_from_fd(fd, timeout, what):
    """Reads one line that a starting daemon writes to fd."""
    data = b''
    end = time.monotonic() + timeout
    os.set_blocking(fd, False)
    while not data.endswith(b'\n'):
        try:
            chunk = os.read(fd, 1024)
        except BlockingIOError:
            chunk = None
        if chunk == b'':
            raise SessionError(f'{what} exited before it was ready')
        if chunk:
            data += chunk
            continue
        if time.monotonic() >= end:
            raise SessionError(f'{what} was not ready after {timeout:g} s')
        time.sleep(0.02)
    return data.decode().strip()


class Session:
    """An isolated X11 + D-Bus + AT-SPI session under a temporary folder.

    Use it as a context manager; leaving the block stops every process the
    session started, whatever happened inside it.
    """

    def __init__(self, width=1280, height=800, keep_dir=False):
        self.width = width
        self.height = height
        self.keep_dir = keep_dir
        self.root = None
        self.env = None
        self.display = None
        self.bus_address = None
        self._processes = []
        self._logs = []

    # Setup

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _start(self):
        _set_child_subreaper()

        self.root = tempfile.mkdtemp(prefix='tern-ui-')
        home = self._mkdir('home')
        runtime = self._mkdir('runtime')
        self.env = {k: v for k, v in os.environ.items() if k not in HOST_VARIABLES}
        self.env.update({
            'HOME': home,
            'TMPDIR': self._mkdir('tmp'),
            'XDG_RUNTIME_DIR': runtime,
            'XDG_CONFIG_HOME': self._mkdir('home/.config'),
            'XDG_DATA_HOME': self._mkdir('home/.local/share'),
            'XDG_STATE_HOME': self._mkdir('home/.local/state'),
            'XDG_CACHE_HOME': self._mkdir('home/.cache'),
            'XDG_CONFIG_DIRS': '/etc/xdg',
            'XDG_DATA_DIRS': '/usr/local/share:/usr/share',
            'XDG_SESSION_TYPE': 'x11',
            'GDK_BACKEND': 'x11',
            # The cairo renderer draws the same pixels on every machine that
            # has no GPU, which keeps screenshots readable.
            'GSK_RENDERER': 'cairo',
            'GTK_A11Y': 'atspi',
            # The tests look for the words of the English interface.
            'LC_ALL': 'C.UTF-8',
        })

        self._start_xvfb()
        self._start_session_bus()
        self._start_a11y_bus()

    def _mkdir(self, relative):
        path = os.path.join(self.root, relative)
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    def _log(self, name):
        f = open(os.path.join(self.root, name + '.log'), 'wb')
        self._logs.append(f)
        return f

    def _spawn(self, argv, name, pass_fds=(), env=None, core_dumps=False):
        def allow_core():
            resource.setrlimit(resource.RLIMIT_CORE,
                               (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

        p = subprocess.Popen(argv, env=env or self.env, stdin=subprocess.DEVNULL,
                             stdout=self._log(name), stderr=subprocess.STDOUT,
                             pass_fds=pass_fds, cwd=self.root,
                             preexec_fn=allow_core if core_dumps else None)
        self._processes.append(p)
        return p

    def _start_xvfb(self):
        xvfb = shutil.which('Xvfb')
        xauth = shutil.which('xauth')
        if not xvfb or not xauth:
            raise SessionError('Xvfb and xauth are needed')

        # The display takes a cookie, so that only this session's clients
        # can connect to it. The server accepts every cookie in its file,
        # whatever display number it is filed under, so the cookie can be
        # written before Xvfb has chosen a free number; the clients' entry
        # follows once the number is known.
        cookie = secrets.token_hex(16)
        authority = os.path.join(self.root, 'Xauthority')
        open(authority, 'wb').close()
        subprocess.run([xauth, '-q', '-f', authority, 'add', ':0', '.', cookie],
                       check=True, env=self.env)

        read_fd, write_fd = os.pipe()
        try:
            p = self._spawn([xvfb, '-displayfd', str(write_fd), '-auth', authority,
                             '-nolisten', 'tcp', '-noreset',
                             '-screen', '0', f'{self.width}x{self.height}x24'],
                            'xvfb', pass_fds=(write_fd,))
            os.close(write_fd)
            number = _read_line_from_fd(read_fd, 15, 'Xvfb')
        finally:
            os.close(read_fd)
        self.display = ':' + number
        self.xvfb = p

        subprocess.run([xauth, '-q', '-f', authority, 'add', self.display, '.', cookie],
                       check=True, env=self.env)
        self.env['DISPLAY'] = self.display
        self.env['XAUTHORITY'] = authority

    def _start_session_bus(self):
        dbus_daemon = shutil.which('dbus-daemon')
        if not dbus_daemon:
            raise SessionError('dbus-daemon is needed')

        socket = os.path.join(self.env['XDG_RUNTIME_DIR'], 'bus')
        config = os.path.join(self.root, 'session-bus.conf')
        with open(config, 'w') as f:
            f.write(SESSION_BUS_CONFIG.format(socket=socket))

        read_fd, write_fd = os.pipe()
        try:
            self._spawn([dbus_daemon, '--config-file', config, '--nofork', '--nosyslog',
                         f'--print-address={write_fd}'],
                        'session-bus', pass_fds=(write_fd,))
            os.close(write_fd)
            self.bus_address = _read_line_from_fd(read_fd, 15, 'the session bus')
        finally:
            os.close(read_fd)
        self.env['DBUS_SESSION_BUS_ADDRESS'] = self.bus_address

    def _start_a11y_bus(self):
        launcher = '/usr/libexec/at-spi-bus-launcher'
        if not os.access(launcher, os.X_OK):
            raise SessionError(f'{launcher} is needed (package at-spi2-core)')

        self._spawn([launcher, '--launch-immediately', '--a11y=1', '--screen-reader=0'],
                    'a11y-bus')
        try:
            deadline_wait(lambda: self._bus_has_owner('org.a11y.Bus'), 15,
                          what='at-spi-bus-launcher to own org.a11y.Bus')
        except TimeoutError as e:
            raise SessionError(str(e)) from None

    def _bus_has_owner(self, name):
        result = subprocess.run(
            ['dbus-send', f'--bus={self.bus_address}', '--print-reply=literal',
             '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
             'org.freedesktop.DBus.NameHasOwner', f'string:{name}'],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return result.returncode == 0 and 'true' in result.stdout

    def export(self):
        """Points this process at the session, for the AT-SPI client library.

        Must run before pyatspi is imported, which reads the environment once.
        """
        for name in HOST_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(self.env)

    # Processes

    def spawn(self, argv, name, env_overrides=None, core_dumps=False):
        """Starts a program in the session; its output goes to name.log.

        env_overrides adds variables to the session's environment, and
        removes those it maps to None.  With core_dumps, a crash of the
        program may leave a core file in the session's folder, for
        crash_report().
        """
        env = dict(self.env)
        for key, value in (env_overrides or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return self._spawn(argv, name, env=env, core_dumps=core_dumps)

    def crash_report(self, program):
        """The backtraces gdb reads from the core files in the session's
        folder, or '' when there are none or gdb is missing."""
        gdb = shutil.which('gdb')
        if not gdb:
            return ''
        reports = []
        for name in sorted(os.listdir(self.root)):
            if not name.startswith('core'):
                continue
            path = os.path.join(self.root, name)
            try:
                result = subprocess.run([gdb, '-q', '-batch', '-ex', 'bt 30',
                                         '-ex', 'thread apply all bt 12', program, path],
                                        stdin=subprocess.DEVNULL, capture_output=True,
                                        text=True, timeout=120)
                reports.append(result.stdout)
            except (OSError, subprocess.TimeoutExpired) as e:
                reports.append(f'gdb could not read {path}: {e}')
            os.unlink(path)
        return '\n'.join(reports)

    def log_text(self, name):
        try:
            with open(os.path.join(self.root, name + '.log'), errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    # Teardown

    def close(self):
        """Stops every process the session started, then removes its folder."""
        # The app and the clients first, then the buses, then the display:
        # the reverse of the order they were started in.
        for p in reversed(self._processes):
            if p.poll() is None:
                try:
                    p.terminate()
                except ProcessLookupError:
                    pass
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self._processes = []

        # Whatever the daemons started (the accessibility bus daemon,
        # at-spi2-registryd) has been handed to this process as its
        # subreaper, and is stopped here by its PID.
        end = time.monotonic() + 3
        sig = signal.SIGTERM
        while True:
            _reap_zombies()
            left = descendants(os.getpid())
            if not left:
                break
            if time.monotonic() >= end:
                sig = signal.SIGKILL
            for pid in left:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)

        for f in self._logs:
            f.close()
        self._logs = []
        if self.root and not self.keep_dir:
            shutil.rmtree(self.root, ignore_errors=True)
