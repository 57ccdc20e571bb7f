"""The image formats a plot is rendered in.

Apart from :mod:`.render` so that routes and use cases can name a format without importing
matplotlib, which loads only when a plot is first drawn (issue 24: start-up time).
"""

from __future__ import annotations

from enum import StrEnum


class ImageFormat(StrEnum):
    """The formats a plot route answers in."""

    SVG = "svg"
    PNG = "png"

    @property
    def media_type(self) -> str:
        return "image/svg+xml" if self is ImageFormat.SVG else "image/png"
