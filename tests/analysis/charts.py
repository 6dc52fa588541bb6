"""Synthetic line charts with a known trend, drawn by two independent renderers.

OpenCV draws with its own anti-aliasing; Pillow draws aliased shapes at three
times the size and downsamples (supersampling), so the two give different
edges, joins and text. Series are random walks whose last leg, after a
turning point, goes clearly up or down; the line colour is drawn at random
from a palette regardless of that direction, because brokers colour the line
by the day's change, not by its last move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from trade_analysis.domain import Trend

Pixels = npt.NDArray[np.uint8]
Rgb = tuple[int, int, int]

# BGR, like every frame the analysis sees.
LINE_COLOURS: dict[str, Rgb] = {
    "green": (5, 200, 0),
    "orange": (0, 80, 255),
    "red": (60, 60, 225),
    "blue": (230, 130, 30),
    "purple": (200, 60, 150),
}
LIGHT_ONLY = {"black": (25, 25, 25)}
DARK_ONLY = {"white": (240, 240, 240), "yellow": (40, 220, 240)}
LIGHT_BACKGROUNDS: list[Rgb] = [(255, 255, 255), (245, 247, 250), (238, 238, 238)]
DARK_BACKGROUNDS: list[Rgb] = [(0, 0, 0), (28, 28, 30), (32, 24, 20)]


@dataclass(frozen=True)
class Style:
    name: str
    dark: bool | None = False  # None: pick at random
    thickness: tuple[int, int] = (1, 3)
    grid: bool = False
    fill: bool = False
    dotted: bool = False
    header: bool = False
    axis_text: bool = False
    jpeg: int | None = None


STYLES: list[Style] = [
    Style("plain_light"),
    Style("plain_dark", dark=True),
    Style("thin", dark=None, thickness=(1, 1)),
    Style("thick", dark=None, thickness=(4, 6)),
    Style("grid_light", grid=True),
    Style("grid_dark", dark=True, grid=True),
    Style("fill", dark=None, fill=True),
    Style("dotted_ref", dark=None, dotted=True),
    Style("header_text", dark=None, header=True, axis_text=True),
    Style("jpeg", dark=None, jpeg=35),
    Style(
        "kitchen_sink",
        dark=None,
        grid=True,
        fill=True,
        dotted=True,
        header=True,
        axis_text=True,
        jpeg=50,
    ),
]


@dataclass(frozen=True)
class Scene:
    """Everything random about one chart, decided before any renderer draws it."""

    width: int
    height: int
    values: npt.NDArray[np.float64]
    scale: float  # share of the plot height the series fills
    expected: Trend
    background: Rgb
    line: Rgb
    thickness: int
    fill_alpha: float
    grid_colour: Rgb
    dotted_colour: Rgb
    dotted_level: float  # 0..1 from the bottom of the plot
    header: str
    style: Style
    draw_line: bool = True


def price_series(
    rng: np.random.Generator, direction: Trend
) -> tuple[npt.NDArray[np.float64], float]:
    """A random walk, then a last leg in `direction` (flat: a tiny wobble on a fixed axis)."""
    count = int(rng.integers(60, 240))
    if direction is Trend.NONE:
        return 100 + rng.normal(0, 0.05, count), 0.01
    final = int(count * rng.uniform(0.2, 0.4))
    walk = np.cumsum(rng.normal(0, 1, count - final))
    size = rng.uniform(0.8, 1.6) * max(float(np.ptp(walk)), 1.0)
    sign = 1.0 if direction is Trend.UP else -1.0
    drift = np.linspace(0, sign * size, final + 1)[1:]
    wobble = np.cumsum(rng.normal(0, 0.6 * size / final, final)) * 0.5
    noise = rng.normal(0, 0.02 * size, final)
    values = np.concatenate((walk, walk[-1] + drift + wobble + noise))
    return values, float(rng.uniform(0.6, 0.9))


def _shade(colour: Rgb, delta: int) -> Rgb:
    b, g, r = (max(0, min(255, c + delta)) for c in colour)
    return (b, g, r)


def make_scene(
    rng: np.random.Generator,
    style: Style,
    expected: Trend,
    colour: str | None = None,
    draw_line: bool = True,
) -> Scene:
    dark = bool(rng.integers(2)) if style.dark is None else style.dark
    palette = {**LINE_COLOURS, **(DARK_ONLY if dark else LIGHT_ONLY)}
    name = colour if colour is not None else list(palette)[int(rng.integers(len(palette)))]
    backgrounds = DARK_BACKGROUNDS if dark else LIGHT_BACKGROUNDS
    background = backgrounds[int(rng.integers(len(backgrounds)))]
    grid_delta = int(rng.integers(18, 40)) * (1 if dark else -1)
    dotted_delta = int(rng.integers(70, 130)) * (1 if dark else -1)
    values, scale = price_series(rng, expected)
    return Scene(
        width=int(rng.integers(360, 800)),
        height=int(rng.integers(220, 480)),
        values=values,
        scale=scale,
        expected=expected,
        background=background,
        line=palette[name],
        thickness=int(rng.integers(style.thickness[0], style.thickness[1] + 1)),
        fill_alpha=float(rng.uniform(0.1, 0.3)),
        grid_colour=_shade(background, grid_delta),
        dotted_colour=_shade(background, dotted_delta),
        dotted_level=float(rng.uniform(0.1, 0.9)),
        header=f"${rng.uniform(5, 3000):,.2f}",
        style=style,
        draw_line=draw_line,
    )


@dataclass(frozen=True)
class Layout:
    left: float
    right: float
    top: float
    bottom: float

    @staticmethod
    def of(scene: Scene) -> Layout:
        top = 0.2 if scene.style.header else 0.05
        bottom = 0.88 if scene.style.axis_text else 0.95
        return Layout(
            0.02 * scene.width, 0.98 * scene.width, top * scene.height, bottom * scene.height
        )

    def points(self, scene: Scene) -> npt.NDArray[np.float64]:
        values = scene.values
        low, high = float(values.min()), float(values.max())
        middle, half = (low + high) / 2, max(high - low, 1e-9) / 2 / scene.scale
        share = (values - (middle - half)) / (2 * half)
        xs = np.linspace(self.left, self.right, len(values))
        ys = self.bottom - share * (self.bottom - self.top)
        return np.stack((xs, ys), axis=1)

    def level_y(self, share: float) -> float:
        return self.bottom - share * (self.bottom - self.top)


def _finish(pixels: Pixels, scene: Scene) -> Pixels:
    if scene.style.jpeg is None:
        return pixels
    ok, encoded = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, scene.style.jpeg])
    assert ok
    return np.asarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR), np.uint8)


def render_opencv(scene: Scene) -> Pixels:
    layout = Layout.of(scene)
    canvas = np.empty((scene.height, scene.width, 3), np.uint8)
    canvas[:] = scene.background
    style = scene.style
    if style.grid:
        for share in np.linspace(0, 1, 5):
            y = round(layout.level_y(float(share)))
            cv2.line(canvas, (0, y), (scene.width - 1, y), scene.grid_colour, 1)
        for x in np.linspace(layout.left, layout.right, 7):
            cv2.line(canvas, (round(x), 0), (round(x), scene.height - 1), scene.grid_colour, 1)
    points = layout.points(scene)
    fixed = np.round(points * 16).astype(np.int32)  # 4 bits of sub-pixel precision
    if style.fill and scene.draw_line:
        bottom = round(layout.bottom * 16)
        polygon = np.concatenate((fixed, [[fixed[-1, 0], bottom], [fixed[0, 0], bottom]])).astype(
            np.int32
        )
        layer = canvas.copy()
        cv2.fillPoly(layer, [polygon], scene.line, cv2.LINE_AA, shift=4)
        blended = cv2.addWeighted(layer, scene.fill_alpha, canvas, 1 - scene.fill_alpha, 0)
        canvas = np.asarray(blended, np.uint8)
    if style.dotted:
        y = round(layout.level_y(scene.dotted_level))
        for x in range(0, scene.width, 6):
            cv2.line(canvas, (x, y), (x + 1, y), scene.dotted_colour, 1)
    if scene.draw_line:
        cv2.polylines(canvas, [fixed], False, scene.line, scene.thickness, cv2.LINE_AA, shift=4)
    if style.header:
        scale = scene.height / 200
        baseline = round(layout.top * 0.7)
        cv2.putText(
            canvas, scene.header, (10, baseline), cv2.FONT_HERSHEY_SIMPLEX, scale,
            scene.line, max(1, round(scale * 2)), cv2.LINE_AA,
        )  # fmt: skip
    if style.axis_text:
        y = scene.height - 8
        for index, label in enumerate(("9:30 AM", "11:00 AM", "1:00 PM", "3:00 PM")):
            x = round(10 + index * scene.width / 4)
            cv2.putText(
                canvas, label, (x, y), cv2.FONT_HERSHEY_PLAIN, 1.0, scene.dotted_colour, 1,
                cv2.LINE_AA,
            )  # fmt: skip
    return _finish(canvas, scene)


_SUPERSAMPLE = 3


def _rgb(bgr: Rgb, alpha: int = 255) -> tuple[int, int, int, int]:
    return (bgr[2], bgr[1], bgr[0], alpha)


def render_pillow(scene: Scene) -> Pixels:
    k = _SUPERSAMPLE
    layout = Layout.of(scene)
    size = (scene.width * k, scene.height * k)
    image = Image.new("RGBA", size, _rgb(scene.background))
    draw = ImageDraw.Draw(image)
    style = scene.style
    if style.grid:
        for share in np.linspace(0, 1, 5):
            y = layout.level_y(float(share)) * k
            draw.line([(0, y), (size[0], y)], fill=_rgb(scene.grid_colour), width=k)
        for x in np.linspace(layout.left, layout.right, 7):
            draw.line([(x * k, 0), (x * k, size[1])], fill=_rgb(scene.grid_colour), width=k)
    points = [(float(x) * k, float(y) * k) for x, y in layout.points(scene)]
    if style.fill and scene.draw_line:
        overlay = Image.new("RGBA", size, (0, 0, 0, 0))
        bottom = layout.bottom * k
        polygon = [*points, (points[-1][0], bottom), (points[0][0], bottom)]
        ImageDraw.Draw(overlay).polygon(
            polygon, fill=_rgb(scene.line, round(255 * scene.fill_alpha))
        )
        image = Image.alpha_composite(image, overlay)
        draw = ImageDraw.Draw(image)
    if style.dotted:
        y = layout.level_y(scene.dotted_level) * k
        for x in range(0, size[0], 5 * k):
            draw.rectangle([x, y, x + 2 * k - 1, y + k - 1], fill=_rgb(scene.dotted_colour))
    if scene.draw_line:
        draw.line(points, fill=_rgb(scene.line), width=scene.thickness * k, joint="curve")
    if style.header:
        font = ImageFont.load_default(size=layout.top * 0.55 * k)
        draw.text((10 * k, layout.top * 0.15 * k), scene.header, fill=_rgb(scene.line), font=font)
    if style.axis_text:
        font = ImageFont.load_default(size=11 * k)
        for index, label in enumerate(("9:30 AM", "11:00 AM", "1:00 PM", "3:00 PM")):
            x = (10 + index * scene.width / 4) * k
            draw.text(
                (x, (scene.height - 20) * k), label, fill=_rgb(scene.dotted_colour), font=font
            )
    small = image.convert("RGB").resize((scene.width, scene.height), Image.Resampling.BOX)
    bgr = np.ascontiguousarray(np.asarray(small)[:, :, ::-1])
    return _finish(bgr, scene)


RENDERERS: dict[str, Callable[[Scene], Pixels]] = {
    "opencv": render_opencv,
    "pillow": render_pillow,
}


def without_line(scene: Scene) -> Scene:
    return replace(scene, draw_line=False)
