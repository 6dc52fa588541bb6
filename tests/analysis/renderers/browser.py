"""One headless Chromium for every browser renderer; one page per renderer.

Each page loads its library once, from files on this machine (an npm package
under js/node_modules, or the bundle a Python package ships), then draws each
chart with `page.evaluate` and is screenshotted. Every request that would leave
the machine is aborted, so a library that reaches for a font or a tile server
draws without it instead of waiting.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.analysis.market import CHROMIUM_ARGS, Pixels, decode_png

HERE = Path(__file__).resolve().parent
JS = HERE / "js"
NODE_MODULES = JS / "node_modules"
BLANK = "<!doctype html><html><head><meta charset='utf-8'><style>html,body{margin:0;padding:0;overflow:hidden}</style></head><body></body></html>"  # noqa: E501
# Two animation frames after the library's own drawing call: canvases are painted on the next.
SETTLE = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


def require_chromium() -> str:
    binary = shutil.which("chromium")
    if binary is None:
        from tests.support.xvfb import missing

        missing("chromium is not installed (Debian package 'chromium')")
    return binary


def require_node_module(name: str) -> Path:
    path = NODE_MODULES / name
    if not path.is_dir():
        from tests.support.xvfb import missing

        missing(f"{path} is missing (run `npm ci` in {JS})")
    return path


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium (Playwright's Browser), closed on exit."""
    binary = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class ChartPage:
    """A page with a charting library and a `draw(spec)` script loaded once.

    `scripts` are files or source texts of the library; `draw` is the file (under js/)
    defining `window.draw = async spec => ...`, which draws a `width` x `height` chart
    in a fresh element of the page's body.
    """

    def __init__(self, browser: Any, scripts: list[Path | str], draw: str) -> None:
        self._page = browser.new_page(viewport={"width": 640, "height": 400})
        self._page.route("**/*", _offline)
        self._page.set_content(BLANK)
        for script in [*scripts, JS / draw]:
            if isinstance(script, Path):
                self._page.add_script_tag(path=str(script))
            else:
                self._page.add_script_tag(content=script)

    def draw(self, spec: dict[str, Any], width: int, height: int) -> Pixels:
        self._page.set_viewport_size({"width": width, "height": height})
        self._page.evaluate("spec => window.draw(spec)", spec)
        self._page.evaluate(SETTLE)
        png = self._page.screenshot(type="png", animations="disabled")
        return decode_png(png)


def _offline(route: Any) -> None:
    url: str = route.request.url
    if url.startswith(("data:", "about:", "blob:")):
        route.continue_()
    else:
        route.abort()
