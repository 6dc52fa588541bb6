"""The rig's Windows lock follows the project (no Wine needed for these)."""

from __future__ import annotations

import re

from packaging.version import Version

from tests.windows.rig import LOCK, REPO, check_lock_covers_project, declared_windows_dependencies

# Held back on purpose for Wine 8 (see the lock's header); everything else matches.
HELD_BACK = {"numpy"}


def pins(text: str) -> dict[str, str]:
    found = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


def test_the_lock_holds_every_dependency_the_project_declares_for_windows() -> None:
    declared = declared_windows_dependencies()
    assert "tzdata" in declared and "python-xlib" not in declared and "mss" not in declared
    check_lock_covers_project()


def test_the_lock_pins_what_constraints_txt_pins() -> None:
    lock, linux = pins(LOCK.read_text()), pins((REPO / "constraints.txt").read_text())
    differing = {
        name: (version, linux[name])
        for name, version in lock.items()
        if name in linux and linux[name] != version and name not in HELD_BACK
    }
    assert differing == {}, f"update {LOCK.name} with constraints.txt: {differing}"
    assert Version(lock["numpy"]) < Version("2.2")
