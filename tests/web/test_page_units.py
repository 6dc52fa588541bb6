"""The page's pure modules (formatting, the event reducer) under node's own test runner,
and the vendored chart library checked against the checksums its README pins."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.support.xvfb import missing
from trade_analysis.app import DASHBOARD_DIR

JS_TESTS = Path(__file__).with_name("js")
VENDOR = DASHBOARD_DIR / "vendor" / "uplot"


def test_the_page_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        missing("node is not installed (Debian package 'nodejs', 20 or later)")
    files = sorted(str(path) for path in JS_TESTS.glob("*.test.mjs"))
    assert files, "no node tests found"
    result = subprocess.run(
        [node, "--test", *files],
        env={**os.environ, "TZ": "UTC"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    passed = re.search(r"^# pass (\d+)", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) >= 10, result.stdout[-2000:]


def test_the_vendored_chart_library_is_the_pinned_file_with_its_licence() -> None:
    readme = (VENDOR / "README.md").read_text()
    pinned = dict(re.findall(r"\| `([^`]+)` \| [^|]+ \| `([0-9a-f]{64})` \|", readme))
    assert set(pinned) == {"uPlot.iife.min.js", "uPlot.min.css", "LICENSE"}
    for name, digest in pinned.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (VENDOR / "LICENSE").read_text()
    assert "(v1.6.32)" in (VENDOR / "uPlot.iife.min.js").read_text()[:200]
