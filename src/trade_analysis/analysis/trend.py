"""Read the direction of a chart (line, area, candles, OHLC bars) from its pixels.

Brokers colour the price line by the *day's* change, so a green line can be
falling at its end and an orange one rising: colour only tells us which pixels
belong to the line, never which way it goes. The steps:

The frame is read on a grid of at most 320 x 240 cells, each pooling an f x f
block of pixels (f an integer): a cell's contrast is the block's *largest*
difference to the background, so a one-pixel line keeps its full contrast, and
its colour is the block's *average*, which keeps the line's colour direction
(an anti-aliased or thin line only mixes in background). The steps:

1. estimate the background colour (light or dark themes alike);
2. keep "strong" cells, those far from the background compared to the
   strongest structure in the frame: this drops grids, translucent fills and
   JPEG noise, which are all faint next to the line; clear solid blocks wider
   than a candle (infobars, toolbars, banners: chrome, never the series), but
   of an area chart's fill (ragged on top) keep only its edge, the line;
   clear straight unbroken (or dashed) lines over most of the width or
   height (the plot's frame, axes and grid); keep the tallest band of inked
   rows, the price pane (volume, RSI or MACD panes, range sliders and
   headers stand apart from it);
3. look for candles or bars: colour groups made of narrow upright pieces (and
   the dojis and touching clumps among them) side by side; if found, read one
   close per piece (see `_close_series`) and skip to 5;
4. otherwise group strong cells by their colour *direction* from the background (an
   anti-aliased edge and the line's core share it) and pick the group that
   covers the most columns once rows it fills edge to edge are discounted:
   grids and dotted reference lines are horizontal, the price line is not;
   keep the widest connected piece of that colour (text glyphs are compact),
   read one y per column, drop outliers, and keep the longest run of columns.
   A clean line there, with no run of candle pieces beside it, is the series.
   Otherwise (candles, a line whose columns jump in height like candles side
   by side, or no line) candles are looked for again on a grid of single
   pixels (up to `_MAX_FINE_COLUMNS` across): a hundred candles on 800 pixels
   stand 3 pixels apart and merge on the pooled grid, and a one-pixel stem
   drawn between two pixel columns is found there (`_strong_strokes`). What
   is found there wins; then the pooled grid's candles; then its line;
5. carry the series on where the market held its last price (`_held_flat`):
   a flat line, or a row of dojis or bar ticks, is a thin horizontal run that
   on its own looks like a reference line and is set aside above; starting
   where the series ends, at its last price, it is the series;
6. normalise to 0-100; a flat tail means `none` (see `_score`); otherwise
   find the last turning point with a zigzag whose minimum swing is relative
   to the range, and score the segment after it. The turning point reported
   (in `reason` and the trace) is where the final leg starts (`_leg_start`).

Flat is flat, in chart terms: when the last tenth or more of the series'
width stays within a band a twentieth of the visible price range tall, the
reading is `none`, whatever leg came before and whatever the kind (line,
area, candles, OHLC bars) or the stroke (1-4 px, anti-aliased or not). A
price held exactly draws a thin run of one row: it counts as the series held
flat, not as a grid or reference line, when it starts where the series ends.

Everything is vectorised numpy/OpenCV except loops over a few hundred column
values, a handful of connected components and a few strips of rows. Speed
notes (a 640x400 line chart takes about 3 ms, candles about twice that, see
bench/bench_reader_accuracy.py --timing): frame-sized temporaries are avoided
(fresh memory costs a page fault per 4 KiB, more than the arithmetic), a BGR
view of a BGRX capture is read in place, and OpenCV gets whole-number scalars.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import cv2
import numpy as np
import numpy.typing as npt

from trade_analysis.analysis.chart_model import ChartReader, ModelReading, shipped_model
from trade_analysis.domain import Trend

Pixels = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float64]
Floats32 = npt.NDArray[np.float32]

# The chart is read on a grid of at most this many cells across and down; each
# cell pools an f x f block of the frame (f an integer, the same both ways).
_MAX_COLUMNS = 320
_MAX_ROWS = 240
# Rows of the frame compared with the background at a time (bytes of BGR): small
# temporaries come from the allocator's free lists, large ones as fresh pages.
_STRIP_BYTES = 96 * 1024
# A frame whose strongest structure is this close to the background is blank.
_MIN_LINE_CONTRAST = 40
# Strong = at least this share of the line's contrast; fills stay below it.
_STRONG_SHARE = 0.45
# A colour group occupying more than this share of a row draws a horizontal line there.
_HORIZONTAL_ROW_SHARE = 0.25
# A row broken into this many pieces is dotted or dashed.
_DOTS_PER_ROW = 6
# A solid rule spans at least this share of the width (grids run edge to edge).
# A dotted one at least this share: a flat market's bar ticks (a flat tail is at most half
# the chart, or the whole chart reads flat anyway) line up too, but stop short.
_DOTTED_SPAN = 0.5
_RULE_SPAN = 0.9
# The price line spans at least this share of the columns.
_MIN_LINE_WIDTH = 0.3
# Pixels whose colour direction is this close (cosine) to the line's belong to it.
_SAME_COLOUR_COS = 0.9
# Joins vertical gaps of 2 cells (steep faint stretches), horizontal ones of 2 cells.
_JOIN_KERNEL = np.ones((3, 3), np.uint8)
# Columns crossed more than once, as a share, above which a piece is text.
_TEXT_MULTI_RUN_SHARE = 0.3
# Smaller than this share of the frame height, the line is flat.
_FLAT_SHARE = 0.03
# Zigzag swing (on the 0-100 scale) that makes a turning point.
_MIN_SWING = 15.0
# The final leg (`_leg_start`): it ends where the price went the other way by
# `_LEG_TURN` (0-100 scale), or held without moving `_LEG_STEP` further for
# `_LEG_STALL` of the width.
_LEG_TURN = 8.0
_LEG_STEP = 1.0
_LEG_STALL = 0.05
# Score (0-100 units) under which the final segment counts as flat.
_FLAT_SCORE = 6.0
# Flat now: the last `_FLAT_TAIL` of the width (the "last tenth") within a band
# `_FLAT_BAND` of the range (0-100). A straight line across the whole range moves 10
# per tenth of the width; a tail moving at under half that pace has stopped.
_FLAT_TAIL = 0.1
_FLAT_BAND = 5.0
# A price held flat draws ink within this many cells of the series' last row, and
# nothing in the rows just beyond (glyphs of a price label are taller).
_HELD_BAND = 2
_HELD_ROW_SHARE = 0.6
# An unbroken straight line over this share of the width or height is an axis or a frame.
_AXIS_SPAN = 0.6
_AXIS_GAP = 5
# Panes stand apart by more than this many blank rows of cells.
_PANE_GAP = 3
# Candles and bars are looked for on a grid at most this many cells across (pixels
# themselves up to that width): a candle a few pixels wide still stands apart.
_MAX_FINE_COLUMNS = 1280
# A square this many cells on a side fits in no part of a line up to 4 cells thick.
_SOLID_KERNEL = np.ones((5, 5), np.uint8)
# Solid blocks at least this share of the width and filling this share of their
# box are chrome: a candle body is narrower than a twentieth of the chart.
_CHROME_MIN_WIDTH = 0.05
_SOLID_FILL = 0.8
# Candles and bars: pieces at most this share of the width, at least this many of
# them, in colour groups covering at least this share of the columns (up and down
# candles each cover part), their middles spread over this share of the height.
_MAX_CANDLE_WIDTH = 0.05
_MIN_CANDLES = 10
_CANDLE_GROUP_COVERAGE = 0.1
_MAX_CANDLE_GROUPS = 4
_MIN_CANDLE_SPREAD = 0.05
# The candles hold at least this share of the strong cells (an average or a volume
# histogram may hold the rest), and more than any line: a line chart's header
# glyphs and specks are upright too, but fewer than the line's own cells.
_CANDLE_SHARE = 0.4
# A piece with at least this many others within _TEXT_ROW_REACH times its height
# sharing its top or bottom row (within a cell) is a letter of a row of text.
_TEXT_ROW_NEIGHBOURS = 3
_TEXT_ROW_REACH = 10
# Share of a clump's columns more than three times as tall as a neighbour (plus two
# cells) above which it is candles or bars side by side; a line's columns change
# height gradually (at most 6% such columns in the tuning charts, bars 20-60%).
_SPIKY_SHARE = 0.08
# A line on the pooled grid with this share of such columns may be candles merged
# there (3-8% in the tuning charts; lines mostly under 1%): they are looked for on
# the finer grid before the line is believed.
_ROUGH_SHARE = 0.03


Point = tuple[float, float]


class _Piece(NamedTuple):
    """A connected piece of one colour: its bounding box, cell count and mask within the box."""

    left: int
    top: int
    span: int
    tall: int
    area: int
    mask: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TrendReading:
    """A chart's direction, what kind of chart it is, and the series it was read from.

    `points` is the traced close series (a point per column of a line, one
    close per candle or bar) and `turning_point` the start of the last leg,
    both (x, y) in pixels of the image that was read (empty / None when no
    series was found).
    """

    trend: Trend
    confidence: float
    reason: str
    kind: str = "line"
    points: tuple[Point, ...] = ()
    turning_point: Point | None = None


@dataclass(frozen=True)
class _Series:
    """The close series on the pooled grid: one y per column from `first` on."""

    kind: str
    first: int
    ys: Floats
    factor: int = 1  # pixels per cell of the grid it was read on
    # Where the series was read (indices into ys): every column of a line; one close
    # per candle or bar, the columns between them interpolated.
    read_at: tuple[int, ...] | None = None
    # A line whose columns jump in height like candles side by side (`_spiky`).
    rough: bool = False


def read_trend(pixels: npt.NDArray[Any], model: ChartReader | None = None) -> TrendReading:
    """Trend and kind of the chart in an HxWx3 BGR uint8 image (any strides).

    HxW grey and HxWx4 BGRA are accepted too; anything else raises ValueError.
    Two readers look at the pixels: the learned chart model (`chart_model.py`;
    the shipped one unless `model` is given) and the series traced by the rules
    below. The model decides the trend when it agrees with the trace or is
    sure of itself (`_MODEL_SURE`); otherwise the trace decides and `reason`
    says the model was unsure. The kind is decided by both (`_kind_of`). The
    trace is the explanation: its points, its turning point, its own reading
    in `reason`. Where the model overrules it, `reason` says so and no turning
    point is marked. Where no series is found and the model sees no move
    either, the reading is the tracer's: `none`, with no confidence.
    """
    traced = trace_trend(pixels)
    learned = (model or shipped_model()).read(pixels)
    return _decided(traced, learned)


def _decided(traced: TrendReading, learned: ModelReading) -> TrendReading:
    probability = round(learned.trend_probability, 3)
    kind = _kind_of(traced, learned)
    if not traced.points and learned.trend is Trend.NONE:
        return replace(traced, kind=kind)
    if probability < _MODEL_SURE and learned.trend is not traced.trend:
        unsure = f"the chart model is unsure ({learned.trend} at {probability:.0%})"
        return replace(traced, reason=f"{traced.reason}; {unsure}", kind=kind)
    if learned.trend is traced.trend:
        reason = f"{traced.reason}; the chart model agrees ({probability:.0%})"
        return replace(traced, confidence=probability, reason=reason, kind=kind)
    seen = f"the traced {traced.kind} alone reads: {traced.reason}"
    reason = f"{learned.trend} by the chart model ({probability:.0%}); {seen}"
    return replace(
        traced,
        trend=learned.trend,
        confidence=probability,
        reason=reason,
        kind=kind,
        turning_point=None,
    )


def _kind_of(traced: TrendReading, learned: ModelReading) -> str:
    """Line or not is the model's call; candles or bars, the tracer's where it saw either.

    The tracer can follow dense candles as a line (or a jagged line as candles),
    where the whole frame shows the model what the chart is; but the model's
    frame is scaled to 384 x 96, where bodies and ticks merge, while the tracer
    tells candles from bars at full resolution.
    """
    if not traced.points or learned.kind == "line" or traced.kind == "line":
        return learned.kind
    return traced.kind


# Below this probability the model's trend does not overrule the traced series'. Chosen
# on the tuned renderers, this repository's own chart generators and real Chromium
# windows (never on the held-out renderers), and checked with a model trained without
# two of the tuned renderers, read on those two (docs/reader-accuracy.md).
_MODEL_SURE = 0.7


def trace_trend(pixels: npt.NDArray[Any]) -> TrendReading:
    """The rules' reading alone: the series traced, its trend, kind and turning point."""
    image, factor = _prepare(pixels)
    series = _trace_series(image, factor)
    if isinstance(series, str):
        return TrendReading(Trend.NONE, 0.0, series)
    trace, factor = series.ys, series.factor
    read_at = np.arange(trace.size) if series.read_at is None else np.array(series.read_at)
    points = _in_pixels(series, read_at)
    span = float(np.max(trace) - np.min(trace))
    height = image.shape[0] // factor
    if span < max(2.0 / factor, _FLAT_SHARE * height):
        reason = f"{series.kind} is flat (moves {span * factor:.0f} px)"
        return TrendReading(Trend.NONE, 0.6, reason, series.kind, points)
    # Image rows grow downwards; prices grow upwards.
    values = (np.max(trace) - trace) / span * 100.0
    reading, pivot = _score(values)
    turning = _in_pixels(series, np.array([pivot]))[0]
    return replace(reading, kind=series.kind, points=points, turning_point=turning)


def _in_pixels(series: _Series, indices: npt.NDArray[np.intp]) -> tuple[Point, ...]:
    """Grid positions of the series as (x, y) pixels of the image read (cell centres)."""
    xs = (series.first + indices + 0.5) * series.factor
    ys = (series.ys[indices] + 0.5) * series.factor
    return tuple(zip(np.round(xs, 1).tolist(), np.round(ys, 1).tolist(), strict=True))


def _prepare(pixels: npt.NDArray[Any]) -> tuple[Pixels, int]:
    """BGR or BGRX pixels OpenCV reads without a copy, cut to a multiple of the pooling factor."""
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4):
        raise ValueError(f"pixels must be HxW, HxWx3 or HxWx4, got shape {pixels.shape}")
    height, width, channels = pixels.shape
    factor = max(1, -(-width // _MAX_COLUMNS), -(-height // _MAX_ROWS))
    factor = max(1, min(factor, height, width))  # a sliver of a frame still has one cell
    height, width = height // factor * factor, width // factor * factor
    pixels = pixels[:height, :width]
    # A BGR view of a BGRX buffer (what window captures hand out): read all four
    # bytes of each pixel, or OpenCV would first copy the whole frame, slowly.
    pixels = opencv_view(pixels)
    channels = pixels.shape[2]
    if pixels.strides[0] <= 0 or pixels.strides[1:] != (channels, 1):
        pixels = np.ascontiguousarray(pixels)
    if channels == 1:
        pixels = np.asarray(cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR), np.uint8)
    return pixels, factor


def opencv_view(pixels: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """`pixels`, or for a BGR view of BGRX memory the 4-channel view behind it (no copy).

    OpenCV copies a 3-channel view with a 4-byte pixel stride before any work,
    about 1 ms for a 640x400 window; the 4-channel view it reads in place (drop
    channel 3 after, e.g. after a resize).
    """
    if pixels.ndim == 3 and pixels.shape[2] == 3 and pixels.strides[1:] == (4, 1):
        return _with_padding_byte(pixels)
    return pixels


def _with_padding_byte(pixels: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The 4-byte-per-pixel view behind a BGR view of BGRX memory, if that memory is there."""
    owner = pixels
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    height, width = pixels.shape[:2]
    wide = np.lib.stride_tricks.as_strided(
        pixels, (height, width, 4), (pixels.strides[0], 4, 1), writeable=False
    )
    low, high = np.lib.array_utils.byte_bounds(wide)
    owner_low, owner_high = np.lib.array_utils.byte_bounds(owner)
    return wide if owner_low <= low and high <= owner_high else pixels


def _background(image: Pixels) -> Floats:
    """The chart's background: the most common colour of the top band or of the whole frame.

    The top band first (an opaque fill may dominate lower down), unless an
    infobar or toolbar fills that band: then the whole frame's mode covers more.
    """
    band = image[: max(2, image.shape[0] // 20)]
    colour, share = modal_colour(band)
    if share < 0.5:
        return modal_colour(image)[0]
    overall, overall_share = modal_colour(image)
    if overall_share > 0.3 and np.abs(overall - colour).max() > 16:
        sample = image[::4, ::4].reshape(-1, 3).astype(np.float32)
        near_band = np.count_nonzero(np.abs(sample - colour.astype(np.float32)).max(axis=1) < 16)
        if near_band < overall_share * sample.shape[0]:
            return overall
    return colour


def modal_colour(region: Pixels) -> tuple[Floats, float]:
    """Mean of the most common colour (16 levels a channel) of a BGR region, and its share."""
    flat = region.reshape(-1, 3)
    coarse = (flat >> 4).astype(np.int32)  # 16 levels a channel: JPEG noise stays in one bin
    keys = (coarse[:, 0] << 8) | (coarse[:, 1] << 4) | coarse[:, 2]
    counts = np.bincount(keys, minlength=1 << 12)
    mode = int(np.argmax(counts))
    members = (keys == mode).astype(np.uint8).reshape(region.shape[:2])
    mean = np.array(cv2.mean(region, mask=members)[:3], np.float64)
    return mean, float(counts[mode]) / len(keys)


def _pooled_contrast(image: Pixels, background: Floats, factor: int) -> Pixels:
    """Largest channel difference to the background, max-pooled over factor x factor blocks.

    Max-pooling, not averaging: a thin line keeps its full contrast, and a steep
    one draws a vertical run in every pooled column, so it stays connected.
    Done in strips of rows: a frame-sized temporary costs more in page faults
    (fresh memory on every call) than all the arithmetic.
    """
    height, width, channels = image.shape
    pooled = np.empty((height // factor, width // factor), np.uint8)
    # Whole numbers: OpenCV subtracts a fractional scalar in floating point, 5x slower.
    scalar = (*(float(round(c)) for c in background), 0.0)
    # At each pixel's first byte, the largest of its three channels and of the pixels
    # pooled with it to the right (anchor at the left edge).
    kernel = np.ones((1, 3 * factor), np.uint8)
    rows = max(1, _STRIP_BYTES // (3 * width * factor)) * factor
    for start in range(0, height, rows):
        strip = image[start : start + rows]
        if channels == 4:
            strip = np.asarray(cv2.cvtColor(strip, cv2.COLOR_BGRA2BGR), np.uint8)
        diff = cv2.absdiff(strip, scalar)  # type: ignore[call-overload]  # stubs omit Scalar
        spread = diff.reshape(diff.shape[0], -1)  # (rows, W*3): channels side by side
        if factor > 1:
            # Rows on row-strided views (no copy): half the work of a 2-D dilation.
            spread = cv2.max(spread[0::factor], spread[1::factor])
            for row in range(2, factor):
                cv2.max(spread, diff.reshape(diff.shape[0], -1)[row::factor], dst=spread)
        cv2.dilate(spread, kernel, dst=spread, anchor=(0, 0))
        pooled[start // factor : start // factor + spread.shape[0]] = spread[:, :: 3 * factor]
    return pooled


def _trace_series(image: Pixels, factor: int) -> _Series | str:
    """The close series on a grid of the frame (held flat to its end), or why there is none."""
    found = _find_series(image, factor)
    if isinstance(found, str):
        return found
    series, strong = found
    return _held_flat(series, strong, factor)


def _held_flat(series: _Series, strong: Pixels, factor: int) -> _Series:
    """The series, carried on to the right where the market held its last price.

    A price that does not move draws a thin horizontal run: a flat line, or a
    row of dojis or bar ticks. Read alone such a run looks like a grid or
    reference line and is set aside, and the series then seems to end on the
    leg before it. A thin run of ink starting where the series ends, at its
    last price, and going on to the right (at least `_FLAT_TAIL` of the
    whole), is the series holding that price, unless the same row is inked
    left of the end as well (a last-price or reference line across the chart).
    """
    height, width = strong.shape
    scale = series.factor / factor  # series cells per pooled cell
    end = int((series.first + series.ys.size - 0.5) * scale)
    row = int((series.ys[-1] + 0.5) * scale)
    band = strong[max(0, row - _HELD_BAND) : row + _HELD_BAND + 1]
    halo = np.zeros(width, np.bool_)
    for start, stop in (
        (row - 3 * _HELD_BAND, row - _HELD_BAND),
        (row + _HELD_BAND + 1, row + 3 * _HELD_BAND + 1),
    ):
        if stop > 0 and start < height:
            halo |= strong[max(0, start) : stop].any(axis=0)
    inked = band.any(axis=0) & ~halo  # thin ink at the last price (glyphs are taller)
    max_gap = max(3, width // 30)
    last = end
    count = 0
    for column in range(end + 1, width):
        if inked[column]:
            last, count = column, count + 1
        elif column - last > max_gap:
            break
    reach = last - end
    if reach < _FLAT_TAIL / (1 - _FLAT_TAIL) * series.ys.size * scale or count < 0.5 * reach:
        return series
    # One row holds most of it (a line, merged dojis, ticks); a label's glyphs do not.
    if band[:, end + 1 : last + 1].mean(axis=1).max(initial=0.0) < _HELD_ROW_SHARE:
        return series
    before = np.asarray(band.any(axis=0))[max(0, end - reach) : max(1, end - reach // 2)]
    if before.size and before.mean() >= 0.5:
        return series  # a line across the chart at that price, not the series
    added = round(reach / scale)
    ys = np.concatenate((series.ys, np.full(added, series.ys[-1])))
    read_at = series.read_at
    if read_at is not None:
        read_at = (*read_at, ys.size - 1)
    return replace(series, ys=ys, read_at=read_at)


def _find_series(image: Pixels, factor: int) -> tuple[_Series, Pixels] | str:
    """The close series on a grid of the frame and the strong cells, or why there is none."""
    height, width = image.shape[0] // factor, image.shape[1] // factor
    small = _averaged(image, factor)
    background = _background(small)
    contrast = _pooled_contrast(image, background, factor)
    # The line crosses every column, text and labels only some: the typical
    # column's strongest pixel is the line's own contrast.
    line_contrast = int(_percentile(contrast.max(axis=0), 0.8))
    if line_contrast < _MIN_LINE_CONTRAST:
        return "no chart line found (blank or low-contrast image)"
    threshold = max(_MIN_LINE_CONTRAST // 2, int(_STRONG_SHARE * line_contrast))
    strong = (contrast >= threshold).view(np.uint8)
    solid = _solid_blocks(strong, fills=True)
    chrome = _solid_blocks(strong) if solid else []
    # Solid and wide: chrome, or an area chart's fill (under the line, so ragged on top).
    fills = [box for box in solid if _ragged_top(strong, box)]
    chrome = [box for box in chrome if not any(_overlap(box, fill) for fill in fills)]
    _clear(strong, chrome, 1)
    for box in fills:
        _keep_fill_edge(strong, contrast, box)
    _clear_axis_lines(strong)
    pane = _keep_main_pane(strong)
    colours = _strong_colours(strong, small, background)
    if not isinstance(colours, tuple):
        return colours
    ys, xs, groups, _, count = colours
    found = _candle_pieces(ys, xs, (groups, count), (height, width))
    run = _candle_run(found.boxes, (height, width))
    line: _Series | str | None = None
    if run is None:
        # A clean line, and no run of candle pieces beside it: a line chart.
        line = _line_series(colours, (height, width))
        if isinstance(line, _Series) and not line.rough:
            return replace(line, factor=factor), strong
    # Candles and bars a few pixels apart touch on the pooled grid (a rough line
    # there, or candles): look for them on a finer one (at most `_MAX_FINE_COLUMNS`
    # across). A line chart skips this pass, which costs more than all the rest.
    fine = max(1, -(-image.shape[1] // _MAX_FINE_COLUMNS))
    if fine < factor:
        cut = image[: image.shape[0] // fine * fine, : image.shape[1] // fine * fine]
        fine_strong = _strong_strokes(_pooled_contrast(cut, background, fine), threshold)
        _clear(fine_strong, chrome, factor / fine)
        _clear_axis_lines(fine_strong)
        fine_strong[: pane[0] * factor // fine] = 0
        fine_strong[pane[1] * factor // fine :] = 0
        fine_colours = _strong_colours(fine_strong, _averaged(cut, fine), background)
        if isinstance(fine_colours, tuple):
            fine_ys, fine_xs, fine_groups, _, fine_count = fine_colours
            shape = fine_strong.shape
            fine_found = _candle_pieces(fine_ys, fine_xs, (fine_groups, fine_count), shape)
            fine_run = _candle_run(fine_found.boxes, shape)
            fine_candles = _read_candles(fine_ys, fine_xs, fine_found, fine_run, shape)
            if fine_candles is not None:
                return replace(fine_candles, factor=fine), strong
    candles = _read_candles(ys, xs, found, run, (height, width))
    if candles is not None:
        return replace(candles, factor=factor), strong
    if line is None:
        line = _line_series(colours, (height, width))
    return line if isinstance(line, str) else (replace(line, factor=factor), strong)


def _line_series(colours: _StrongCells, shape: tuple[int, int]) -> _Series | str:
    """The price line: the colour group spanning the chart, traced column by column."""
    ys, xs, groups, directions, count = colours
    colour = _line_colour(ys, xs, directions, groups, count, shape)
    if colour is None:
        return "no chart line found (nothing spans the chart)"
    member = directions @ colour >= _SAME_COLOUR_COS
    mask = np.zeros(shape, np.uint8)
    mask[ys[member], xs[member]] = 1
    return _column_trace(mask)


def _strong_strokes(contrast: Pixels, threshold: int) -> Pixels:
    """Strong cells, plus one cell of each thin stroke split between two columns or rows.

    A one-pixel stroke drawn between two pixel columns (a bar's stem at a
    half-pixel x) keeps about half its contrast in each: neither reaches the
    threshold, and the bar falls apart into loose ticks. Two neighbours that
    together reach it, with next to nothing on either side, are such a stroke:
    the stronger of the two stands for it (a fill or a wide faint patch has
    neighbours as strong as itself, and stays out).
    """
    strong = (contrast >= threshold).view(np.uint8)
    c = contrast
    first, second = _split_pairs((c[:, :-3], c[:, 1:-2], c[:, 2:-1], c[:, 3:]), threshold)
    strong[:, 1:-2] |= first
    strong[:, 2:-1] |= second
    first, second = _split_pairs((c[:-3], c[1:-2], c[2:-1], c[3:]), threshold)
    strong[1:-2] |= first
    strong[2:-1] |= second
    return strong


def _split_pairs(
    lines: tuple[Pixels, Pixels, Pixels, Pixels], threshold: int
) -> tuple[Pixels, Pixels]:
    """Where each pair of neighbours (2nd, 3rd of four lines of cells) holds a split stroke.

    Returns where the first of the pair stands for it and where the second does.
    """
    before, a, b, after = lines
    outer = cv2.max(before, after)
    low = cv2.min(a, b)
    split = (
        (cv2.add(a, b) >= threshold)
        & (cv2.max(a, b) < threshold)
        & (low >= threshold // 4)
        & (cv2.add(outer, outer) <= low)
    )
    first = split & (a >= b)
    return first.view(np.uint8), (split ^ first).view(np.uint8)


def _averaged(image: Pixels, factor: int) -> Pixels:
    """The frame's BGR colours averaged over factor x factor blocks.

    Area averages keep each pixel's colour direction from the background (a thin
    line's cell mixes line and background, nothing else).
    """
    small = image
    if factor > 1:
        size = (image.shape[1] // factor, image.shape[0] // factor)
        small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
    if small.shape[2] == 4:
        small = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGRA2BGR), np.uint8)
    return small


_StrongCells = tuple[
    npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp], Floats32, int
]


def _strong_colours(strong: Pixels, small: Pixels, background: Floats) -> _StrongCells | str:
    """Rows, columns, colour groups, colour directions of the strong cells, and the group count."""
    # findNonZero is 3x faster than numpy's.
    found = cv2.findNonZero(strong)
    if found is None:
        return "no chart line found (blank or low-contrast image)"
    # (x, y) rows, in row-major order.
    cells: npt.NDArray[np.intp] = np.asarray(found, np.intp).reshape(-1, 2)
    xs, ys = cells[:, 0], cells[:, 1]
    diffs = small[ys, xs].astype(np.float32) - background.astype(np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", diffs, diffs))[:, np.newaxis]
    directions: Floats32 = diffs / np.maximum(norms, np.float32(1e-6))
    groups, count = _colour_groups(directions)
    return ys, xs, groups, directions, count


def _solid_blocks(strong: Pixels, fills: bool = False) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, width, height) of solid filled rectangles wider than any candle.

    Infobars, toolbars, banners: a price line is thin one way or the other
    wherever it is (flat: a few rows tall; steep: a few columns wide), so a
    square of `_SOLID_KERNEL` cells fits in no part of it; a candle body is
    solid but narrow. What is both solid and wide is chrome, and so is the text
    on it: its whole bounding box goes. With `fills`, solid shapes spanning a
    line's width that do not fill their box are listed too (an area's fill).
    """
    width = strong.shape[1]
    solid = cv2.erode(strong, _SOLID_KERNEL)
    if not solid.any():
        return []
    solid = cv2.dilate(solid, _SOLID_KERNEL)
    boxes = _solid_boxes(solid.astype(np.uint8, copy=False), width, fills)
    # Bands along the frame's edges that meet at a corner (a dark title bar and a dark
    # side panel, or the black of a window partly off the screen) are one shape but no
    # rectangle: each band alone is chrome.
    height = strong.shape[0]
    reach = max(_SOLID_KERNEL.shape[0], int(_CHROME_MIN_WIDTH * width))
    for kernel in (np.ones((1, reach), np.uint8), np.ones((reach, 1), np.uint8)):
        band = _opened(solid, kernel)
        boxes += [
            (left, top, span, tall)
            for left, top, span, tall in _solid_boxes(band, width, False)
            if (left, top, span, tall) not in boxes
            and (left == 0 or top == 0 or left + span == width or top + tall == height)
        ]
    return boxes


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether two boxes (left, top, width, height) share a cell."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _solid_boxes(solid: Pixels, width: int, fills: bool) -> list[tuple[int, int, int, int]]:
    count, _, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=4)
    return [
        (left, top, span, tall)
        for left, top, span, tall, area in stats[1:count].tolist()
        if span >= _CHROME_MIN_WIDTH * width
        and (area >= _SOLID_FILL * span * tall or (span >= _MIN_LINE_WIDTH * width and fills))
    ]


def _clear_axis_lines(strong: Pixels) -> None:
    """Clear straight solid lines across most of the plot: its frame, axes and rules.

    A plot area is boxed or underlined by axis lines, straight and unbroken
    over most of its width or height, often in the colour of the text and
    grid (and so of a grey or pale price line). No series draws one: a price
    held flat for over half the chart reads flat anyway, and a candle or a
    line's drop never spans half the height in one column.
    """
    height, width = strong.shape
    # Dashes a few cells apart count as unbroken: a dashed grid line is a rule too.
    gap = np.ones((1, _AXIS_GAP), np.uint8)
    across = cv2.morphologyEx(strong, cv2.MORPH_CLOSE, gap)
    across = _opened(across, np.ones((1, int(_AXIS_SPAN * width)), np.uint8))
    down = cv2.morphologyEx(strong, cv2.MORPH_CLOSE, gap.T)
    down = _opened(down, np.ones((int(_AXIS_SPAN * height), 1), np.uint8))
    # Where a candle or the price line crosses a rule, the crossing stays (ink
    # beyond the rule's thickness on both sides): the series is not cut in two.
    for runs, axis in ((across, 0), (down, 1)):
        if runs.any():  # most frames have no frame or rule left by now
            strong[(runs > 0) & ~_beyond(strong, axis)] = 0


def _ragged_top(strong: Pixels, box: tuple[int, int, int, int]) -> bool:
    """Whether a solid block's top edge goes up and down: an area chart's fill, not chrome.

    Bars, banners and panels are rectangles; the fill under a price line
    follows the price.
    """
    left, top, span, tall = box
    inside = strong[top : top + tall, left : left + span].astype(bool)
    present = inside.any(axis=0)
    if present.mean() < 0.9:
        return False
    tops = np.argmax(inside, axis=0)[present]
    return bool(np.ptp(tops) > max(3, 0.1 * tall))


def _keep_fill_edge(strong: Pixels, contrast: Pixels, box: tuple[int, int, int, int]) -> None:
    """Within an area chart's fill, keep only what stands out from the fill: its line.

    A translucent fill strong enough to pass the threshold is still fainter
    than the line drawn along its edge; halfway between the fill's typical
    contrast and the strongest is the line.
    """
    left, top, span, tall = box
    region = strong[top : top + tall, left : left + span]
    values = contrast[top : top + tall, left : left + span]
    fill = float(np.median(values[region > 0]))
    cut = (fill + float(values.max())) / 2.0
    region[values < cut] = 0


def _keep_main_pane(strong: Pixels) -> tuple[int, int]:
    """Clear all but the tallest band of rows holding ink: the price chart's pane.

    Volume, RSI or MACD panes, a range slider or a navigator under the chart,
    and a header over it, stand apart from it, with blank rows between (the
    axis lines between panes are gone by now). A price series crosses every
    row of its own range (a line is continuous, each candle opens where the
    last one closed), so its pane is one band, and the tallest. Returns the
    rows kept (first, last + 1).
    """
    inked = np.flatnonzero(strong.any(axis=1))
    breaks = np.flatnonzero(np.diff(inked) > _PANE_GAP)
    if inked.size == 0 or breaks.size == 0:
        return 0, strong.shape[0]
    starts = np.concatenate(([inked[0]], inked[breaks + 1]))
    ends = np.concatenate((inked[breaks], [inked[-1]]))
    best = int(np.argmax(ends - starts))
    strong[: starts[best]] = 0
    strong[ends[best] + 1 :] = 0
    return int(starts[best]), int(ends[best]) + 1


def _beyond(strong: Pixels, axis: int) -> npt.NDArray[np.bool_]:
    """Cells with ink 3 cells away on both sides along `axis` (rows: 0, columns: 1)."""
    ink = strong > 0
    before = np.zeros_like(ink)
    after = np.zeros_like(ink)
    if axis == 0:
        before[3:], after[:-3] = ink[:-3], ink[3:]
    else:
        before[:, 3:], after[:, :-3] = ink[:, :-3], ink[:, 3:]
    crossing: npt.NDArray[np.bool_] = before & after
    return crossing


def _opened(mask: npt.NDArray[Any], kernel: Pixels) -> Pixels:
    """The runs of set cells at least as long as a one-row or one-column `kernel`.

    Morphological opening by a line, in time linear in the cells (OpenCV's
    opening costs the kernel's length per cell), with nothing set beyond the edges.
    """
    tall = kernel.shape[0] > 1
    cells = (mask > 0).T if tall else mask > 0
    length = max(kernel.shape)
    height, width = cells.shape
    runs = np.zeros((height, width), np.uint8)
    # Only rows holding that many cells at all can hold such a run (few do).
    candidates = np.flatnonzero(np.count_nonzero(cells, axis=1) >= length)
    edges = np.zeros((candidates.size, width + 2), np.int8)
    edges[:, 1:-1] = cells[candidates]
    steps = np.diff(edges, axis=1)
    picked, starts = np.nonzero(steps == 1)
    ends = np.nonzero(steps == -1)[1]  # the same runs, in the same (row-major) order
    rows = candidates[picked]
    long = ends - starts >= length
    for row, first, stop in zip(rows[long], starts[long], ends[long], strict=True):
        runs[row, first:stop] = 1
    return np.ascontiguousarray(runs.T) if tall else runs


def _clear(strong: Pixels, boxes: list[tuple[int, int, int, int]], scale: float) -> None:
    """Clear the boxes (in cells of a grid `scale` times coarser), with a cell's margin."""
    for left, top, span, tall in boxes:
        x0, y0 = int((left - 1) * scale), int((top - 1) * scale)
        x1, y1 = int(np.ceil((left + span + 1) * scale)), int(np.ceil((top + tall + 1) * scale))
        strong[max(0, y0) : y1, max(0, x0) : x1] = 0


def _colour_groups(directions: Floats32) -> tuple[npt.NDArray[np.intp], int]:
    """Each strong cell's colour group (5 levels a channel of its direction), numbered 0..n-1."""
    levels = np.rint((directions + 1.0) * 2.0).astype(np.intp)
    groups = levels[:, 0] * 25 + levels[:, 1] * 5 + levels[:, 2]
    # Renumber the groups present 0..n-1: the tables that follow stay small.
    used = np.zeros(125, np.bool_)
    used[groups] = True
    renumbered: npt.NDArray[np.intp] = (np.cumsum(used) - 1)[groups]
    return renumbered, int(np.count_nonzero(used))


def _percentile(values: Pixels, share: float) -> float:
    """np.percentile with linear interpolation, by partial sort (a third of the time)."""
    rank = share * (values.size - 1)
    low = int(rank)
    high = min(low + 1, values.size - 1)
    parted = np.partition(values, (low, high))
    return float(parted[low]) + (rank - low) * (float(parted[high]) - float(parted[low]))


def _line_colour(
    ys: npt.NDArray[np.intp],
    xs: npt.NDArray[np.intp],
    directions: Floats32,
    groups: npt.NDArray[np.intp],
    count: int,
    shape: tuple[int, int],
) -> Floats32 | None:
    """Unit colour direction of the group covering most columns outside horizontal rows."""
    height, width = shape
    per_row = np.bincount(ys * count + groups, minlength=height * count)
    keep = per_row[ys * count + groups] <= _HORIZONTAL_ROW_SHARE * width
    coverage = _columns_covered(groups[keep], xs[keep], count, width)
    best = int(np.argmax(coverage))
    if coverage[best] < _MIN_LINE_WIDTH * width:
        # Nothing but horizontal rules: maybe the price line itself, flat.
        keep[:] = True
        coverage = _columns_covered(groups, xs, count, width)
        best = int(np.argmax(coverage))
        if coverage[best] < _MIN_LINE_WIDTH * width:
            return None
    # The members' sum by a matrix product: boolean indexing and mean() cost 20x more.
    total = (keep & (groups == best)).astype(np.float32) @ directions
    unit: Floats32 = total / np.linalg.norm(total)
    return unit


def _columns_covered(
    groups: npt.NDArray[np.intp], xs: npt.NDArray[np.intp], count: int, width: int
) -> npt.NDArray[np.intp]:
    """How many distinct columns each of `count` groups has a pixel in."""
    seen = np.zeros((count, width), np.bool_)
    seen[groups, xs] = True
    covered: npt.NDArray[np.intp] = np.count_nonzero(seen, axis=1)
    return covered


class _CandlePieces(NamedTuple):
    """The pieces of the colour groups that look like candles, and what else was seen."""

    boxes: list[_Piece]
    glyph_cells: int  # strong cells in pieces that are text
    line_cells: int  # cells of the largest piece of a line (price or average)


def _candle_pieces(
    ys: npt.NDArray[np.intp],
    xs: npt.NDArray[np.intp],
    grouped: tuple[npt.NDArray[np.intp], int],
    shape: tuple[int, int],
) -> _CandlePieces:
    """The pieces of each colour group made of narrow upright pieces (candles, bars).

    Candles and bars are narrow upright pieces side by side, each colour group
    (up, down, or one for a monochrome chart) holding most of its cells in
    them; a line group holds its cells in one wide piece, and moving averages
    or other lines drawn over the candles stay out of it.
    """
    height, width = shape
    groups, count = grouped
    coverage = _columns_covered(groups, xs, count, width)
    candidates = np.flatnonzero(coverage >= _CANDLE_GROUP_COVERAGE * width)
    # 16-bit labels are 3x faster, and enough when every other cell of every other
    # row could start a piece (8-connected pieces are never closer).
    label_type = cv2.CV_16U if -(-height // 2) * -(-width // 2) < 1 << 16 else cv2.CV_32S
    boxes: list[_Piece] = []
    glyph_cells = line_cells = 0
    for group in candidates[np.argsort(coverage[candidates])[::-1]][:_MAX_CANDLE_GROUPS]:
        member = groups == group
        mask = np.zeros((height, width), np.uint8)
        mask[ys[member], xs[member]] = 1
        _drop_horizontal_lines(mask)
        _drop_horizontal_lines(mask.T)  # and vertical ones: a crosshair, a dotted time marker
        _drop_thin_runs(mask)
        found, labels, stats, _ = cv2.connectedComponentsWithStats(
            mask, connectivity=8, ltype=label_type
        )
        # Candles: narrow pieces, or clumps of them (neighbours touching on the pooled
        # grid) whose columns jump in height where a line's change smoothly.
        candle_cells = text_cells = 0
        taken: list[_Piece] = []
        squat: list[_Piece] = []  # narrow but not upright: a doji, or a bit of a line
        for label, (left, top, span, tall, area) in enumerate(stats[1:found].tolist(), 1):
            piece = labels[top : top + tall, left : left + span] == label
            if span > 2 and tall <= 2 * span and _looks_like_text(piece):
                text_cells += area
                continue  # a glyph (8, 0, $): about as tall as wide, crossing columns twice
            # Upright: a candle with its wicks (or a bar) is taller than wide; bits of a
            # line broken up by JPEG noise are not.
            narrow = span <= _MAX_CANDLE_WIDTH * width
            if (narrow and tall >= span) or (not narrow and _spiky(piece)):
                candle_cells += area
                taken.append(_Piece(left, top, span, tall, area, piece))
            else:
                squat.append(_Piece(left, top, span, tall, area, piece))
        cells = int(stats[1:found, cv2.CC_STAT_AREA].sum()) - text_cells
        glyph_cells += text_cells
        if len(taken) < _MIN_CANDLES // 2 or candle_cells < 0.6 * cells:
            wide = [box.area for box in squat if box.span > _MAX_CANDLE_WIDTH * width]
            line_cells = max(line_cells, *wide, 0)
            continue
        # Upright pieces make the group candles; the rest of it is candles too: a quiet
        # market's dojis, and candles close enough to touch (a clump).
        boxes += taken + squat
    return _CandlePieces(boxes, glyph_cells, line_cells)


def _drop_thin_runs(mask: Pixels) -> None:
    """Clear thin horizontal runs wider than any candle: a flat stretch, never a candle.

    A market holding one price draws dojis or bar ticks side by side, which
    merge into one thin run; joined to the last real candle it would make a
    wide piece that is no candle, and hide that candle too. `_held_flat`
    reads the run as the flat stretch it is.
    """
    width = mask.shape[1]
    length = int(_MAX_CANDLE_WIDTH * width) + 2
    runs = _opened(mask, np.ones((1, length), np.uint8))
    if not runs.any():
        return
    thick = cv2.morphologyEx(runs, cv2.MORPH_OPEN, np.ones((3, 1), np.uint8))
    mask[(runs > 0) & (thick == 0)] = 0


def _read_candles(
    ys: npt.NDArray[np.intp],
    xs: npt.NDArray[np.intp],
    found: _CandlePieces,
    run: tuple[list[tuple[int, int]], list[_Piece], int] | None,
    shape: tuple[int, int],
) -> _Series | None:
    """The close series of a candlestick or OHLC-bar chart, or None when it is no such chart.

    The candle pieces (`_candle_pieces`) must stand side by side across the
    chart (`run`, from `_candle_run`, which leaves out a volume histogram) and
    hold most of its strong cells.
    """
    height, width = shape
    if run is None:
        return None
    pieces, boxes, volume = run
    glyph_cells, line_cells = found.glyph_cells, found.line_cells
    # Candles are what the chart is made of (text and volume aside: a bar chart's thin
    # stems hold fewer cells than its labels); specks along a line or labels are not.
    first, last = pieces[0][0], pieces[-1][1]
    inside = [box for box in boxes if first <= box.left <= last]
    cells = ys.size - volume - glyph_cells
    if sum(box.area for box in inside) < max(_CANDLE_SHARE * cells, line_cells):
        return None
    union = np.zeros((height, width), np.uint8)
    for box in inside:
        union[box.top : box.top + box.tall, box.left : box.left + box.span] |= box.mask.view(
            np.uint8
        )
    present = union.any(axis=0)
    tops = np.where(present, np.argmax(union, axis=0), -1)
    bottoms = height - 1 - np.argmax(union[::-1], axis=0)
    middles = [(tops[a : b + 1].min() + bottoms[a : b + 1].max()) / 2.0 for a, b in pieces]
    if np.ptp(middles) < _MIN_CANDLE_SPREAD * height:
        return None  # a row of glyphs, or ticks of an axis
    usual = float(np.median([box.span for box in inside]))
    return _close_series(pieces, tops, bottoms, usual)


def _candle_run(
    boxes: list[_Piece], shape: tuple[int, int]
) -> tuple[list[tuple[int, int]], list[_Piece], int] | None:
    """Candles standing side by side across the chart: their column ranges, pieces and volume.

    None unless at least `_MIN_CANDLES` of them span `_MIN_LINE_WIDTH` of the
    width. The volume is the cells of a volume histogram, left out.
    """
    height, width = shape
    if not boxes:
        return None
    standing = _without_volume(boxes, height)
    volume = sum(box.area for box in boxes) - sum(box.area for box in standing)
    boxes = _alone_in_their_columns(standing, shape)
    pieces = _side_by_side(_merge_columns(boxes), boxes, height)
    if len(pieces) < _MIN_CANDLES or pieces[-1][1] - pieces[0][0] < _MIN_LINE_WIDTH * width:
        return None
    return pieces, boxes, volume


def _spiky(piece: npt.NDArray[np.bool_]) -> bool:
    """Columns much taller than a neighbour (a wick or stem beside a body edge or a tick)."""
    height = piece.shape[0]
    present = piece.any(axis=0)
    extent = np.where(
        present, height - np.argmax(piece[::-1], axis=0) - np.argmax(piece, axis=0), 0
    )
    return _spiky_share(extent) >= _SPIKY_SHARE


def _spiky_share(extent: npt.NDArray[np.intp]) -> float:
    """Share of columns over three times as tall as a neighbour (plus two cells)."""
    neighbour = np.minimum(np.roll(extent, 1), np.roll(extent, -1))
    return float(np.mean(extent[1:-1] > 3 * neighbour[1:-1] + 2))


def _without_volume(boxes: list[_Piece], height: int) -> list[_Piece]:
    """Drop the pieces standing on one common bottom row below all others (a volume histogram).

    Candles' lows are as random as their prices: a dozen of them never end on
    one row, and volume bars stand on the chart's floor, under every candle.
    """
    if len(boxes) < _MIN_CANDLES:
        return boxes
    bottoms = np.array([box.top + box.tall for box in boxes])
    counts = np.bincount(bottoms)
    common = int(np.argmax(np.convolve(counts, np.ones(3), mode="same")))
    on_base = np.abs(bottoms - common) <= 1
    if common < 0.6 * height or common < bottoms.max() - 1 or on_base.sum() < _MIN_CANDLES:
        return boxes
    return [box for box, base in zip(boxes, on_base, strict=True) if not base]


def _alone_in_their_columns(boxes: list[_Piece], shape: tuple[int, int]) -> list[_Piece]:
    """Drop narrow pieces stacked over one another far apart: price labels, text over candles.

    A candle or bar is alone in its columns (a broken-off bit of its wick stays
    close to it); a piece keeps its place only if it is more than twice the size
    of anything narrow standing far above or below it (a header glyph over a
    candle goes, a stack of labels goes whole). A letter of a row of text
    (`_in_a_text_row`) is never such a rival: the candles under a sentence stay.
    """
    if len(boxes) < 2:
        return boxes
    height, width = shape
    lefts, tops, spans, talls, areas = np.array(
        [(b.left, b.top, b.span, b.tall, b.area) for b in boxes]
    ).T
    rights, bottoms = lefts + spans, tops + talls
    shared = (lefts[:, None] < rights) & (lefts < rights[:, None])
    gap = np.maximum(tops[:, None] - bottoms, tops - bottoms[:, None])
    far = gap > max(2.0, _MIN_CANDLE_SPREAD * height)
    rivals = (spans <= _MAX_CANDLE_WIDTH * width) & (2 * areas > areas[:, None])
    text = _in_a_text_row(tops, bottoms, lefts, talls)
    rivals &= ~text | text[:, None]  # a letter vetoes only letters (of labels stacked)
    crowded = (shared & far & rivals).any(axis=1)
    return [box for box, drop in zip(boxes, crowded, strict=True) if not drop]


def _in_a_text_row(
    tops: npt.NDArray[np.intp],
    bottoms: npt.NDArray[np.intp],
    lefts: npt.NDArray[np.intp],
    talls: npt.NDArray[np.intp],
) -> npt.NDArray[np.bool_]:
    """Pieces of a row of text: a few neighbours of about its height close by on the same
    top or bottom row.

    Letters of a line of text are about one height (x-height or cap height) and
    share its top or their baseline, a few of them within ten letter heights
    (the round ones are left out as text before this, so the rest stand
    sparse); candles' highs, lows and lengths are as random as their prices.
    """
    aligned = (np.abs(tops[:, None] - tops) <= 1) | (np.abs(bottoms[:, None] - bottoms) <= 1)
    close = np.abs(lefts[:, None] - lefts) <= _TEXT_ROW_REACH * talls[:, None]
    alike = np.abs(talls[:, None] - talls) <= np.maximum(1, talls[:, None] // 3)
    others = np.count_nonzero(aligned & close & alike, axis=1) - 1  # each piece counts itself
    row: npt.NDArray[np.bool_] = others >= _TEXT_ROW_NEIGHBOURS
    return row


def _side_by_side(
    pieces: list[tuple[int, int]], boxes: list[_Piece], height: int
) -> list[tuple[int, int]]:
    """The widest run of pieces standing side by side: candles leave narrow, even gaps.

    A gap over three times the usual one (and over two cells and a candle's
    width) ends a run: price labels, a side panel or a header stand apart from
    the candles. One candle missed (too faint, or of a colour seen nowhere
    else) leaves the next one two pitches away (within a quarter pitch): that
    does not end a run. Each candle opens about where the one before closed,
    so neighbours share rows; a piece far above or below its neighbour (text
    in a bar over the chart, a label) starts another run, or is left out if
    the piece after it follows on.
    """
    if len(pieces) < 2:
        return pieces
    gaps = np.array([b[0] - a[1] - 1 for a, b in itertools.pairwise(pieces)])
    pitch = float(np.median([b[0] - a[0] for a, b in itertools.pairwise(pieces)]))
    widest_gap = max(2.0, 3.0 * float(np.median(gaps)), float(np.median([b.span for b in boxes])))
    rows = _row_ranges(pieces, boxes)
    reach = _MIN_CANDLE_SPREAD * height  # a price gap between sessions, a missed candle

    def follows(a: int, b: int) -> bool:
        """Piece b stands right after piece a: close by, or one candle further, and attached."""
        gap = pieces[b][0] - pieces[a][1] - 1
        skipped_one = abs((sum(pieces[b]) - sum(pieces[a])) / 2 - 2 * pitch) <= 0.25 * pitch
        attached = rows[b, 0] <= rows[a, 1] + reach and rows[b, 1] >= rows[a, 0] - reach
        return bool((gap <= widest_gap or skipped_one) and attached)

    runs: list[list[int]] = [[0]]
    for index in range(1, len(pieces)):
        last = runs[-1][-1]
        if follows(last, index):
            runs[-1].append(index)
        elif not (index + 1 < len(pieces) and follows(last, index + 1)):
            runs.append([index])  # else a stray piece between two candles: left out
    best = max(runs, key=lambda run: pieces[run[-1]][1] - pieces[run[0]][0])
    return [pieces[index] for index in best]


def _row_ranges(pieces: list[tuple[int, int]], boxes: list[_Piece]) -> npt.NDArray[np.intp]:
    """(top, bottom) row of each column range, over the boxes in it."""
    lefts = np.array([box.left for box in boxes])
    tops = np.array([box.top for box in boxes])
    bottoms = np.array([box.top + box.tall - 1 for box in boxes])
    rows = np.empty((len(pieces), 2), np.intp)
    for index, (first, last) in enumerate(pieces):
        inside = (lefts >= first) & (lefts <= last)
        rows[index] = tops[inside].min(), bottoms[inside].max()
    return rows


def _merge_columns(boxes: list[_Piece]) -> list[tuple[int, int]]:
    """Column ranges (first, last) of pieces, pieces sharing columns merged (a line cut one)."""
    merged: list[tuple[int, int]] = []
    for left, span in sorted((box.left, box.span) for box in boxes):
        right = left + span - 1
        if merged and left <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], right))
        else:
            merged.append((left, right))
    return merged


def _split_clumps(pieces: list[tuple[int, int]], usual: float) -> list[tuple[int, int]]:
    """Pieces, with clumps (candles the pooled grid joined) cut into single columns.

    Dense candles touch once pooled; their columns' middles still follow the price.
    """
    split: list[tuple[int, int]] = []
    for first, last in pieces:
        if last - first + 1 > 2.5 * usual + 1:
            split += [(column, column) for column in range(first, last + 1)]
        else:
            split.append((first, last))
    return split


def _close_series(
    pieces: list[tuple[int, int]],
    tops: npt.NDArray[np.intp],
    bottoms: npt.NDArray[np.intp],
    usual: float,
) -> _Series:
    """Closes, interpolated between the pieces' centre columns.

    A piece whose first and last columns cover the same rows is a candle (the
    body's edges are its open and close); otherwise it is an OHLC bar (open on
    the left tick, close on the right). Which body edge is the close is told by
    the next candle, which opens where this one closed (colour is never used:
    palettes are inverted, hollow or single-coloured). The last candle closes
    at the edge away from the previous close.
    """
    bars = candles = 0
    opens: list[tuple[float, ...]] = []  # the rows the piece may open at
    closes: list[float | None] = []
    centres: list[float] = []
    for first, last in _split_clumps(pieces, usual):
        centres.append((first + last) / 2.0)
        left = (float(tops[first]), float(bottoms[first]))
        right = (float(tops[last]), float(bottoms[last]))
        if last - first < 2:  # too thin to tell a body from its wick: the middle
            middle = (tops[first : last + 1].min() + bottoms[first : last + 1].max()) / 2.0
            opens.append((float(middle),))
            closes.append(float(middle))
        elif abs(left[0] - right[0]) <= 1 and abs(left[1] - right[1]) <= 1:
            candles += 1
            opens.append(((left[0] + right[0]) / 2, (left[1] + right[1]) / 2))
            closes.append(None)
        else:
            bars += 1
            opens.append((sum(left) / 2,))
            closes.append(sum(right) / 2)
    for index, close in enumerate(closes):
        if close is not None:
            continue
        edges = opens[index]
        if index + 1 < len(opens):
            following = opens[index + 1]
            closes[index] = min(edges, key=lambda e: min(abs(e - o) for o in following))
        elif index > 0:
            previous = closes[index - 1]
            assert previous is not None
            closes[index] = max(edges, key=lambda e: abs(e - previous))
        else:
            closes[index] = sum(edges) / 2
    columns = np.arange(int(np.ceil(centres[0])), int(centres[-1]) + 1)
    values: Floats = np.interp(columns, centres, np.array(closes, np.float64))
    read_at = np.clip(np.round(centres).astype(np.intp) - columns[0], 0, columns.size - 1)
    kind = "bars" if bars > candles else "candles"
    return _Series(kind, int(columns[0]), values, read_at=tuple(read_at.tolist()))


def _line_components(mask: Pixels) -> npt.NDArray[np.bool_]:
    """The widest line-like piece, plus wide pieces that continue it in other columns."""
    # Faint stretches of a thin anti-aliased line fall under the strong threshold;
    # joining pieces a few pixels apart keeps the line whole (glyphs stay compact).
    joined = cv2.dilate(mask, _JOIN_KERNEL)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        joined, connectivity=8, ltype=cv2.CV_16U
    )
    width = mask.shape[1]
    widths = stats[1:count, cv2.CC_STAT_WIDTH]
    order = np.argsort(widths)[::-1] + 1
    taken = np.zeros(width, np.bool_)
    line = np.zeros(mask.shape, np.bool_)
    for label in order:
        left, top, span, tall = (int(v) for v in stats[label, :4])
        if span < 0.05 * width:
            break
        # A broken-off piece of the line covers new columns; text above it does not.
        if taken[left : left + span].mean() > 0.2:
            continue
        piece = (labels[top : top + tall, left : left + span] == label) & (
            mask[top : top + tall, left : left + span] > 0
        )
        if _looks_like_text(piece) or not _continues(line, taken, piece, (left, top)):
            continue
        taken[left : left + span] = True
        line[top : top + tall, left : left + span] |= piece
    return line


def _continues(
    line: npt.NDArray[np.bool_],
    taken: npt.NDArray[np.bool_],
    piece: npt.NDArray[np.bool_],
    corner: tuple[int, int],
) -> bool:
    """Whether a piece next to the line so far picks up where it stops (a label beside it does not).

    A line broken by a faint stretch goes on near the row where it stopped; a
    price label or a side panel's text beside the line's end sits anywhere.
    At either end of the piece, the nearest column the line spans (within the
    gap `_longest_run` bridges) must hold line ink within a tenth of the
    height of the piece's end; one end that does is enough. Pieces with no
    part of the line nearby are judged later (`_longest_run`).
    """
    height, width = line.shape
    left, top = corner
    reach = max(3, width // 30)  # the widest gap `_longest_run` bridges
    near = 0.1 * height  # a steep line broken for a few columns moves less than this
    verdicts = []
    for edge, step in ((0, -1), (piece.shape[1] - 1, 1)):
        column = left + edge
        rows = np.flatnonzero(piece[:, edge])
        for neighbour in range(column + step, column + step * (reach + 1), step):
            if 0 <= neighbour < width and taken[neighbour]:
                # The line's nearest column: it must hold ink near the piece's end.
                there = np.flatnonzero(line[:, neighbour])
                ink = there.size > 0 and rows.size > 0
                verdicts.append(ink and abs(there.mean() - top - rows.mean()) < near)
                break
    return not verdicts or any(verdicts)


def _looks_like_text(piece: npt.NDArray[np.bool_]) -> bool:
    """Glyphs cross a column several times (8, $, 0); a price line crosses it once."""
    runs = piece[0].astype(np.intp) + (piece[1:] & ~piece[:-1]).sum(axis=0)
    crossed = runs > 0
    return bool(crossed.any() and (runs[crossed] > 1).mean() > _TEXT_MULTI_RUN_SHARE)


def _drop_horizontal_lines(mask: Pixels) -> None:
    """Clear rows holding a grid, dotted or dashed line of a similar colour.

    Done before pieces are joined, or a dotted line would join everything it
    crosses. Only pixels with nothing two rows above or below count: a thick or
    wiggling price line crosses some rows many times, but never as a thin rule.
    A rule runs edge to edge or is broken into dots; a solid run that stops
    short is the price line gone flat, and stays.
    """
    height, width = mask.shape
    near = np.zeros_like(mask)
    near[2:] = mask[:-2]
    near[:-2] |= mask[2:]
    rules = np.count_nonzero(mask > near, axis=1) > _HORIZONTAL_ROW_SHARE * width
    rows = np.flatnonzero(rules)
    if rows.size == 0:
        return
    # Gaps count only if the rows next door have them too: a flat line that
    # wobbles by a pixel leaves gaps in each row but none in the band.
    band = mask[rows] | mask[np.maximum(rows - 1, 0)] | mask[np.minimum(rows + 1, height - 1)]
    dotted = band[:, 0] + np.count_nonzero(band[:, 1:] > band[:, :-1], axis=1) >= _DOTS_PER_ROW
    first = np.argmax(mask[rows], axis=1)
    last = width - 1 - np.argmax(mask[rows, ::-1], axis=1)
    # Dotted rules cross the chart; the ticks of quiet OHLC bars stop where the market moved.
    dotted &= last - first >= _DOTTED_SPAN * width
    if mask[rows].sum() > 0.7 * mask.sum():
        rows = rows[dotted]  # little but solid rules: the price line itself is flat
    else:
        rows = rows[dotted | (last - first >= _RULE_SPAN * width)]
    mask[rows] = 0


def _column_trace(mask: Pixels) -> _Series | str:
    height, width = mask.shape
    _drop_horizontal_lines(mask)
    line = _line_components(mask)
    present = line.any(axis=0)
    if present.sum() < _MIN_LINE_WIDTH * width:
        return "no chart line found (line too short)"
    top = np.argmax(line, axis=0)
    bottom = height - 1 - np.argmax(line[::-1], axis=0)
    extent = bottom - top
    # A column far taller than the line's usual stroke holds a vertical artefact
    # (grid line, glyph touching the line); its neighbours say where the line is.
    usual = float(np.median(extent[present]))
    tall = extent > max(4.0 * usual + 2.0, 0.1 * height)
    trace = np.where(present & ~tall, (top + bottom) / 2.0, np.nan)
    trace = _drop_outliers(trace, height)
    # Neighbouring columns of one line overlap (within the join kernel's reach);
    # a jump between touching columns means another object begins there.
    reach = _JOIN_KERNEL.shape[0]
    detached = (top[1:] > bottom[:-1] + reach) | (bottom[1:] < top[:-1] - reach)
    series = _longest_run(trace, detached, width)
    if isinstance(series, str):
        return series
    spikes = _spiky_share(np.where(present, extent + 1, 0))
    return replace(series, rough=spikes >= _ROUGH_SHARE)


def _drop_outliers(trace: Floats, height: int) -> Floats:
    """Blank columns far from the median of their neighbours (stray pixels, tall glyphs)."""
    valid = np.flatnonzero(~np.isnan(trace))
    if valid.size < 7:
        return trace
    values = trace[valid]
    windows = np.lib.stride_tricks.sliding_window_view(_pad_edges(values, 3), 7)
    medians = np.partition(windows, 3, axis=1)[:, 3]  # np.median's answer, 5x faster
    far = np.abs(values - medians) > max(3.0, 0.05 * height)
    cleaned = trace.copy()
    cleaned[valid[far]] = np.nan
    return cleaned


def _longest_run(trace: Floats, detached: npt.NDArray[np.bool_], width: int) -> _Series | str:
    """The longest connected stretch of columns (small gaps interpolated).

    `detached[i]` says column i+1 does not touch column i.
    """
    valid = np.flatnonzero(~np.isnan(trace))
    if valid.size == 0:
        return "no chart line found (line too short)"
    gaps = np.diff(valid)
    max_gap = max(3, width // 30)
    breaks = np.flatnonzero((gaps > max_gap) | ((gaps == 1) & detached[valid[:-1]]))
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [valid.size - 1]))
    lengths = valid[ends] - valid[starts]
    best = int(np.argmax(lengths))
    first, last = int(valid[starts[best]]), int(valid[ends[best]])
    if last - first + 1 < _MIN_LINE_WIDTH * width:
        return "no chart line found (line too short)"
    columns = np.arange(first, last + 1)
    keep = valid[starts[best] : ends[best] + 1]
    filled: Floats = np.interp(columns, keep, trace[keep])
    return _Series("line", first, filled)


def _pad_edges(values: Floats, count: int) -> Floats:
    """np.pad(values, count, mode="edge") without its setup cost."""
    padded: Floats = np.concatenate((np.full(count, values[0]), values, np.full(count, values[-1])))
    return padded


def _smooth(values: Floats) -> Floats:
    size = max(3, len(values) // 40) | 1
    padded = _pad_edges(values, size // 2)
    smoothed: Floats = np.convolve(padded, np.full(size, 1.0 / size), mode="valid")
    return smoothed


def _last_turning_point(values: Floats, swing: float) -> int:
    """Index where the last zigzag leg starts (a move of at least `swing` confirms a turn)."""
    series = values.tolist()
    low = high = pivot = extreme = 0
    direction = 0
    for index, value in enumerate(series):
        if direction == 0:
            low = index if value < series[low] else low
            high = index if value > series[high] else high
            if value - series[low] >= swing:
                direction, pivot, extreme = 1, low, index
            elif series[high] - value >= swing:
                direction, pivot, extreme = -1, high, index
        elif direction * (value - series[extreme]) >= 0:
            extreme = index
        elif direction * (series[extreme] - value) >= swing:
            direction, pivot, extreme = -direction, extreme, index
    return pivot


def _flat_tail(values: Floats) -> int:
    """How many of the last values stay inside a band `_FLAT_BAND` wide (0-100 scale)."""
    backwards = values[::-1]
    spread = np.maximum.accumulate(backwards) - np.minimum.accumulate(backwards)
    return int(np.argmax(spread > _FLAT_BAND)) if spread[-1] > _FLAT_BAND else values.size


def _score(values: Floats) -> tuple[TrendReading, int]:
    """The direction at the right edge, and where the last leg starts.

    Flat now means none: when the most recent stretch of the series, at least
    `_FLAT_TAIL` of the visible width, stays inside a band `_FLAT_BAND` of the
    visible range (the series is scaled 0-100), the market has stopped moving
    and the reading is `none`, whatever came before. A leg that is still
    moving leaves that band within the last tenth and is scored as a whole.
    """
    smoothed = _smooth(values)
    pivot = _last_turning_point(smoothed, _MIN_SWING)
    tail = _flat_tail(smoothed)
    if tail >= _FLAT_TAIL * smoothed.size:
        share = round(100 * tail / smoothed.size)
        reason = f"flat for the last {share}% of the chart (within {_FLAT_BAND:.0f}% of its range)"
        return TrendReading(Trend.NONE, 0.5, reason), smoothed.size - tail
    segment = smoothed[pivot:]
    if segment.size < 3:
        segment = smoothed[-3:]
    delta = float(segment[-1] - segment[0])
    # Least-squares slope (np.polyfit's, in closed form) times the segment's length.
    offsets = np.arange(segment.size) - (segment.size - 1) / 2.0
    slope = float(offsets @ (segment - segment.mean())) / float(offsets @ offsets)
    fitted = slope * (segment.size - 1)
    recent = max(3, len(smoothed) // 10)
    momentum = float(smoothed[-1] - smoothed[-recent])
    # End-to-end change carries most weight; the fit resists a noisy last point,
    # momentum notices a fresh reversal the zigzag has not confirmed yet.
    score = 0.5 * delta + 0.3 * fitted + 0.2 * momentum
    where = round(100 * pivot / max(1, len(values) - 1))
    figures = f"change {delta:+.0f}, fit {fitted:+.0f}, momentum {momentum:+.0f} (0-100 scale)"
    if abs(score) < _FLAT_SCORE:
        reading = TrendReading(Trend.NONE, 0.5, f"flat since turning point at {where}%: {figures}")
        return reading, pivot
    trend = Trend.UP if score > 0 else Trend.DOWN
    agreeing = sum(1 for part in (delta, fitted, momentum) if part * score > 0)
    confidence = min(1.0, abs(score) / 40.0) * (0.4 + 0.2 * agreeing)
    start = _leg_start(smoothed, 1.0 if score > 0 else -1.0)
    where = round(100 * start / max(1, len(values) - 1))
    reason = f"{trend} since turning point at {where}%: {figures}"
    return TrendReading(trend, round(confidence, 3), reason), start


def _leg_start(values: Floats, sign: float) -> int:
    """Where the final leg, moving `sign`-wards into the right edge, starts.

    Walking back from the right edge, the leg goes on while the price keeps
    reaching further from where it ends (on the 0-100 scale); it starts at
    the last such point before either the price went the other way by
    `_LEG_TURN` (a turn) or held for `_LEG_STALL` of the width without
    getting further (a pause the leg set out from).
    """
    moving = sign * values  # the leg rises into the edge
    stall = max(3, int(_LEG_STALL * values.size))
    start = lowest = values.size - 1
    for index in range(values.size - 2, -1, -1):
        if moving[index] < moving[lowest] - _LEG_STEP:
            start = lowest = index
        elif moving[index] > moving[lowest] + _LEG_TURN or start - index > stall:
            break
    return start
