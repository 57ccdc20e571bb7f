"""One exception hierarchy; each error knows its HTTP status and problem type (RFC 9457)."""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://living-meta-analysis.example/problems/"


class ServiceError(Exception):
    """Base of every error the service answers on purpose."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal server error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug


class NotFoundError(ServiceError):
    status = 404
    slug = "not-found"
    title = "Resource not found"


class FutureVersionError(NotFoundError):
    """``as_of`` past the newest evidence version: that state of the review does not exist yet.

    A 404 (issue 25), as GitHub answers a ``?ref=`` that names no commit: the URL names a
    resource that is not there, and the request is well formed, so it is no 422. Not a clamp
    to the newest version either: an ``as_of`` answer is cached as immutable, and the state
    at a version yet to come would then be cached as the present one.
    """

    def __init__(self, as_of: int, newest: int) -> None:
        super().__init__(
            f"Evidence version {as_of} does not exist yet; the newest is {newest}. "
            "Ask for a version up to the newest, or leave as_of out for the newest.",
            extra={
                "errors": [{"field": "as_of", "message": f"must be at most {newest}"}],
                "newest_version": newest,
            },
        )


class ConflictError(ServiceError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class PossibleDuplicateError(ConflictError):
    """A new study looks like a stored one (or another of its batch): see ``duplicates``."""

    slug = "possible-duplicate"
    title = "The study looks like one stored already"


class PreconditionFailedError(ServiceError):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class PreconditionRequiredError(ServiceError):
    status = 428
    slug = "precondition-required"
    title = "Precondition required"


class InvalidInputError(ServiceError):
    """Well-formed input that breaks a domain rule; ``errors`` point at the fields."""

    status = 422
    slug = "validation-error"
    title = "The request is not valid"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        members: dict[str, Any] | None = None,
    ) -> None:
        # ``members``: further members of the problem document (RFC 9457, 3.2).
        super().__init__(detail, extra={"errors": errors or [], **(members or {})})


class AuthenticationError(ServiceError):
    status = 401
    slug = "unauthenticated"
    title = "Authentication required"


class PermissionDeniedError(ServiceError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class ServiceUnavailableError(ServiceError):
    status = 503
    slug = "unavailable"
    title = "Service unavailable"


class RateLimitedError(ServiceError):
    """Too many requests with one API key; ``Retry-After`` says when to try again."""

    status = 429
    slug = "rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(
            detail,
            extra={"headers": {"Retry-After": str(retry_after)}, "retry_after": retry_after},
        )


class CostLimitError(ServiceError):
    """A computation that would cost more than the request's ceiling; refused before it starts."""

    status = 422
    slug = "cost-limit-exceeded"
    title = "The request would cost more than its limit"

    def __init__(self, detail: str, *, cost: int, limit: int, setting: str) -> None:
        super().__init__(detail, extra={"cost": cost, "limit": limit, "limit_setting": setting})


class ComputationDeadlineError(ServiceError):
    """A computation that fit its ceiling but ran past its deadline, and was stopped."""

    status = 503
    slug = "computation-deadline"
    title = "The computation ran past its deadline"

    def __init__(self, detail: str, *, retry_after: int = 10) -> None:
        super().__init__(
            detail,
            extra={"headers": {"Retry-After": str(retry_after)}, "retry_after": retry_after},
        )


class UnsupportedMediaTypeError(ServiceError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


MAX_LISTED_ERRORS = 50


def capped_errors(errors: list[dict[str, Any]]) -> dict[str, Any]:
    """At most :data:`MAX_LISTED_ERRORS` field errors, and how many more there were.

    A body of 100,000 bad items would otherwise answer with a 422 a hundred times its size;
    the first 50 are enough to fix the pattern, and ``errors_omitted`` says what is left.
    """
    shown = errors[:MAX_LISTED_ERRORS]
    omitted = len(errors) - len(shown)
    return {"errors": shown, **({"errors_omitted": omitted} if omitted else {})}


def fields_detail(prefix: str, errors: list[dict[str, Any]]) -> str:
    """``prefix`` and the fields named by (at most 50 of) ``errors``, with the count left out."""
    fields = sorted({str(e.get("field", "")) for e in errors[:MAX_LISTED_ERRORS]})
    more = len(errors) - MAX_LISTED_ERRORS
    tail = f" and {more} more error(s) not listed" if more > 0 else ""
    return f"{prefix}Invalid value(s) for: {', '.join(fields) or 'body'}{tail}."
