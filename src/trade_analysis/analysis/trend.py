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
from typing import Any

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
# A row broken into this many pieces is dotted or dashed.
_DOTS_PER_ROW = 6
# The price line spans at least this share of the columns.
_MIN_LINE_WIDTH = 0.3
# Pixels whose colour direction is this close (cosine) to the line's belong to it.
_SAME_COLOUR_COS = 0.9
# Joins vertical gaps of 4 rows (steep faint stretches), horizontal ones of 2 columns.
_JOIN_KERNEL = np.ones((5, 3), np.uint8)
# Columns crossed more than once, as a share, above which a piece is text.
_TEXT_MULTI_RUN_SHARE = 0.3
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


def read_trend(pixels: npt.NDArray[Any]) -> TrendReading:
    """Trend of the chart line in an HxWx3 BGR uint8 image (any strides).

    HxW grey and HxWx4 BGRA are accepted too; anything else raises ValueError.
    """
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


def _prepare(pixels: npt.NDArray[Any]) -> Pixels:
    """A contiguous 3-channel copy, area-averaged down when the frame is large."""
    if pixels.dtype != np.uint8:
        raise ValueError(f"pixels must be uint8, got {pixels.dtype}")
    if pixels.ndim == 2:
        pixels = pixels[:, :, np.newaxis]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 3, 4):
        raise ValueError(f"pixels must be HxW, HxWx3 or HxWx4, got shape {pixels.shape}")
    image = pixels[:, :, :3] if pixels.shape[2] != 1 else np.repeat(pixels, 3, axis=2)
    image = np.ascontiguousarray(image)
    height, width = image.shape[:2]
    if height > _MAX_ROWS or width > 3 * _MAX_COLUMNS:
        size = (min(width, 3 * _MAX_COLUMNS), min(height, _MAX_ROWS))
        image = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
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
    coarse = (flat >> 4).astype(np.int32)  # 16 levels a channel: JPEG noise stays in one bin
    keys = (coarse[:, 0] << 8) | (coarse[:, 1] << 4) | coarse[:, 2]
    counts = np.bincount(keys, minlength=1 << 12)
    mode = int(np.argmax(counts))
    members = (keys == mode).astype(np.uint8).reshape(region.shape[:2])
    mean = np.array(cv2.mean(region, mask=members)[:3], np.float64)
    return mean, float(counts[mode]) / len(keys)


def _pooled_contrast(image: Pixels, background: Floats, step: int) -> Pixels:
    """Largest channel difference to the background, max-pooled over `step` columns.

    Max-pooling, not sampling: a steep thin line draws a vertical run in every
    column, and only the union of neighbouring runs keeps it connected.
    """
    height = image.shape[0]
    scalar = tuple(float(c) for c in background)
    diff = cv2.absdiff(image, scalar)  # type: ignore[call-overload]  # stubs omit Scalar
    # On the (H, W*3) view one dilation covers the channels and the pooled columns.
    kernel = np.ones((1, 3 * step), np.uint8)
    # In place: a second frame-sized buffer costs more in page faults than the work.
    spread = diff.reshape(height, -1)
    cv2.dilate(spread, kernel, dst=spread, anchor=(0, 0))
    return np.ascontiguousarray(spread[:, :: 3 * step])


def _source_columns(
    image: Pixels, background: Floats, ys: npt.NDArray[np.intp], xs: npt.NDArray[np.intp], step: int
) -> npt.NDArray[np.intp]:
    """For pooled pixels, the full-width column holding the strongest colour."""
    if step == 1:
        return xs
    candidates = np.minimum(xs[:, np.newaxis] * step + np.arange(step), image.shape[1] - 1)
    channels = np.abs(image[ys[:, np.newaxis], candidates].astype(np.float32) - background)
    # np.maximum over three slices: a reduction along a length-3 axis is slow in numpy.
    strength = np.maximum(np.maximum(channels[..., 0], channels[..., 1]), channels[..., 2])
    picked: npt.NDArray[np.intp] = candidates[np.arange(len(xs)), np.argmax(strength, axis=1)]
    return picked


def _trace_line(image: Pixels) -> Floats | str:
    """One y per (pooled) column along the price line, or the reason there is none."""
    step = max(1, -(-image.shape[1] // _MAX_COLUMNS))
    background = _background(image)
    contrast = _pooled_contrast(image, background, step)
    height, width = contrast.shape
    # The line crosses every column, text and labels only some: the typical
    # column's strongest pixel is the line's own contrast.
    line_contrast = int(np.percentile(contrast.max(axis=0), 80))
    if line_contrast < _MIN_LINE_CONTRAST:
        return "no chart line found (blank or low-contrast image)"
    threshold = max(_MIN_LINE_CONTRAST // 2, int(_STRONG_SHARE * line_contrast))
    ys, xs = np.nonzero(contrast >= threshold)  # an int threshold keeps the compare in uint8
    columns = _source_columns(image, background, ys, xs, step)
    diffs = image[ys, columns].astype(np.float64) - background
    directions = diffs / np.maximum(np.linalg.norm(diffs, axis=1, keepdims=True), 1e-9)
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
        # Nothing but horizontal rules: maybe the price line itself, flat.
        keep[:] = True
        seen = np.bincount(groups * width + xs, minlength=125 * width) > 0
        coverage = seen.reshape(125, width).sum(axis=1)
        best = int(np.argmax(coverage))
        if coverage[best] < _MIN_LINE_WIDTH * width:
            return None
    mean = directions[keep & (groups == best)].mean(axis=0)
    unit: Floats = mean / np.linalg.norm(mean)
    return unit


def _line_components(mask: Pixels) -> npt.NDArray[np.bool_]:
    """The widest line-like piece, plus wide pieces that continue it in other columns."""
    # Faint stretches of a thin anti-aliased line fall under the strong threshold;
    # joining pieces a few pixels apart keeps the line whole (glyphs stay compact).
    joined = cv2.dilate(mask, _JOIN_KERNEL)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    width = mask.shape[1]
    widths = stats[1:count, cv2.CC_STAT_WIDTH]
    order = np.argsort(widths)[::-1] + 1
    taken = np.zeros(width, np.bool_)
    chosen: list[int] = []
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
        if _looks_like_text(piece):
            continue
        taken[left : left + span] = True
        chosen.append(int(label))
    wanted = np.zeros(count, np.bool_)
    wanted[chosen] = True
    line: npt.NDArray[np.bool_] = wanted[labels] & (mask > 0)
    return line


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
    """
    width = mask.shape[1]
    thin = mask.astype(np.bool_)
    thin[2:] &= mask[:-2] == 0
    thin[:-2] &= mask[2:] == 0
    # Gaps count only if the rows next door have them too: a flat line that
    # wobbles by a pixel leaves gaps in each row but none in the band.
    band = mask.astype(np.bool_)
    band[1:] |= mask[:-1] > 0
    band[:-1] |= mask[1:] > 0
    pieces = band[:, 0] + (band[:, 1:] & ~band[:, :-1]).sum(axis=1)
    rules = thin.sum(axis=1) > _HORIZONTAL_ROW_SHARE * width
    if mask[rules].sum() > 0.7 * mask.sum():
        # Little but solid rules: the price line itself is flat, keep those.
        rules &= pieces >= _DOTS_PER_ROW
    mask[rules] = 0


def _column_trace(mask: Pixels) -> Floats | str:
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
    return _longest_run(trace, detached, width)


def _drop_outliers(trace: Floats, height: int) -> Floats:
    """Blank columns far from the median of their neighbours (stray pixels, tall glyphs)."""
    valid = np.flatnonzero(~np.isnan(trace))
    if valid.size < 7:
        return trace
    values = trace[valid]
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(values, 3, mode="edge"), 7)
    far = np.abs(values - np.median(windows, axis=1)) > max(3.0, 0.05 * height)
    cleaned = trace.copy()
    cleaned[valid[far]] = np.nan
    return cleaned


def _longest_run(trace: Floats, detached: npt.NDArray[np.bool_], width: int) -> Floats | str:
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
