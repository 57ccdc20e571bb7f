"""The PRISMA 2020 flow diagram: its counts as text, accessible, the same bytes every time."""

from __future__ import annotations

from service.plots.data import PrismaData
from service.plots.formats import ImageFormat
from service.plots.prisma import description, prisma_diagram

DATA = PrismaData(
    identified=8,
    duplicates_removed=2,
    screened=6,
    awaiting=4,
    excluded=1,
    included=1,
    studies_in_review=7,
    ongoing=2,
    identified_by_source={"ctgov": 5, "pubmed": 3},
    excluded_by_reason={"not-randomized": 1},
)


def test_the_diagram_writes_every_box_as_text() -> None:
    svg = prisma_diagram(DATA).decode()
    for text in (
        "Records identified (n = 8)",
        "ctgov (n = 5)",
        "Duplicate records removed",
        "Records excluded (n = 1)",
        "not-randomized (n = 1)",
        "Awaiting screening (n = 4)",
        "Studies in the review",
    ):
        assert text in svg
    assert '<title id="plot-title">PRISMA 2020 flow diagram' in svg
    assert description(DATA) in svg


def test_the_diagram_is_byte_stable_and_draws_as_png() -> None:
    assert prisma_diagram(DATA) == prisma_diagram(DATA)
    assert prisma_diagram(DATA, ImageFormat.PNG).startswith(b"\x89PNG")
