"""Who may read which study: unreviewed submissions are not public by default (issue 13).

A ``pending`` or ``excluded`` study carries free text nobody has reviewed (or text a curator
refused), so by default only its submitter (the API key that wrote its first version) and keys
with the ``curate`` scope (``admin`` included) see it. ``UNREVIEWED_STUDIES_PUBLIC=true``
shows every study to everyone, for reviews that want full transparency. Included and withdrawn
studies, pooled results and the counts per status are always public.
"""

from __future__ import annotations

from dataclasses import dataclass

UNREVIEWED_STATUSES = ("pending", "excluded")


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who reads: ``actor`` is the API key's name (``None`` when anonymous)."""

    actor: str | None = None
    sees_unreviewed: bool = False

    def may_see(self, status: str, submitter: str | None) -> bool:
        """Whether a study in ``status``, submitted by ``submitter``, is visible."""
        if self.sees_unreviewed or status not in UNREVIEWED_STATUSES:
            return True
        return self.actor is not None and submitter == self.actor


EVERYONE = Viewer(sees_unreviewed=True)
"""A viewer that sees every study (the command line, and transparent deployments)."""
ANONYMOUS = Viewer()
"""A reader without a key: sees no unreviewed study (the safe default)."""
