"""Edge fractions cut from a captured window before its chart is read."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Annotated, Any

import numpy.typing as npt
from pydantic import BaseModel, Field, model_validator

_EDGES = ("left", "right", "top", "bottom")
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class InvalidCrop(ValueError):
    """A crop with an edge outside [0, 1], or one that leaves no pixels."""


@dataclass(frozen=True)
class Crop:
    """Fractions of the width (left, right) and height (top, bottom) to cut away.

    The default cuts the right 16%, where broker pages put their order panel
    and price axis. It is what `/status` and `/settings/crop` show until a crop
    is set, but a crop nobody set (`chosen` false) does not cut into the
    chart: the reader reads the whole frame and finds the plot area itself
    (`region`), so the newest data of a chart with no axis on the right is
    read. A crop set by a user (globally, per window, on an upload, on the
    command line) is `chosen` and honoured exactly, and so is any crop with other fractions.
    """

    left: float = 0.0
    right: float = 0.16
    top: float = 0.0
    bottom: float = 0.0
    # Set by a user (any edge given), not the default nobody chose. Not part of
    # equality: the same fractions are the same crop on the wire.
    chosen: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for edge in _EDGES:
            value = getattr(self, edge)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidCrop(f"crop {edge} must be a number, got {value!r}")
            if not math.isfinite(value) or not 0.0 <= value <= 1.0:
                raise InvalidCrop(f"crop {edge} must be a fraction in [0, 1], got {value!r}")
        # Refused here too, so a bad setting fails when it is made, not on every frame.
        if self.left + self.right >= 1.0:
            raise InvalidCrop(
                f"crop leaves no pixels: left + right = {self.left + self.right:g} >= 1"
            )
        if self.top + self.bottom >= 1.0:
            raise InvalidCrop(
                f"crop leaves no pixels: top + bottom = {self.top + self.bottom:g} >= 1"
            )

    def with_edges(self, edges: Mapping[str, float]) -> Crop:
        """This crop with the edges given changed; the others stay as they are."""
        unknown = set(edges) - set(_EDGES)
        if unknown:
            raise InvalidCrop(f"crop has no edge {sorted(unknown)[0]!r}; edges are {_EDGES}")
        return replace(self, **edges, chosen=True)

    @classmethod
    def uniform(cls, fraction: float) -> Crop:
        """The same fraction from all four edges (the seed's `crop_factor`)."""
        return cls(fraction, fraction, fraction, fraction, chosen=True)

    @classmethod
    def from_text(cls, text: str) -> Crop:
        """Read `"left,right,top,bottom"`, as typed on the command line."""
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != len(_EDGES):
            raise InvalidCrop(f"crop {text!r} must be four fractions: left,right,top,bottom")
        values: list[float] = []
        for name, part in zip(_EDGES, parts, strict=True):
            try:
                values.append(float(part))
            except ValueError:
                raise InvalidCrop(f"crop {name} must be a number, got {part!r}") from None
        left, right, top, bottom = values
        return cls(left, right, top, bottom, chosen=True)

    def apply(self, pixels: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """The kept region, as a view of `pixels` (no copy)."""
        x0, y0, x1, y1 = self.bounds(pixels.shape[1], pixels.shape[0])
        return pixels[y0:y1, x0:x1]

    def bounds(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The kept region of a width x height image: (left, top, right, bottom) pixels."""
        x0, x1 = round(width * self.left), width - round(width * self.right)
        y0, y1 = round(height * self.top), height - round(height * self.bottom)
        if x1 <= x0 or y1 <= y0:
            raise InvalidCrop(
                f"crop leaves no pixels of a {width}x{height} image "
                f"(columns {x0}..{x1}, rows {y0}..{y1})"
            )
        return x0, y0, x1, y1

    def region(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The region the reader reads: the crop's if chosen, else the whole frame.

        A crop nobody set is no statement about the chart: the reader finds
        the plot area (axes, labels, panels left out) in the whole frame.
        """
        if self.unset:
            return 0, 0, width, height
        return self.bounds(width, height)

    @property
    def unset(self) -> bool:
        """The default nobody chose (a crop made with other fractions counts as chosen)."""
        return not self.chosen and self == Crop()

    def read_region(self, pixels: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """`region` of `pixels`, as a view (no copy)."""
        x0, y0, x1, y1 = self.region(pixels.shape[1], pixels.shape[0])
        return pixels[y0:y1, x0:x1]


class CropSettings(BaseModel):
    """A crop as it is sent and saved: fractions of the window cut from each edge.

    Edges left out take the default; what was given is what is saved back
    (`model_dump(exclude_unset=True)`).
    """

    left: Fraction = 0.0
    right: Fraction = 0.16
    top: Fraction = 0.0
    bottom: Fraction = 0.0

    @model_validator(mode="after")
    def _leaves_pixels(self) -> CropSettings:
        self.to_crop()  # InvalidCrop is a ValueError: a 422 saying why
        return self

    def to_crop(self) -> Crop:
        """The crop; chosen when any edge was given (not the default nobody set)."""
        chosen = bool(self.model_fields_set)
        return Crop(self.left, self.right, self.top, self.bottom, chosen=chosen)

    @classmethod
    def from_crop(cls, crop: Crop) -> CropSettings:
        """The crop as sent; a default nobody chose is sent with no edge set, and stays so."""
        if crop.unset:
            return cls.model_construct()
        return cls(left=crop.left, right=crop.right, top=crop.top, bottom=crop.bottom)
