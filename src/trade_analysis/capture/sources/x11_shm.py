"""MIT-SHM for reading X pixmaps: python-xlib has no binding for it, so the four requests
used (from shmproto.h) and the SysV shared-memory calls (through libc) are here.

Measured in bench/bench_capture.py against the plain core GetImage of the same
composite capture (640x400 under Xvfb): ShmGetImage is one small reply and one memcpy
where GetImage sends every pixel through the socket and python-xlib copies the reply
several times (0.44 ms against 2.40 ms a capture, median; docs/performance.md).
"""

from __future__ import annotations

import ctypes
import socket
from typing import Any

import numpy as np
from Xlib import X
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.protocol import rq

_ALL_PLANES = 0xFFFFFFFF


class _ShmQueryVersion(rq.ReplyRequest):  # type: ignore[misc]
    _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(0), rq.RequestLength())
    _reply = rq.Struct(
        rq.ReplyCode(),
        rq.Bool("shared_pixmaps"),
        rq.Card16("sequence_number"),
        rq.ReplyLength(),
        rq.Card16("major_version"),
        rq.Card16("minor_version"),
        rq.Card16("uid"),
        rq.Card16("gid"),
        rq.Card8("pixmap_format"),
        rq.Pad(15),
    )


class _ShmAttach(rq.Request):  # type: ignore[misc]
    _request = rq.Struct(
        rq.Card8("opcode"),
        rq.Opcode(1),
        rq.RequestLength(),
        rq.Card32("shmseg"),
        rq.Card32("shmid"),
        rq.Bool("read_only"),
        rq.Pad(3),
    )


class _ShmDetach(rq.Request):  # type: ignore[misc]
    _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(2), rq.RequestLength(), rq.Card32("shmseg"))


class _ShmGetImage(rq.ReplyRequest):  # type: ignore[misc]
    _request = rq.Struct(
        rq.Card8("opcode"),
        rq.Opcode(4),
        rq.RequestLength(),
        rq.Drawable("drawable"),
        rq.Int16("x"),
        rq.Int16("y"),
        rq.Card16("width"),
        rq.Card16("height"),
        rq.Card32("plane_mask"),
        rq.Set("format", 1, (X.XYPixmap, X.ZPixmap)),
        rq.Pad(3),
        rq.Card32("shmseg"),
        rq.Card32("offset"),
    )
    _reply = rq.Struct(
        rq.ReplyCode(),
        rq.Card8("depth"),
        rq.Card16("sequence_number"),
        rq.ReplyLength(),
        rq.Card32("visual"),
        rq.Card32("size"),
        rq.Pad(16),
    )


_IPC_PRIVATE = 0
_IPC_CREAT = 0o1000
_IPC_RMID = 0
_SHM_FAILED = ctypes.c_void_p(-1).value


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
    libc.shmget.restype = ctypes.c_int
    libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
    libc.shmat.restype = ctypes.c_void_p
    libc.shmdt.argtypes = [ctypes.c_void_p]
    libc.shmdt.restype = ctypes.c_int
    libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
    libc.shmctl.restype = ctypes.c_int
    return libc


class ShmUnavailable(Exception):
    pass


class SharedImage:
    """A SysV shared-memory segment attached to the X server, read with ShmGetImage.

    Used from the owning X11Source's thread only, on that source's connection. The
    segment is marked for removal as soon as the server has attached it, so it goes away
    with the last of the two mappings even if this process dies.
    """

    def __init__(self, display: Display) -> None:
        # Local connections only: over TCP the server would look the segment id up in
        # its own host's (or its own IPC namespace's) segments.
        if display.display.socket.family != socket.AF_UNIX:
            raise ShmUnavailable("not a local (Unix socket) connection")
        extension = display.query_extension("MIT-SHM")
        if extension is None:
            raise ShmUnavailable("the X server has no MIT-SHM extension")
        self._display = display
        self._opcode = int(extension.major_opcode)
        version = _ShmQueryVersion(display=display.display, opcode=self._opcode)
        if (int(version.major_version), int(version.minor_version)) < (1, 1):
            raise ShmUnavailable(f"MIT-SHM {version.major_version}.{version.minor_version}")
        self._libc = _libc()
        self._segment: int | None = None  # the server's SHMSEG id
        self._address: int | None = None
        self.capacity = 0

    def _attach(self, size: int) -> None:
        self.detach()
        libc = self._libc
        shmid = libc.shmget(_IPC_PRIVATE, size, _IPC_CREAT | 0o600)
        if shmid < 0:
            raise ShmUnavailable(f"shmget: errno {ctypes.get_errno()}")
        try:
            address = libc.shmat(shmid, None, 0)
            if address is None or address == _SHM_FAILED:
                raise ShmUnavailable(f"shmat: errno {ctypes.get_errno()}")
            segment = self._display.display.allocate_resource_id()
            catcher = xerror.CatchError()
            _ShmAttach(
                display=self._display.display,
                onerror=catcher,
                opcode=self._opcode,
                shmseg=segment,
                shmid=shmid,
                read_only=False,
            )
            self._display.sync()
        finally:
            libc.shmctl(shmid, _IPC_RMID, None)  # freed once both sides have detached
        error = catcher.get_error()
        if error is not None:
            libc.shmdt(address)
            self._display.display.free_resource_id(segment)
            raise ShmUnavailable(f"the X server could not attach the segment: {error}")
        self._segment, self._address, self.capacity = segment, int(address), size

    def get_image(self, drawable: Any, width: int, height: int) -> np.ndarray:
        """A copy of the drawable's pixels as an HxWx4 array (32 bits per pixel)."""
        size = width * height * 4
        if size > self.capacity:
            self._attach(size)
        assert self._address is not None
        reply = _ShmGetImage(
            display=self._display.display,
            opcode=self._opcode,
            drawable=drawable,
            x=0,
            y=0,
            width=width,
            height=height,
            plane_mask=_ALL_PLANES,
            format=X.ZPixmap,
            shmseg=self._segment,
            offset=0,
        )
        if int(reply.size) != size:
            raise ShmUnavailable(f"ShmGetImage returned {reply.size} bytes, not {size}")
        shared = (ctypes.c_ubyte * size).from_address(self._address)
        return np.frombuffer(memoryview(shared), dtype=np.uint8).reshape(height, width, 4).copy()

    def detach(self) -> None:
        """Detach from the server (on a live connection) and unmap here."""
        if self._segment is not None:
            _ShmDetach(
                display=self._display.display,
                onerror=xerror.CatchError(),
                opcode=self._opcode,
                shmseg=self._segment,
            )
            self._display.display.free_resource_id(self._segment)
            self._segment = None
        self.unmap()

    def unmap(self) -> None:
        if self._address is not None:
            self._libc.shmdt(self._address)
            self._address = None
            self.capacity = 0
