"""Starter evidence: the Metapsy peer-support database shipped in the package (issue 28).

``make run`` calls ``lma db seed`` after ``lma db upgrade``: on a database without studies, the
bundled file (:mod:`service.data.metapsy`, copied unchanged, ODC-By 1.0) is imported through the
normal import path (:func:`~service.usecases.exchange.importer.import_file`) as included evidence
by a trusted importer, so a first ``GET /v1/outcomes/empowerment/pooled`` answers from real trials.
Provenance is kept on every study: ``source.document`` names the database, its DOI, the copy's
SHA-256 and the licence; ``source.location`` the rows. Production start-up (``lma db upgrade``,
Docker) never seeds; ``lma import-data metapsy --bundled`` imports the same file on request, and
``STARTER_EVIDENCE=false`` turns ``lma db seed`` off.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from importlib import resources

from sqlalchemy.orm import Session

from service.data.metapsy import DOI, FILE_NAME, LICENCE
from service.db.repositories.studies import StudyRepository
from service.usecases.exchange.importer import ImportOptions, ImportReport, import_file
from service.usecases.studies.evidence import WriteContext

__all__ = ["DOI", "FILE_NAME", "LICENCE"]
ACTOR = "starter evidence (bundled Metapsy database)"


def bundled_text() -> str:
    """The bundled Metapsy CSV, exactly as shipped."""
    return resources.files("service.data.metapsy").joinpath(FILE_NAME).read_text(encoding="utf-8")


def release(text: str) -> str:
    """The copy's identity: the SHA-256 of its bytes (the DOI names the published release)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document(text: str) -> str:
    """``source.document`` of every bundled study: database, DOI, copy and licence."""
    return (
        f"Metapsy peer-support database (Metapsy project; doi:{DOI}); bundled file {FILE_NAME}, "
        f"sha256 {release(text)}; {LICENCE}, attribution required (service/data/metapsy/"
        "ATTRIBUTION.md)"
    )


def bundled_options(rob_quality: Mapping[str, str], *, dry_run: bool = False) -> ImportOptions:
    """The import of the bundled file, as ``lma import-data metapsy --bundled`` runs it."""
    return ImportOptions(
        format="metapsy",
        dry_run=dry_run,
        rob_quality=rob_quality,
        document=document(bundled_text()),
    )


def has_studies(session: Session) -> bool:
    """Whether any study, of any status, is stored."""
    return sum(StudyRepository(session).count_by_status().values()) > 0


def seed(session: Session, rob_quality: Mapping[str, str]) -> ImportReport | None:
    """Import the bundled file when the database holds no study (else ``None``)."""
    if has_studies(session):
        return None
    context = WriteContext(actor=ACTOR, request_id=None, may_curate=True, trusted=True)
    return import_file(session, bundled_text(), bundled_options(rob_quality), context)
