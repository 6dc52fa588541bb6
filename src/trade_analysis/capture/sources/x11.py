"""X11 window source: python-xlib for windows, Composite pixmaps (or the screen) for pixels.

Facts this relies on (measured under Xvfb, see DESIGN.md):

* With the Composite extension a redirected window's own pixmap holds its pixels even
  where other windows cover it or where it leaves the screen.
* Right after a window is redirected its covered (and off-screen) parts hold what the
  server put there until the application repaints: its background, or for a window
  with background None (many toolkits) the pixels of whatever covered it, another
  chart's included. So a window is redirected ONCE per source, on its first capture,
  and that first capture waits for the application's own repaint: with the DAMAGE
  extension it watches the window's pixmap, sends the window and its subwindows an
  Expose for their whole area, and takes the pixmap once the application has drawn and
  then stayed quiet for ``settle_quiet`` (a responsive Tk window: ~15 ms), or, for an
  animated chart that never goes quiet, a quarter second after it first drew. An
  application starved of CPU can take far longer than that quiet spell to start
  drawing, which is why an unchanged pixmap alone is no sign that it has repainted.
  ``settle_timeout`` (2 s) bounds the wait for a hung application, whose pixmap is
  then taken as it is; without DAMAGE the capture waits until the pixmap stops changing.
  The wait for the repaint is x11_repaint.py's.
* The connection selects no events: it receives DAMAGE's notifications, read (without
  blocking) during a first capture, and MappingNotify (sent to every client, rare),
  taken with them.
* One X connection per thread: a python-xlib connection shared between threads returned
  corrupt frames. ``X11Source`` refuses concurrent use with a RuntimeError.
* Reading a pixmap with plain GetImage sends every pixel through the socket and
  python-xlib copies the reply several times while receiving it (~1.5 ms of CPU for
  640x400). On a local display the pixmap is read with MIT-SHM ``ShmGetImage``
  (x11_shm.py) into a shared-memory segment instead (one small reply, one memcpy; 0.18x
  the time of GetImage in bench_capture); on the same python-xlib connection, so the
  one-connection-per-thread rule holds. Any failure to set it up or use it falls back
  to GetImage for the rest of the source's life.

Windows are found with or without a window manager: an EWMH manager's
``_NET_CLIENT_LIST`` when one is running, else a walk of the root's children, looking
inside window-manager frames for the client window (the one with ``WM_STATE`` or a title).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import psutil
from Xlib import X, Xatom
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.ext import composite
from Xlib.protocol import event as xevent
from Xlib.protocol import request

from trade_analysis.capture.frame import CaptureMethod, Frame, WindowInfo
from trade_analysis.capture.sources.base import CaptureFailed, CaptureUnavailable, WindowGone
from trade_analysis.capture.sources.x11_repaint import GONE_ERRORS, RepaintWaiter, damage_event_code
from trade_analysis.capture.sources.x11_shm import SharedImage, ShmUnavailable
from trade_analysis.domain import utcnow

if TYPE_CHECKING:
    import mss

logger = logging.getLogger(__name__)

# How long bring_to_front waits for a window manager to activate the window.
ACTIVATION_WAIT = 0.25
# Errors meaning the window itself is destroyed (BadMatch means unmapped: still redirected).
_DESTROYED_ERRORS: tuple[type[Exception], ...] = (xerror.BadWindow, xerror.BadDrawable)
_ALL_PLANES = 0xFFFFFFFF
_MAX_TREE_DEPTH = 4  # WM frames nest the client 1-3 levels deep
_TITLE_LONGS = 1024  # a capture reads up to 4 KiB of title in its one property request


def _own_core_errors(display: Display) -> None:
    """Give this connection its own error table, with the core errors at their codes.

    python-xlib (0.33) keeps one table for every connection, and its RandR and DAMAGE
    modules register their errors at raw codes 0-2 rather than after the extension's first
    error code: over BadRequest and BadValue. A BadValue then fails to parse, even for a
    request whose errors are caught, and leaves the connection waiting for good.
    """
    protocol = display.display
    first_extension_error = 128  # codes below are the core protocol's
    table = {
        code: kind for code, kind in protocol.error_classes.items() if code >= first_extension_error
    }
    protocol.error_classes = {**table, **xerror.xerror_class}


class X11Source:
    """A WindowSource on one X display, for use by one thread at a time."""

    def __init__(
        self,
        display: str | None = None,
        *,
        use_composite: bool = True,
        use_shm: bool = True,
        settle_timeout: float = 2.0,
        settle_quiet: float = 0.06,
    ) -> None:
        try:
            self._display = Display(display)
        except (xerror.DisplayError, ConnectionError, OSError) as exc:
            raise CaptureUnavailable(f"cannot open X display {display!r}: {exc}") from exc
        self.display_name: str = self._display.get_display_name()
        _own_core_errors(self._display)
        self._display.set_error_handler(self._on_async_error)
        self._root = self._display.screen().root
        self._lock = threading.Lock()
        self._closed = False
        self._atoms: dict[str, int] = {}
        self._redirected: set[int] = set()
        self._screen_only: set[int] = set()  # windows whose redirect was refused
        self._grabber: mss.MSS | None = None
        # MIT-SHM for pixmap reads: set up on the first composite capture; False when
        # unavailable (then GetImage is used).
        self._shm: SharedImage | bool | None = None if use_shm else False
        self._settle_timeout = settle_timeout
        self._settle_quiet = settle_quiet
        self._lsb_first = self._display.display.info.image_byte_order == X.LSBFirst
        self._bpp_by_depth = {
            fmt.depth: fmt.bits_per_pixel for fmt in self._display.display.info.pixmap_formats
        }
        self.composite = use_composite and self._probe_composite()
        self._repaint = RepaintWaiter(
            self._display,
            damage_event_code(self._display) if self.composite else None,
            settle_timeout=settle_timeout,
            settle_quiet=settle_quiet,
        )
        self._has_res = self._display.has_extension("X-Resource")
        logger.info(
            "X11 source on %s: composite=%s, X-Resource=%s",
            self.display_name,
            self.composite,
            self._has_res,
        )

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> X11Source:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Unredirect every window this source redirected, close the grabber and connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                for hwnd in sorted(self._redirected):
                    window = self._display.create_resource_object("window", hwnd)
                    window.composite_unredirect_window(
                        composite.RedirectAutomatic, onerror=xerror.CatchError(*GONE_ERRORS)
                    )
                self._redirected.clear()
                if isinstance(self._shm, SharedImage):
                    self._shm.detach()
                self._display.sync()
            except xerror.ConnectionClosedError:
                logger.debug("X connection to %s already closed", self.display_name)
            finally:
                if isinstance(self._shm, SharedImage):
                    self._shm.unmap()  # detached above, or the connection is gone
                self._shm = False
                if self._grabber is not None:
                    self._grabber.close()
                    self._grabber = None
                self._display.close()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(
                "X11Source used from two threads at once: open one source per thread"
            )
        try:
            if self._closed:
                raise RuntimeError("X11Source is closed")
            yield
        except xerror.ConnectionClosedError as exc:
            raise CaptureUnavailable(f"X connection to {self.display_name} closed: {exc}") from exc
        finally:
            self._lock.release()

    # -- listing -----------------------------------------------------------------------

    def list_windows(self) -> list[WindowInfo]:
        """Viewable, titled top-level windows, bottom of the stack first."""
        with self._exclusive():
            clients = self._ewmh_clients()
            if clients is None:
                clients = list(self._walk_clients())
            infos: list[WindowInfo] = []
            for window in clients:
                try:
                    info = self._describe(window)
                except GONE_ERRORS:  # closed while we looked at it
                    continue
                if info is not None:
                    infos.append(info)
            return infos

    def _ewmh_clients(self) -> list[Any] | None:
        """``_NET_CLIENT_LIST(_STACKING)`` when an EWMH window manager is running."""
        if self._wm_check() is None:
            return None
        for name in ("_NET_CLIENT_LIST_STACKING", "_NET_CLIENT_LIST"):
            prop = self._root.get_full_property(self._atom(name), Xatom.WINDOW)
            if prop is not None:
                return [self._display.create_resource_object("window", wid) for wid in prop.value]
        return None

    def _wm_check(self) -> int | None:
        """The EWMH supporting window, if a live EWMH-compliant manager owns it."""
        atom = self._atom("_NET_SUPPORTING_WM_CHECK")
        prop = self._root.get_full_property(atom, Xatom.WINDOW)
        if prop is None or not len(prop.value):
            return None
        check_id = int(prop.value[0])
        check = self._display.create_resource_object("window", check_id)
        try:
            own = check.get_full_property(atom, Xatom.WINDOW)
        except GONE_ERRORS:  # stale property left by a manager that exited
            return None
        if own is None or not len(own.value) or int(own.value[0]) != check_id:
            return None
        return check_id

    def _walk_clients(self) -> Iterator[Any]:
        """Client windows under the root: top-level ones, or the client inside a WM frame."""
        for child in self._root.query_tree().children:
            try:
                attrs = child.get_attributes()
                if attrs.map_state != X.IsViewable or attrs.override_redirect:
                    continue
                client = self._find_client(child, depth=0)
            except GONE_ERRORS:
                continue
            if client is not None:
                yield client

    def _find_client(self, window: Any, depth: int) -> Any | None:
        if self._has_wm_state(window) or self._title(window):
            return window
        if depth >= _MAX_TREE_DEPTH:
            return None
        for child in window.query_tree().children:
            found = self._find_client(child, depth + 1)
            if found is not None:
                return found
        return None

    def _describe(self, window: Any) -> WindowInfo | None:
        attrs = window.get_attributes()
        if attrs.map_state != X.IsViewable or attrs.override_redirect:
            return None
        title = self._title(window)
        if not title:
            return None
        geometry = window.get_geometry()
        origin = self._root.translate_coords(window, 0, 0)
        return WindowInfo(
            hwnd=int(window.id),
            title=title,
            process=self._process_name(window),
            x=int(origin.x),
            y=int(origin.y),
            width=int(geometry.width),
            height=int(geometry.height),
        )

    # -- properties --------------------------------------------------------------------

    def _atom(self, name: str) -> int:
        atom = self._atoms.get(name)
        if atom is None:
            atom = int(self._display.intern_atom(name))
            self._atoms[name] = atom
        return atom

    def _has_wm_state(self, window: Any) -> bool:
        atom = self._atom("WM_STATE")
        return window.get_full_property(atom, X.AnyPropertyType) is not None

    def _title(self, window: Any) -> str:
        """UTF-8 ``_NET_WM_NAME``, else ``WM_NAME`` (STRING is Latin-1)."""
        utf8 = self._atom("UTF8_STRING")
        prop = window.get_full_property(self._atom("_NET_WM_NAME"), utf8)
        if prop is None or not prop.value:
            prop = window.get_full_property(Xatom.WM_NAME, X.AnyPropertyType)
        if prop is None or prop.format != 8:
            return ""
        return self._decode_title(prop.value, prop.property_type)

    def _decode_title(self, value: Any, property_type: int) -> str:
        raw: bytes = value if isinstance(value, bytes) else bytes(value)
        if property_type == self._atom("UTF8_STRING"):
            return raw.decode("utf-8", errors="replace").strip("\x00")
        # STRING is Latin-1; COMPOUND_TEXT is close enough to it for titles in practice.
        return raw.decode("latin-1").strip("\x00")

    def _title_requests(self, hwnd: int) -> tuple[Any, Any]:
        """``_NET_WM_NAME`` and ``WM_NAME`` requested (not yet read) for ``_title_from``."""
        protocol = self._display.display
        return tuple(  # type: ignore[return-value]
            request.GetProperty(
                display=protocol,
                defer=True,
                delete=False,
                window=hwnd,
                property=name,
                type=kind,
                long_offset=0,
                long_length=_TITLE_LONGS,
            )
            for name, kind in (
                (self._atom("_NET_WM_NAME"), self._atom("UTF8_STRING")),
                (Xatom.WM_NAME, X.AnyPropertyType),
            )
        )

    def _title_from(self, window: Any, net_wm_name: Any, wm_name: Any) -> str:
        """``_title`` from the replies to ``_title_requests``, read in full if need be."""
        for reply in (net_wm_name, wm_name):
            reply.reply()
            if reply.bytes_after:  # longer than we asked for, or not UTF8_STRING
                return self._title(window)
        for reply in (net_wm_name, wm_name):
            if reply.property_type:
                fmt, value = reply.value
                if reply is wm_name or value:
                    return self._decode_title(value, reply.property_type) if fmt == 8 else ""
        return ""

    def _pid(self, window: Any) -> int | None:
        prop = window.get_full_property(self._atom("_NET_WM_PID"), Xatom.CARDINAL)
        if prop is not None and len(prop.value):
            return int(prop.value[0])
        if not self._has_res:
            return None
        # X-Resource: the server knows the pid of a local client owning the window.
        from Xlib.ext import res

        reply = self._display.res_query_client_ids(
            [{"client": int(window.id), "mask": res.LocalClientPIDMask}]
        )
        for client_id in reply.ids:
            if client_id.spec.mask & res.LocalClientPIDMask and len(client_id.value):
                return int(client_id.value[0])
        return None

    def _process_name(self, window: Any) -> str | None:
        pid = self._pid(window)
        if pid is None:
            return None
        try:
            return str(psutil.Process(pid).name())
        except (psutil.Error, OSError):  # exited, another host's pid, or not ours to see
            return None

    # -- capture -----------------------------------------------------------------------

    def capture(self, hwnd: int) -> Frame:
        with self._exclusive():
            window = self._display.create_resource_object("window", hwnd)
            try:
                # One round trip for the attributes, the geometry and the title: the
                # requests are sent together and their replies read in turn (python-xlib
                # otherwise waits for each reply before sending the next request).
                protocol = self._display.display
                attrs = request.GetWindowAttributes(display=protocol, defer=True, window=hwnd)
                geometry = request.GetGeometry(display=protocol, defer=True, drawable=hwnd)
                titles = self._title_requests(hwnd)
                attrs.reply()
                if attrs.map_state != X.IsViewable:
                    raise WindowGone(hwnd, "not viewable (unmapped or minimised)")
                geometry.reply()
                method: CaptureMethod
                if self.composite and hwnd not in self._screen_only:
                    pixels = self._grab_composite(window, geometry)
                    method = "composite" if pixels is not None else "screen"
                else:
                    pixels, method = None, "screen"
                if pixels is None:
                    pixels = self._grab_screen(window, geometry)
                title = self._title_from(window, *titles)
            except GONE_ERRORS as exc:
                if isinstance(exc, _DESTROYED_ERRORS):
                    self._forget(hwnd)
                raise WindowGone(hwnd, f"closed or not viewable ({type(exc).__name__})") from exc
            return Frame(hwnd=hwnd, title=title, pixels=pixels, captured_at=utcnow(), method=method)

    def _grab_composite(self, window: Any, geometry: Any) -> np.ndarray | None:
        """The window's own pixmap; None when this window cannot be redirected."""
        hwnd = int(window.id)
        if self._bpp_by_depth.get(int(geometry.depth)) != 32:
            logger.info("window %#x has depth %s: capturing the screen", hwnd, geometry.depth)
            self._screen_only.add(hwnd)
            return None
        if hwnd not in self._redirected:
            if not self._redirect(window):
                return None
            return self._settled_pixmap(window, geometry)
        return self._read_pixmap(window, geometry)

    def _forget(self, hwnd: int) -> None:
        """A destroyed window: the X server may give its id to a new window (of a restarted
        application), which is not redirected and must not be unredirected on close."""
        self._redirected.discard(hwnd)
        self._screen_only.discard(hwnd)

    def _redirect(self, window: Any) -> bool:
        hwnd = int(window.id)
        catcher = xerror.CatchError(xerror.BadAccess, xerror.BadMatch, *GONE_ERRORS)
        window.composite_redirect_window(composite.RedirectAutomatic, onerror=catcher)
        self._display.sync()
        error = catcher.get_error()
        if error is None:
            self._redirected.add(hwnd)
            logger.debug("redirected window %#x", hwnd)
            return True
        if isinstance(error, xerror.BadWindow):
            raise WindowGone(hwnd, "closed")
        logger.warning(
            "window %#x refused Composite redirect (%s): capturing the screen", hwnd, error
        )
        self._screen_only.add(hwnd)
        return False

    def _settled_pixmap(self, window: Any, geometry: Any) -> np.ndarray:
        """First capture after redirect: the pixmap once the application has repainted it."""
        drew = self._repaint.wait(window)
        if drew is None:
            return self._unchanged_pixmap(window, geometry)
        if not drew:
            logger.debug(
                "window %#x drew nothing within %.1f s of being redirected: capturing it as is",
                int(window.id),
                self._settle_timeout,
            )
        return self._read_pixmap(window, geometry)

    def _unchanged_pixmap(self, window: Any, geometry: Any) -> np.ndarray:
        """Without DAMAGE: the pixmap once it has not changed for ``settle_quiet``."""
        deadline = time.monotonic() + self._settle_timeout
        pixels = self._read_pixmap(window, geometry)
        stable_since = time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.01)
            again = self._read_pixmap(window, geometry)
            if not np.array_equal(again, pixels):
                pixels, stable_since = again, time.monotonic()
            elif time.monotonic() - stable_since >= self._settle_quiet:
                break
        return pixels

    def _read_pixmap(self, window: Any, geometry: Any) -> np.ndarray:
        border = int(geometry.border_width)
        width, height = int(geometry.width), int(geometry.height)
        full_width, full_height = width + 2 * border, height + 2 * border
        pixmap = window.composite_name_window_pixmap()
        try:
            bgrx = self._shm_image(pixmap, full_width, full_height)
            if bgrx is None:
                image = pixmap.get_image(0, 0, full_width, full_height, X.ZPixmap, _ALL_PLANES)
                bgrx = np.frombuffer(image.data, dtype=np.uint8).reshape(full_height, full_width, 4)
        finally:
            pixmap.free(onerror=xerror.CatchError(xerror.BadPixmap))
            self._display.flush()  # free it now, not with whatever request comes next
        return self._bgr_view(bgrx[border : border + height, border : border + width])

    def _shm_image(self, pixmap: Any, width: int, height: int) -> np.ndarray | None:
        """The pixmap read through shared memory; None when MIT-SHM cannot be used."""
        if self._shm is False:
            return None
        try:
            if self._shm is None:
                self._shm = SharedImage(self._display)
            assert isinstance(self._shm, SharedImage)
            return self._shm.get_image(pixmap, width, height)
        except GONE_ERRORS:
            raise  # the window, not shared memory: the caller reports it gone
        except (ShmUnavailable, xerror.XError, OSError, AttributeError) as exc:
            logger.info(
                "MIT-SHM not used on %s (%s): reading pixmaps with GetImage", self.display_name, exc
            )
            if isinstance(self._shm, SharedImage):
                self._shm.detach()
            self._shm = False
            return None

    def _bgr_view(self, pixels32: np.ndarray) -> np.ndarray:
        if self._lsb_first:
            return pixels32[:, :, :3]  # B G R X in memory
        return np.ascontiguousarray(pixels32[:, :, 3:0:-1])  # X R G B in memory

    def _grab_screen(self, window: Any, geometry: Any) -> np.ndarray:
        """The window's rectangle of the screen; parts outside the screen stay black."""
        width, height = int(geometry.width), int(geometry.height)
        origin = self._root.translate_coords(window, 0, 0)
        left, top = int(origin.x), int(origin.y)
        screen = self._display.screen()
        x0, y0 = max(left, 0), max(top, 0)
        x1 = min(left + width, int(screen.width_in_pixels))
        y1 = min(top + height, int(screen.height_in_pixels))
        if x1 <= x0 or y1 <= y0:
            # Entirely off-screen: nothing to see without Composite.
            return np.zeros((height, width, 3), dtype=np.uint8)
        shot = self._screen_grabber().grab(
            {"left": x0, "top": y0, "width": x1 - x0, "height": y1 - y0}
        )
        # ``raw`` is the screenshot's own new buffer: view it (``bgra`` would copy it),
        # and keep BGRX rows whole (a 4-byte pixel copy is a memcpy, a 3-byte one is not).
        bgra = np.frombuffer(shot.raw, dtype=np.uint8).reshape(y1 - y0, x1 - x0, 4)
        if (x1 - x0, y1 - y0) == (width, height):
            return bgra[:, :, :3]
        pixels = np.zeros((height, width, 4), dtype=np.uint8)
        pixels[y0 - top : y1 - top, x0 - left : x1 - left] = bgra
        return pixels[:, :, :3]

    def _screen_grabber(self) -> mss.MSS:
        if self._grabber is None:
            import mss

            try:
                self._grabber = mss.MSS(display=self.display_name)
            except mss.ScreenShotError as exc:
                raise CaptureFailed(
                    f"cannot grab the screen of {self.display_name}: {exc}"
                ) from exc
        return self._grabber

    def _probe_composite(self) -> bool:
        if not self._display.has_extension("Composite"):
            logger.warning("X server has no Composite extension: covered windows capture wrong")
            return False
        version = self._display.composite_query_version()
        # NameWindowPixmap needs Composite 0.2.
        if (int(version.major_version), int(version.minor_version)) < (0, 2):
            logger.warning(
                "Composite %s.%s is too old", version.major_version, version.minor_version
            )
            return False
        return True

    # -- focus -------------------------------------------------------------------------

    def bring_to_front(self, hwnd: int) -> int | None:
        """``_NET_ACTIVE_WINDOW`` through an EWMH manager; else map, raise and focus directly.

        Returns the window that had the focus before, for `give_focus_back`. Raises
        WindowGone only when the window no longer exists: a minimised window is
        brought back (by the manager, or mapped again when there is none).
        """
        with self._exclusive():
            window = self._display.create_resource_object("window", hwnd)
            try:
                viewable = window.get_attributes().map_state == X.IsViewable  # BadWindow: gone
                previous = self._active_window()
                if self._wm_supports("_NET_ACTIVE_WINDOW"):
                    # The manager also restores a minimised (unmapped) window.
                    self._request_activation(window)
                    self._wait_active(hwnd)
                else:
                    top = self._top_level(window)
                    if not viewable:
                        top.map()
                    top.configure(stack_mode=X.Above)
                    if viewable:  # focus on an unmapped window is a BadMatch
                        window.set_input_focus(X.RevertToParent, X.CurrentTime)
                self._display.sync()
            except GONE_ERRORS as exc:
                raise WindowGone(hwnd, f"closed ({type(exc).__name__})") from exc
            return previous if previous != hwnd else None

    def give_focus_back(self, hwnd: int) -> None:
        """Activate ``hwnd`` again (after a grab), as the original did; a gone window is ignored."""
        with self._exclusive():
            window = self._display.create_resource_object("window", hwnd)
            try:
                if self._wm_supports("_NET_ACTIVE_WINDOW"):
                    self._request_activation(window)
                else:
                    self._top_level(window).configure(stack_mode=X.Above)
                    window.set_input_focus(X.RevertToParent, X.CurrentTime)
                self._display.sync()
            except (*GONE_ERRORS, xerror.BadMatch) as exc:
                logger.debug("focus back to %#x refused: %s", hwnd, exc)

    def _active_window(self) -> int | None:
        """The client window with the focus: the manager's word, else the X input focus."""
        if self._wm_check() is not None:
            prop = self._root.get_full_property(self._atom("_NET_ACTIVE_WINDOW"), Xatom.WINDOW)
            if prop is not None and len(prop.value) and int(prop.value[0]):
                return int(prop.value[0])
        focus = self._display.get_input_focus().focus
        if isinstance(focus, int) or focus is None:  # None, PointerRoot
            return None
        return int(focus.id) if int(focus.id) != int(self._root.id) else None

    def _wait_active(self, hwnd: int) -> None:
        """Until the manager has made ``hwnd`` active (it does so asynchronously), briefly:
        the grab that follows is meant to see the window in front."""
        deadline = time.monotonic() + ACTIVATION_WAIT
        while self._active_window() != hwnd and time.monotonic() < deadline:
            time.sleep(0.005)

    def _request_activation(self, window: Any) -> None:
        message = xevent.ClientMessage(
            window=window,
            client_type=self._atom("_NET_ACTIVE_WINDOW"),
            # source indication 2 = pager: managers honour it without
            # focus-stealing prevention.
            data=(32, [2, X.CurrentTime, 0, 0, 0]),
        )
        self._root.send_event(
            message, event_mask=X.SubstructureRedirectMask | X.SubstructureNotifyMask
        )

    def _wm_supports(self, name: str) -> bool:
        if self._wm_check() is None:
            return False
        prop = self._root.get_full_property(self._atom("_NET_SUPPORTED"), Xatom.ATOM)
        return prop is not None and self._atom(name) in prop.value

    def _top_level(self, window: Any) -> Any:
        """The ancestor that is a child of the root (the WM frame, or the window itself)."""
        root_id = int(self._root.id)
        while True:
            parent = window.query_tree().parent
            if parent is None or int(parent.id) == root_id:
                return window
            window = parent

    # -- errors ------------------------------------------------------------------------

    def _on_async_error(self, error: Exception, request: object = None) -> None:
        logger.debug("X error on %s (no handler): %s", self.display_name, error)
