"""Building blocks shared by every schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue, WithJsonSchema
from pydantic_core import CoreSchema

MAX_ID = 2**31 - 1
"""The largest id or version number: they are 32-bit integer columns."""

# Whitespace as pydantic strips it (Unicode White_Space), as a character class's inside, so
# that a pattern can say what stripping then min_length checks (issue 25).
SPACE_CLASS = (
    "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
)
NONBLANK_PATTERN = f"^[^\\x00]*[^{SPACE_CLASS}\\x00][^\\x00]*$"
"""Not blank once stripped (min_length=1 after stripping), and no NUL."""
NUL_FREE_PATTERN = "^[^\\x00]*$"
"""No NUL (U+0000): what :func:`reject_nul` refuses in every request string."""


@dataclass(frozen=True, slots=True)
class StatedPattern:
    """A pattern the JSON Schema states for a rule that a validator enforces elsewhere.

    The spec then says what the service refuses (issue 25: schemathesis' positive data
    acceptance), while the refusal keeps the validator's own message ("text must not
    contain NUL") instead of pydantic's "String should match pattern". A pattern already
    there (a field's own) is kept: the validator still refuses what this one would.
    """

    pattern: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.setdefault("pattern", self.pattern)
        return schema


@dataclass(frozen=True, slots=True)
class StatedEnum:
    """The values a validator elsewhere allows, stated in the JSON Schema as an enum (a
    ``Literal``'s schema, so that the spec names it as that ``Literal``'s component).

    For a study's vocabulary terms: the use case refuses others with the nearest slug found
    by normalising and abbreviations, among every other rule's errors (service.usecases.
    studies.suggestions), which a ``Literal`` would cut short.
    """

    values: tuple[str, ...]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"enum": list(self.values), "type": "string"}


def stripped_length_pattern(minimum: int) -> str:
    """A pattern for "at least ``minimum`` characters once stripped, and no NUL": the
    characters from the first that is not whitespace to the last that is not (issue 25)."""
    if minimum <= 0:
        return NUL_FREE_PATTERN
    if minimum == 1:
        return NONBLANK_PATTERN
    inner = f"[^\\x00]{{{minimum - 2},}}" if minimum > 2 else "[^\\x00]*"
    end = f"[^{SPACE_CLASS}\\x00]"
    return f"^[{SPACE_CLASS}]*{end}{inner}{end}[{SPACE_CLASS}]*$"


@dataclass(frozen=True, slots=True)
class StatedText:
    """The pattern of a free-text field in the JSON Schema: no NUL, and, with a
    ``min_length``, that many characters once stripped, since every :class:`RequestModel`
    strips before it counts (a field's own pattern is kept, as :class:`StatedPattern`)."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.setdefault("pattern", stripped_length_pattern(schema.get("minLength", 0)))
        return schema


FreeText = Annotated[str, StatedText()]
"""A free-text string of a request body: any text but NUL, which every
:class:`RequestModel` refuses (:func:`reject_nul`; PostgreSQL cannot store it), and at least
its ``min_length`` once stripped."""
TermSlug = Annotated[
    FreeText, StringConstraints(min_length=1, max_length=64), Field(examples=["empowerment"])
]
"""A slug of the review's vocabulary: any short text here, so that the use case can answer an
unknown one with the valid slugs and the nearest ("Internalized stigma" ->
internalized-stigma) instead of a pattern. Defined here, before the filters spelled alike
(service.schemas.events.OutcomeFilter), so that the spec names their component after it."""


# A free-form JSON object of a request, as the spec states it: NUL in no key and no string, at
# any depth (JSON Schema 2020-12: ``propertyNames``, and the object's ``$ref`` to itself), as
# :func:`reject_nul` refuses it. An array in it holds values and objects, not arrays: that is
# what a generated client can type (openapi-python-client resolves a recursive ``$ref`` to an
# object, not to an array or a union: it dropped such a schema), and what a study body, the
# one object sent this way (a candidate's draft), ever has. Validation stays
# ``dict[str, Any]``, so that values are stored exactly as sent. A model's own JSON schema
# says only that keys hold no NUL (a ``$ref`` to a component would dangle there);
# service.api.spec_components names that schema NulFreeJsonObject in the spec, in full.
NUL_FREE_KEYS = {"type": "object", "propertyNames": {"pattern": NUL_FREE_PATTERN}}
_SELF = {"$ref": "#/components/schemas/NulFreeJsonObject"}
_SCALARS = [
    {"type": "null"},
    {"type": "boolean"},
    {"type": "number"},
    {"type": "string", "pattern": NUL_FREE_PATTERN},
]
NUL_FREE_JSON_OBJECT = {
    **NUL_FREE_KEYS,
    "description": "A JSON object without NUL (U+0000) in a key or a string, at any depth; "
    "an array in it holds values and objects, not arrays.",
    "additionalProperties": {
        "anyOf": [*_SCALARS, _SELF, {"type": "array", "items": {"anyOf": [*_SCALARS, _SELF]}}]
    },
}


def _no_array_in_array(value: Any, inside_array: bool = False) -> Any:
    if isinstance(value, list):
        if inside_array:
            raise ValueError("an array here holds values and objects, not arrays")
        for item in value:
            _no_array_in_array(item, inside_array=True)
    elif isinstance(value, dict):
        for item in value.values():
            _no_array_in_array(item)
    return value


FreeJsonObject = Annotated[
    dict[str, Any], AfterValidator(_no_array_in_array), WithJsonSchema(NUL_FREE_KEYS)
]
"""A free-form JSON object of a request body: no NUL anywhere in it, no array in an array."""


_NO_TEXT = frozenset({int, float, bool, type(None)})


def reject_nul(value: Any) -> Any:
    """``value`` unchanged, unless a string in it holds NUL, which PostgreSQL cannot store.

    Called on every field of every request model (a batch of 1,000 studies: some 70,000
    values), so the common cases are answered by exact type first; subclasses (a str enum)
    take the general path.
    """
    kind = type(value)
    if kind is str:
        if "\x00" in value:
            raise ValueError("text must not contain NUL (U+0000) characters")
        return value
    if kind in _NO_TEXT or isinstance(value, BaseModel):  # not looked into, as before
        return value
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL (U+0000) characters")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            reject_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key)
            reject_nul(item)
    return value


class ReadModel(BaseModel):
    """Base of response models: built from ORM objects or dicts."""

    model_config = ConfigDict(from_attributes=True, frozen=True)


M = TypeVar("M", bound=ReadModel)
_FIELD_NAMES: dict[type[BaseModel], frozenset[str]] = {}


def trusted(model: type[M], values: dict[str, Any]) -> M:
    """``model(**values)`` without validation, for values the engine made of the fields' types.

    For response rows built by the thousand (a pooled answer lists every study): pydantic
    validates a row of twenty fields in about 7 us, and ``model_construct`` loops over the
    fields in Python, which costs as much; this takes about 3 us (a row of a few fields gains
    nothing). It sets what ``model_construct`` sets when every field is given (no aliases, no
    private attributes, ``extra`` ignored): the values as they are and every name as explicitly
    set, so ``exclude_unset`` serializes the row exactly as a validated one. The caller
    converts to the exact types (``float(...)`` for a numpy number, models for nested models);
    tests compare both ways of building, byte for byte.
    """
    names = _FIELD_NAMES.get(model)
    if names is None:
        names = _FIELD_NAMES.setdefault(model, frozenset(model.__pydantic_fields__))
    if values.keys() != names:
        raise TypeError(f"{model.__name__} needs exactly its fields, got {sorted(values)}")
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are rejected, strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul_characters(cls, value: Any) -> Any:
        # Refused on SQLite too, so that both backends accept the same requests.
        return reject_nul(value)


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response carries them."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries declaring problem+json bodies for ``statuses``."""
    return {
        status: {"model": Problem, "content": {"application/problem+json": {}}}
        for status in statuses
    }
