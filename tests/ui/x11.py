# SPDX-License-Identifier: GPL-3.0-or-later
"""The little of Xlib that Tern's UI tests need, through ctypes.

The test display has no window manager. Where a person would drag a window's
edge and the window manager would resize the window, the tests resize it
here, the way a window manager does; and the keyboard map of the display
turns key names into the key codes that AT-SPI sends.
"""

import ctypes
import ctypes.util

_c_display_p = ctypes.c_void_p
_Window = ctypes.c_ulong
_Atom = ctypes.c_ulong

_SUCCESS = 0
_ANY_PROPERTY_TYPE = 0

_xlib = None


def _lib():
    global _xlib
    if _xlib is not None:
        return _xlib

    lib = ctypes.CDLL(ctypes.util.find_library('X11') or 'libX11.so.6')
    lib.XOpenDisplay.restype = _c_display_p
    lib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    lib.XCloseDisplay.argtypes = [_c_display_p]
    lib.XDefaultRootWindow.restype = _Window
    lib.XDefaultRootWindow.argtypes = [_c_display_p]
    lib.XQueryTree.argtypes = [_c_display_p, _Window, ctypes.POINTER(_Window),
                               ctypes.POINTER(_Window),
                               ctypes.POINTER(ctypes.POINTER(_Window)),
                               ctypes.POINTER(ctypes.c_uint)]
    lib.XInternAtom.restype = _Atom
    lib.XInternAtom.argtypes = [_c_display_p, ctypes.c_char_p, ctypes.c_int]
    lib.XGetWindowProperty.argtypes = [_c_display_p, _Window, _Atom, ctypes.c_long,
                                       ctypes.c_long, ctypes.c_int, _Atom,
                                       ctypes.POINTER(_Atom), ctypes.POINTER(ctypes.c_int),
                                       ctypes.POINTER(ctypes.c_ulong),
                                       ctypes.POINTER(ctypes.c_ulong),
                                       ctypes.POINTER(ctypes.c_void_p)]
    lib.XGetGeometry.argtypes = [_c_display_p, _Window, ctypes.POINTER(_Window),
                                 ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int),
                                 ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint),
                                 ctypes.POINTER(ctypes.c_uint), ctypes.POINTER(ctypes.c_uint)]
    lib.XResizeWindow.argtypes = [_c_display_p, _Window, ctypes.c_uint, ctypes.c_uint]
    lib.XSync.argtypes = [_c_display_p, ctypes.c_int]
    lib.XFree.argtypes = [ctypes.c_void_p]
    lib.XGetInputFocus.argtypes = [_c_display_p, ctypes.POINTER(_Window),
                                   ctypes.POINTER(ctypes.c_int)]
    lib.XStringToKeysym.restype = ctypes.c_ulong
    lib.XStringToKeysym.argtypes = [ctypes.c_char_p]
    lib.XKeysymToKeycode.restype = ctypes.c_ubyte
    lib.XKeysymToKeycode.argtypes = [_c_display_p, ctypes.c_ulong]
    lib.XSetIOErrorHandler.restype = ctypes.c_void_p
    lib.XSetIOErrorHandler.argtypes = [_IO_ERROR_HANDLER]
    if hasattr(lib, 'XSetIOErrorExitHandler'):
        lib.XSetIOErrorExitHandler.restype = None
        lib.XSetIOErrorExitHandler.argtypes = [_c_display_p, _IO_ERROR_EXIT_HANDLER,
                                               ctypes.c_void_p]
    # Xlib's own handler prints a message and ends the process when the
    # display goes away; the tests want to tear down their session instead.
    lib.XSetIOErrorHandler(_quiet_io_error)
    _xlib = lib
    return lib


_IO_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, _c_display_p)
_IO_ERROR_EXIT_HANDLER = ctypes.CFUNCTYPE(None, _c_display_p, ctypes.c_void_p)
_lost_displays = set()


@_IO_ERROR_HANDLER
def _quiet_io_error(dpy):
    _lost_displays.add(dpy)
    return 0


@_IO_ERROR_EXIT_HANDLER
def _keep_running(dpy, user_data):
    # Returning here, rather than exiting, leaves the connection marked as
    # broken: Xlib ignores the requests that follow (libX11 1.7 and later).
    _lost_displays.add(dpy)


class Display:
    """A connection to an X display, closed by close() or a with block."""

    def __init__(self, name):
        self._x = _lib()
        self._dpy = self._x.XOpenDisplay(name.encode())
        if not self._dpy:
            raise OSError(f'cannot open X display {name}')
        if hasattr(self._x, 'XSetIOErrorExitHandler'):
            self._x.XSetIOErrorExitHandler(self._dpy, _keep_running, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self._dpy:
            if self._dpy not in _lost_displays:
                self._x.XCloseDisplay(self._dpy)
            self._dpy = None

    def _check(self):
        """Raises OSError when the display has gone away."""
        if self._dpy is None or self._dpy in _lost_displays:
            raise OSError('the X display has gone away')

    def _property(self, window, name, max_items=1024):
        """The raw items of a window property, or None when it is unset."""
        x = self._x
        atom = x.XInternAtom(self._dpy, name.encode(), 1)
        if not atom:
            return None
        actual_type = _Atom()
        actual_format = ctypes.c_int()
        n_items = ctypes.c_ulong()
        bytes_after = ctypes.c_ulong()
        data = ctypes.c_void_p()
        status = x.XGetWindowProperty(self._dpy, window, atom, 0, max_items, 0,
                                      _ANY_PROPERTY_TYPE, ctypes.byref(actual_type),
                                      ctypes.byref(actual_format), ctypes.byref(n_items),
                                      ctypes.byref(bytes_after), ctypes.byref(data))
        if status != _SUCCESS or not data.value:
            return None
        try:
            if actual_format.value == 8:
                return ctypes.string_at(data, n_items.value)
            if actual_format.value == 32:
                # Format 32 items are longs on the client side, whatever their width.
                array = ctypes.cast(data, ctypes.POINTER(ctypes.c_ulong))
                return [array[i] for i in range(n_items.value)]
            return None
        finally:
            x.XFree(data)

    def _top_level_windows(self):
        x = self._x
        root = x.XDefaultRootWindow(self._dpy)
        root_return = _Window()
        parent_return = _Window()
        children = ctypes.POINTER(_Window)()
        n_children = ctypes.c_uint()
        if not x.XQueryTree(self._dpy, root, ctypes.byref(root_return),
                            ctypes.byref(parent_return), ctypes.byref(children),
                            ctypes.byref(n_children)):
            return []
        try:
            return [children[i] for i in range(n_children.value)]
        finally:
            if children:
                x.XFree(children)

    def geometry(self, window):
        """(x, y, width, height) of a window."""
        root = _Window()
        x, y = ctypes.c_int(), ctypes.c_int()
        width, height = ctypes.c_uint(), ctypes.c_uint()
        border, depth = ctypes.c_uint(), ctypes.c_uint()
        self._x.XGetGeometry(self._dpy, window, ctypes.byref(root), ctypes.byref(x),
                             ctypes.byref(y), ctypes.byref(width), ctypes.byref(height),
                             ctypes.byref(border), ctypes.byref(depth))
        self._check()
        return x.value, y.value, width.value, height.value

    def find_window(self, pid, title):
        """The top-level window of process pid whose title is title, or None."""
        for window in self._top_level_windows():
            pids = self._property(window, '_NET_WM_PID')
            if not pids or pids[0] != pid:
                continue
            name = self._property(window, '_NET_WM_NAME') or self._property(window, 'WM_NAME')
            if name is not None and name.decode('utf-8', 'replace') == title:
                return window
        self._check()
        return None

    def input_focus(self):
        """The window that has the keyboard focus, or 0 for none."""
        window = _Window()
        revert_to = ctypes.c_int()
        self._x.XGetInputFocus(self._dpy, ctypes.byref(window), ctypes.byref(revert_to))
        self._check()
        # 1 is PointerRoot: the focus follows the pointer, no window holds it.
        return window.value if window.value > 1 else 0

    def window_pid(self, window):
        """The process that owns a window, as the window says, or None."""
        pids = self._property(window, '_NET_WM_PID')
        return pids[0] if pids else None

    def resize(self, window, width, height):
        """Resizes a window, as a window manager does when the user drags an edge."""
        self._x.XResizeWindow(self._dpy, window, width, height)
        self._x.XSync(self._dpy, 0)
        self._check()

    def keycode(self, keysym_name):
        """The key code that produces the named key sym on this display."""
        keysym = self._x.XStringToKeysym(keysym_name.encode())
        code = self._x.XKeysymToKeycode(self._dpy, keysym) if keysym else 0
        self._check()
        if not code:
            raise LookupError(f'no key on the test display makes “{keysym_name}”')
        return code
