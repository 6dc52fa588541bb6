"""A virtual X display (Xvfb) for the demo and the tests, when no desktop is at hand."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass


class NoVirtualDisplay(RuntimeError):
    pass


@dataclass
class VirtualDisplay:
    display: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_virtual_display(
    width: int = 1280, height: int = 800, timeout: float = 15.0
) -> VirtualDisplay:
    """Start Xvfb on a free display number (it reports the number through -displayfd)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise NoVirtualDisplay("Xvfb is not installed (Debian package 'xvfb')")
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [
            xvfb,
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            f"{width}x{height}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    try:
        number = _read_number(read_end, process, timeout)
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        # Keep the read end open until Xvfb has written: closing it early kills Xvfb.
        os.close(read_end)
    return VirtualDisplay(f":{number}", process)


def _read_number(fd: int, process: subprocess.Popen[bytes], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    received = b""
    while not received.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            raise NoVirtualDisplay(f"Xvfb did not start (exit code {process.poll()})")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            received += os.read(fd, 64) or b""
    return int(received.strip())
