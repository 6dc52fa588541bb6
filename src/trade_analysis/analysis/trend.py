"""Read the direction of a line chart from its pixels, without trusting its colour.

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
   JPEG noise, which are all faint next to the line;
3. group strong cells by their colour *direction* from the background (an
   anti-aliased edge and the line's core share it) and pick the group that
   covers the most columns once rows it fills edge to edge are discounted:
   grids and dotted reference lines are horizontal, the price line is not;
4. keep the widest connected piece of that colour (text glyphs are compact),
   read one y per column, drop outliers, and keep the longest run of columns;
5. normalise to 0-100, find the last turning point with a zigzag whose
   minimum swing is relative to the range, and score the segment after it.

Everything is vectorised numpy/OpenCV except loops over a few hundred column
values, a handful of connected components and a few strips of rows. Speed
notes (a 640x400 frame takes about 1 ms): frame-sized temporaries are avoided
(fresh memory costs a page fault per 4 KiB, more than the arithmetic), a BGR
view of a BGRX capture is read in place, and OpenCV gets whole-number scalars.
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
    image, factor = _prepare(pixels)
    trace = _trace_line(image, factor)
    if isinstance(trace, str):
        return TrendReading(Trend.NONE, 0.0, trace)
    span = float(np.max(trace) - np.min(trace))
    height = image.shape[0] // factor
    if span < max(2.0 / factor, _FLAT_SHARE * height):
        return TrendReading(Trend.NONE, 0.6, f"line is flat (moves {span * factor:.0f} px)")
    # Image rows grow downwards; prices grow upwards.
    values = (np.max(trace) - trace) / span * 100.0
    return _score(values)


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
    """Most common colour of the top band (the chart's fill may dominate lower down)."""
    band = image[: max(2, image.shape[0] // 20)]
    colour, share = modal_colour(band)
    if share < 0.5:
        colour, _ = modal_colour(image)
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


def _trace_line(image: Pixels, factor: int) -> Floats | str:
    """One y per pooled column along the price line, or the reason there is none."""
    height, width = image.shape[0] // factor, image.shape[1] // factor
    small = image
    if factor > 1:
        # Area averages keep each pixel's colour direction from the background
        # (a thin line's cell mixes line and background, nothing else).
        small = np.asarray(
            cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), np.uint8
        )
    if small.shape[2] == 4:
        small = np.asarray(cv2.cvtColor(small, cv2.COLOR_BGRA2BGR), np.uint8)
    background = _background(small)
    contrast = _pooled_contrast(image, background, factor)
    # The line crosses every column, text and labels only some: the typical
    # column's strongest pixel is the line's own contrast.
    line_contrast = int(_percentile(contrast.max(axis=0), 0.8))
    if line_contrast < _MIN_LINE_CONTRAST:
        return "no chart line found (blank or low-contrast image)"
    threshold = max(_MIN_LINE_CONTRAST // 2, int(_STRONG_SHARE * line_contrast))
    # An int threshold keeps the compare in uint8; findNonZero is 3x faster than numpy's.
    found = cv2.findNonZero((contrast >= threshold).view(np.uint8))
    if found is None:
        return "no chart line found (blank or low-contrast image)"
    # (x, y) rows, in row-major order.
    cells: npt.NDArray[np.intp] = np.asarray(found, np.intp).reshape(-1, 2)
    xs, ys = cells[:, 0], cells[:, 1]
    diffs = small[ys, xs].astype(np.float32) - background.astype(np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", diffs, diffs))[:, np.newaxis]
    directions: Floats32 = diffs / np.maximum(norms, np.float32(1e-6))
    colour = _line_colour(ys, xs, directions, height, width)
    if colour is None:
        return "no chart line found (nothing spans the chart)"
    member = directions @ colour >= _SAME_COLOUR_COS
    mask = np.zeros((height, width), np.uint8)
    mask[ys[member], xs[member]] = 1
    return _column_trace(mask)


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
    height: int,
    width: int,
) -> Floats32 | None:
    """Unit colour direction of the group covering most columns outside horizontal rows."""
    levels = np.rint((directions + 1.0) * 2.0).astype(np.intp)  # 5 levels per channel
    groups = levels[:, 0] * 25 + levels[:, 1] * 5 + levels[:, 2]
    # Renumber the groups present 0..n-1: the tables below stay small.
    used = np.zeros(125, np.bool_)
    used[groups] = True
    count = int(np.count_nonzero(used))
    groups = (np.cumsum(used) - 1)[groups]
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
        if _looks_like_text(piece):
            continue
        taken[left : left + span] = True
        line[top : top + tall, left : left + span] |= piece
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
    height, width = mask.shape
    near = np.zeros_like(mask)
    near[2:] = mask[:-2]
    near[:-2] |= mask[2:]
    rules = np.count_nonzero(mask > near, axis=1) > _HORIZONTAL_ROW_SHARE * width
    rows = np.flatnonzero(rules)
    if rows.size == 0:
        return
    if mask[rows].sum() > 0.7 * mask.sum():
        # Little but solid rules: the price line itself is flat, keep those.
        # Gaps count only if the rows next door have them too: a flat line that
        # wobbles by a pixel leaves gaps in each row but none in the band.
        band = mask[rows] | mask[np.maximum(rows - 1, 0)] | mask[np.minimum(rows + 1, height - 1)]
        pieces = band[:, 0] + np.count_nonzero(band[:, 1:] > band[:, :-1], axis=1)
        rows = rows[pieces >= _DOTS_PER_ROW]
    mask[rows] = 0


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
    windows = np.lib.stride_tricks.sliding_window_view(_pad_edges(values, 3), 7)
    medians = np.partition(windows, 3, axis=1)[:, 3]  # np.median's answer, 5x faster
    far = np.abs(values - medians) > max(3.0, 0.05 * height)
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


def _score(values: Floats) -> TrendReading:
    smoothed = _smooth(values)
    pivot = _last_turning_point(smoothed, _MIN_SWING)
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
        return TrendReading(Trend.NONE, 0.5, f"flat since turning point at {where}%: {figures}")
    trend = Trend.UP if score > 0 else Trend.DOWN
    agreeing = sum(1 for part in (delta, fitted, momentum) if part * score > 0)
    confidence = min(1.0, abs(score) / 40.0) * (0.4 + 0.2 * agreeing)
    return TrendReading(
        trend, round(confidence, 3), f"{trend} since turning point at {where}%: {figures}"
    )
