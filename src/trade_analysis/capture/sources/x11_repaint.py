"""The first capture of a newly redirected X window: waiting for its application's repaint.

Right after a window is redirected its covered (and off-screen) parts hold what the
server put there until the application repaints (see x11.py). With the DAMAGE
extension the wait watches the window's pixmap, sends the window and its subwindows
an Expose for their whole area, and ends once the application has drawn and then
stayed quiet for ``settle_quiet``, or, for an animated chart that never goes quiet, a
quarter second after it first drew; ``settle_timeout`` bounds it for a hung
application. The connection selects no events: DAMAGE's notifications (and a rare
MappingNotify) are read here without blocking, on the source's own connection.
"""

from __future__ import annotations

import logging
import select
import time
from collections import deque
from typing import Any

from Xlib import X
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.ext import damage
from Xlib.protocol import event as xevent

logger = logging.getLogger(__name__)

# Errors meaning "this window (or the pixmap named from it) no longer exists / is unmapped".
GONE_ERRORS: tuple[type[Exception], ...] = (
    xerror.BadWindow,
    xerror.BadDrawable,
    xerror.BadMatch,
    xerror.BadPixmap,
)
_MAX_REPAINT_WINDOWS = 256  # subwindows sent an Expose on a first capture
# A window still drawing this long after its first drawing since the Expose is animating:
# its repaint (~15 ms for a Tk window) is done, waiting for quiet would wait for nothing.
_SETTLE_BUSY = 0.25


def damage_event_code(display: Display) -> int | None:
    """The DAMAGE extension's DamageNotify event code on this connection; None without it."""
    extension = display.query_extension(damage.extname)
    if extension is None or not display.has_extension(damage.extname):
        logger.warning(
            "X server has no DAMAGE extension: a first capture waits for an unchanged pixmap"
        )
        return None
    display.damage_query_version()  # required before any other DAMAGE request
    return int(extension.first_event + damage.DamageNotifyCode)


class RepaintWaiter:
    """Waits for a window's application to repaint it, on one X connection (the source's)."""

    def __init__(
        self,
        display: Display,
        damage_event: int | None,
        *,
        settle_timeout: float,
        settle_quiet: float,
    ) -> None:
        self._display = display
        # The DAMAGE extension's DamageNotify event code; None without it (or Composite).
        self._damage_event = damage_event
        self._settle_timeout = settle_timeout
        self._settle_quiet = settle_quiet

    def wait(self, window: Any) -> bool | None:
        """Expose the window and wait for its repaint: whether it drew anything before
        ``settle_timeout``; None when DAMAGE cannot watch it (the caller waits otherwise)."""
        watch = self._watch_damage(window)
        if watch is None:
            return None
        try:
            self._request_repaint(window)
            return self._wait_repainted(watch)
        finally:
            self._forget_damage(watch)

    def _watch_damage(self, window: Any) -> int | None:
        """A DAMAGE object on the window (NonEmpty: one notification until subtracted)."""
        if self._damage_event is None:
            return None
        protocol = self._display.display
        watch = int(protocol.allocate_resource_id())
        catcher = xerror.CatchError()
        damage.DamageCreate(
            display=protocol,
            onerror=catcher,
            opcode=protocol.get_extension_major(damage.extname),
            damage=watch,
            drawable=window,
            level=damage.DamageReportNonEmpty,
        )
        self._display.sync()
        error = catcher.get_error()
        if error is None:
            # The server reports a new object's whole window as damaged: not the
            # application's drawing.
            self._subtract_damage(watch)
            self._display.sync()
            self._take_events(watch)
            return watch
        protocol.free_resource_id(watch)
        if isinstance(error, GONE_ERRORS):
            raise error  # capture() tells it as WindowGone, and forgets a destroyed window
        logger.debug("no DAMAGE object for window %#x (%s)", int(window.id), error)
        return None

    def _request_repaint(self, window: Any) -> None:
        """Send the window and its viewable subwindows an Expose for their whole area.

        A synthetic Expose rather than ClearArea: ClearArea paints the background of a
        window that has one (a blank window until the application draws, and drawing
        of our own in the pixmap) and exposes none of the subwindows covering it.
        """
        pending, sent = deque([window]), 0
        while pending and sent < _MAX_REPAINT_WINDOWS:
            target = pending.popleft()  # breadth first: the cap spares the upper windows
            try:
                attrs = target.get_attributes()
                if attrs.map_state != X.IsViewable or attrs.win_class != X.InputOutput:
                    continue
                geometry = target.get_geometry()
                expose = xevent.Expose(
                    window=target,
                    x=0,
                    y=0,
                    width=int(geometry.width),
                    height=int(geometry.height),
                    count=0,
                )
                target.send_event(expose, event_mask=X.ExposureMask)
                sent += 1
                pending += target.query_tree().children
            except GONE_ERRORS:
                if target is window:
                    raise
        self._display.flush()

    def _wait_repainted(self, watch: int) -> bool:
        """Until drawing was reported and then none for ``settle_quiet`` (or, for a window
        that never stops drawing, ``_SETTLE_BUSY`` after its first drawing); False when none
        was reported before ``settle_timeout``."""
        deadline = time.monotonic() + self._settle_timeout
        first_drawn_at: float | None = None
        drawn_at: float | None = None
        while True:
            if self._damage_seen(watch):
                drawn_at = time.monotonic()
                first_drawn_at = first_drawn_at or drawn_at
            now = time.monotonic()
            if drawn_at is not None and now - drawn_at >= self._settle_quiet:
                return True
            if first_drawn_at is not None and now - first_drawn_at >= _SETTLE_BUSY:
                return True  # an animated chart: it has answered the Expose by now
            if now >= deadline:
                return drawn_at is not None
            until = deadline if drawn_at is None else min(deadline, drawn_at + self._settle_quiet)
            if not self._display.pending_events():  # read already: select would not wake
                select.select([self._display], [], [], max(until - now, 0.0))

    def _damage_seen(self, watch: int) -> bool:
        """Whether drawing was reported for ``watch`` since last asked (without blocking)."""
        seen = self._take_events(watch)
        if seen:  # a NonEmpty object reports again once its damage is emptied
            self._subtract_damage(watch)
            self._display.flush()
        return seen

    def _take_events(self, watch: int) -> bool:
        """Take the events that have arrived; whether one was ``watch``'s notification.

        The connection selects no events, so these are DAMAGE's (this object's, or late
        ones of objects already destroyed) or a rare MappingNotify.
        """
        seen = False
        for _ in range(self._display.pending_events()):
            event = self._display.next_event()
            if event.type == self._damage_event and int(event.damage) == watch:
                seen = True
        return seen

    def _subtract_damage(self, watch: int) -> None:
        protocol = self._display.display
        damage.DamageSubtract(
            display=protocol,
            onerror=xerror.CatchError(),
            opcode=protocol.get_extension_major(damage.extname),
            damage=watch,
            repair=X.NONE,
            parts=X.NONE,
        )

    def _forget_damage(self, watch: int) -> None:
        """Destroy the DAMAGE object and drop the notifications it had sent."""
        protocol = self._display.display
        damage.DamageDestroy(
            display=protocol,
            onerror=xerror.CatchError(),  # gone with its window
            opcode=protocol.get_extension_major(damage.extname),
            damage=watch,
        )
        protocol.free_resource_id(watch)
        self._display.sync()
        self._take_events(watch)
