"""Path parameters shared by several routers.

``{outcome}`` is one of the review's outcomes, stated in the spec as the named
``OutcomeSlug`` component (issue 25). A slug outside it names no resource: the validation
handler answers 404 with the outcomes and the nearest one
(:func:`service.api.problems.path_not_found`), as the use cases did before.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from service.schemas.vocabulary import OutcomeSlug

Outcome = Annotated[OutcomeSlug, Path(examples=["empowerment"])]
