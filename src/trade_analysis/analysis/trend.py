"""Read the direction of a line chart from its pixels, without trusting its colour.

Brokers colour the price line by the *day's* change, so a green line can be
falling at its end and an orange one rising: colour only tells us which pixels
belong to the line, never which way it goes. The steps:

1. estimate the background colour (light or dark themes alike);
2. keep "strong" pixels, those far from the background compared to the
   strongest structure in the frame: this drops grids, translucent fills and
   JPEG noise, which are all faint next to the line;
3. group strong pixels by their colour *direction* from the background (an
   anti-aliased edge and the line's core share it) and pick the group that
   covers the most columns once rows it fills edge to edge are discounted:
   grids and dotted reference lines are horizontal, the price line is not;
4. keep the widest connected piece of that colour (text glyphs are compact),
   read one y per column, drop outliers, and keep the longest run of columns;
5. normalise to 0-100, find the last turning point with a zigzag whose
   minimum swing is relative to the range, and score the segment after it.

Everything is vectorised numpy/OpenCV except loops over a few hundred column
values and a handful of connected components.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from trade_analysis.domain import Trend

Pixels = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float64]

# Columns are sampled, never rows: every column crosses the line once, but a
# thin line can sit in any single row.
_MAX_COLUMNS = 320
_MAX_ROWS = 480
# A frame whose strongest structure is this close to the background is blank.
_MIN_LINE_CONTRAST = 40
# Strong = at least this share of the line's contrast; fills stay below it.
_STRONG_SHARE = 0.45
# A colour group occupying more than this share of a row draws a horizontal line there.
_HORIZONTAL_ROW_SHARE = 0.25
# The price line spans at least this share of the columns.
_MIN_LINE_WIDTH = 0.3
# Pixels whose colour direction is this close (cosine) to the line's belong to it.
_SAME_COLOUR_COS = 0.9
# Smaller than this share of the frame height, the line is flat.
_FLAT_SHARE = 0.03
# Zigzag swing (on the 0-100 scale) that makes a turning point.
_MIN_SWING = 15.0
# Score (0-100 units) under which the final segment counts as flat.
_FLAT_SCORE = 6.0


@dataclass(frozen=True)
class TrendReading:
    trend: Trend
    confidence: float
    reason: str


def read_trend(pixels: npt.NDArray[np.uint8]) -> TrendReading:
    """Trend of the chart line in an HxWx3 BGR uint8 image (any strides)."""
    image = _prepare(pixels)
    trace = _trace_line(image)
    if isinstance(trace, str):
        return TrendReading(Trend.NONE, 0.0, trace)
    span = float(np.max(trace) - np.min(trace))
    if span < max(2.0, _FLAT_SHARE * image.shape[0]):
        return TrendReading(Trend.NONE, 0.6, f"line is flat (moves {span:.0f} px)")
    # Image rows grow downwards; prices grow upwards.
    values = (np.max(trace) - trace) / span * 100.0
    return _score(values)


def _prepare(pixels: npt.NDArray[np.uint8]) -> Pixels:
    """A small contiguous 3-channel copy: sampled columns, rows area-averaged if tall."""
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4):
        raise ValueError(f"pixels must be HxW, HxWx3 or HxWx4, got shape {pixels.shape}")
    height, width = pixels.shape[:2]
    step = max(1, -(-width // _MAX_COLUMNS))
    sampled = pixels[:, ::step, :3]
    if sampled.shape[2] == 1:
        sampled = np.repeat(sampled, 3, axis=2)
    image = np.ascontiguousarray(sampled)
    if height > _MAX_ROWS:
        image = cv2.resize(image, (image.shape[1], _MAX_ROWS), interpolation=cv2.INTER_AREA)
    return image


def _background(image: Pixels) -> Floats:
    """Most common colour of the top band (the chart's fill may dominate lower down)."""
    band = image[: max(2, image.shape[0] // 20)]
    colour, share = _modal_colour(band)
    if share < 0.5:
        colour, _ = _modal_colour(image)
    return colour


def _modal_colour(region: Pixels) -> tuple[Floats, float]:
    flat = region.reshape(-1, 3)
    coarse = (flat >> 3).astype(np.int32)
    keys = (coarse[:, 0] << 10) | (coarse[:, 1] << 5) | coarse[:, 2]
    counts = np.bincount(keys, minlength=1 << 15)
    mode = int(np.argmax(counts))
    members = flat[keys == mode]
    return members.mean(axis=0), float(counts[mode]) / len(keys)


def _kth_largest(values: npt.NDArray[np.uint8], k: int) -> int:
    counts = np.bincount(values.ravel(), minlength=256)
    at_least = np.cumsum(counts[::-1])
    return 255 - int(np.searchsorted(at_least, k))


def _trace_line(image: Pixels) -> Floats | str:
    """One y per column along the price line, or the reason there is none."""
    height, width = image.shape[:2]
    background = _background(image)
    contrast = cv2.absdiff(image, tuple(float(c) for c in background)).max(axis=2)
    # The line alone gives about one full-contrast pixel per column.
    line_contrast = _kth_largest(contrast, max(1, width // 2))
    if line_contrast < _MIN_LINE_CONTRAST:
        return "no chart line found (blank or low-contrast image)"
    ys, xs = np.nonzero(contrast >= max(_MIN_LINE_CONTRAST // 2, _STRONG_SHARE * line_contrast))
    diffs = image[ys, xs].astype(np.float64) - background
    directions = diffs / np.linalg.norm(diffs, axis=1, keepdims=True)
    colour = _line_colour(ys, xs, directions, height, width)
    if colour is None:
        return "no chart line found (nothing spans the chart)"
    member = directions @ colour >= _SAME_COLOUR_COS
    mask = np.zeros((height, width), np.uint8)
    mask[ys[member], xs[member]] = 1
    return _column_trace(mask)


def _line_colour(
    ys: npt.NDArray[np.intp],
    xs: npt.NDArray[np.intp],
    directions: Floats,
    height: int,
    width: int,
) -> Floats | None:
    """Unit colour direction of the group covering most columns outside horizontal rows."""
    levels = np.rint((directions + 1.0) * 2.0).astype(np.intp)  # 5 levels per channel
    groups = levels[:, 0] * 25 + levels[:, 1] * 5 + levels[:, 2]
    per_row = np.bincount(ys * 125 + groups, minlength=height * 125).reshape(height, 125)
    keep = per_row[ys, groups] <= _HORIZONTAL_ROW_SHARE * width
    seen = np.bincount(groups[keep] * width + xs[keep], minlength=125 * width) > 0
    coverage = seen.reshape(125, width).sum(axis=1)
    best = int(np.argmax(coverage))
    if coverage[best] < _MIN_LINE_WIDTH * width:
        return None
    mean = directions[keep & (groups == best)].mean(axis=0)
    unit: Floats = mean / np.linalg.norm(mean)
    return unit


def _line_components(mask: Pixels) -> npt.NDArray[np.bool_]:
    """The widest connected piece, plus wide pieces that continue it in other columns."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    width = mask.shape[1]
    widths = stats[1:count, cv2.CC_STAT_WIDTH]
    if widths.size == 0:
        return np.zeros(mask.shape, np.bool_)
    order = np.argsort(widths)[::-1] + 1
    taken = np.zeros(width, np.bool_)
    chosen: list[int] = []
    for label in order:
        left, span = int(stats[label, cv2.CC_STAT_LEFT]), int(stats[label, cv2.CC_STAT_WIDTH])
        if span < 0.05 * width:
            break
        # Text above the line shares its columns; a broken-off piece does not.
        if taken[left : left + span].mean() > 0.2:
            continue
        taken[left : left + span] = True
        chosen.append(int(label))
    return np.isin(labels, chosen)


def _column_trace(mask: Pixels) -> Floats | str:
    height, width = mask.shape
    line = _line_components(mask)
    # Rows the line fills edge to edge are grid or reference lines it touches.
    line[line.sum(axis=1) > _HORIZONTAL_ROW_SHARE * width] = False
    present = line.any(axis=0)
    if present.sum() < _MIN_LINE_WIDTH * width:
        return "no chart line found (line too short)"
    top = np.argmax(line, axis=0)
    bottom = height - 1 - np.argmax(line[::-1], axis=0)
    trace = np.where(present, (top + bottom) / 2.0, np.nan)
    trace = _drop_outliers(trace, height)
    return _longest_run(trace, width)


def _drop_outliers(trace: Floats, height: int) -> Floats:
    """Blank columns far from the median of their neighbours (stray pixels, tall glyphs)."""
    padded = np.pad(trace, 3, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 7)
    with np.errstate(all="ignore"):
        local = np.nanmedian(windows, axis=1) if np.isnan(trace).any() else np.median(windows, 1)
    far = np.abs(trace - local) > max(4.0, 0.08 * height)
    return np.where(far, np.nan, trace)


def _longest_run(trace: Floats, width: int) -> Floats | str:
    """The longest stretch of columns with small gaps, gaps interpolated."""
    valid = np.flatnonzero(~np.isnan(trace))
    if valid.size == 0:
        return "no chart line found (line too short)"
    max_gap = max(3, width // 30)
    breaks = np.flatnonzero(np.diff(valid) > max_gap)
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
    return filled


def _smooth(values: Floats) -> Floats:
    size = max(3, len(values) // 40) | 1
    padded = np.pad(values, size // 2, mode="edge")
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


def _score(values: Floats) -> TrendReading:
    smoothed = _smooth(values)
    pivot = _last_turning_point(smoothed, _MIN_SWING)
    segment = smoothed[pivot:]
    if segment.size < 3:
        segment = smoothed[-3:]
    delta = float(segment[-1] - segment[0])
    fitted = float(np.polyfit(np.arange(segment.size), segment, 1)[0] * (segment.size - 1))
    recent = max(3, len(smoothed) // 10)
    momentum = float(smoothed[-1] - smoothed[-recent])
    # End-to-end change carries most weight; the fit resists a noisy last point,
    # momentum notices a fresh reversal the zigzag has not confirmed yet.
    score = 0.5 * delta + 0.3 * fitted + 0.2 * momentum
    where = round(100 * pivot / max(1, len(values) - 1))
    figures = f"change {delta:+.0f}, fit {fitted:+.0f}, momentum {momentum:+.0f} (0-100 scale)"
    if abs(score) < _FLAT_SCORE:
        return TrendReading(Trend.NONE, 0.5, f"flat since turning point at {where}%: {figures}")
    trend = Trend.UP if score > 0 else Trend.DOWN
    agreeing = sum(1 for part in (delta, fitted, momentum) if part * score > 0)
    confidence = min(1.0, abs(score) / 40.0) * (0.4 + 0.2 * agreeing)
    return TrendReading(
        trend, round(confidence, 3), f"{trend} since turning point at {where}%: {figures}"
    )
