"""Figures and their bytes: byte-stable SVG with an accessible title and description, or PNG.

Byte stability (golden-file tests, strong ETags): a fixed hash salt for the SVG element ids,
no date or matplotlib version in the metadata, and text laid out with DejaVu Sans, the font
matplotlib ships, so the layout never depends on the fonts a machine has. Text stays text in
the SVG (``svg.fonttype: none``), which screen readers and search can read.

rcParams are process-wide, so they are set once here, at import, never per request; each plot
is its own :class:`~matplotlib.figure.Figure` (no pyplot state), as in matplotlib's
"Embedding in a web application server" example.
"""

from __future__ import annotations

import io
import re
from xml.sax.saxutils import escape

import matplotlib
from matplotlib.figure import Figure

from service.plots.formats import ImageFormat

matplotlib.rcParams.update(
    {
        "svg.hashsalt": "living-meta-analysis",
        "svg.fonttype": "none",
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.unicode_minus": False,
    }
)

FONT = "DejaVu Sans"
CREATOR = "living-meta-analysis plots"
_SVG_OPEN = re.compile(r"<svg\b[^>]*>")


def new_figure(width: float, height: float) -> Figure:
    """A figure of ``width`` x ``height`` inches, its own object, shared with nobody."""
    return Figure(figsize=(width, height), dpi=100, layout=None)


def _accessible(svg: str, title: str, description: str) -> str:
    # SVG 2, "The 'title' and 'desc' elements", and WAI-ARIA's img role: a screen reader
    # announces the title and can read the description.
    head = _SVG_OPEN.search(svg)
    assert head is not None, "matplotlib wrote no <svg> element"
    opening = head.group(0).replace(
        "<svg", '<svg role="img" aria-labelledby="plot-title plot-desc"', 1
    )
    labels = (
        f'<title id="plot-title">{escape(title)}</title>\n'
        f'<desc id="plot-desc">{escape(description)}</desc>\n'
    )
    return svg[: head.start()] + opening + "\n" + labels + svg[head.end() :]


def figure_bytes(figure: Figure, fmt: ImageFormat, *, title: str, description: str) -> bytes:
    """``figure`` as SVG (with title and description) or PNG, the same bytes every time."""
    buffer = io.BytesIO()
    if fmt is ImageFormat.SVG:
        # No "Title": matplotlib would write a second <title>.
        metadata = {"Date": None, "Creator": CREATOR, "Description": description}
        figure.savefig(buffer, format="svg", metadata=metadata)
        return _accessible(buffer.getvalue().decode(), title, description).encode()
    figure.savefig(buffer, format="png", metadata={"Software": CREATOR, "Title": title})
    return buffer.getvalue()
