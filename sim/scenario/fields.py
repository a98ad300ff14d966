"""Building blocks shared by every scenario section: the strict base model and field types."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from types import NoneType, UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from sim.units import as_utc

# Integers are stored in 64-bit columns and arrays; a larger one would overflow mid-run.
INT64_MAX = 2**63 - 1


def _bare(annotation: Any) -> Any:
    """``annotation`` without ``Annotated`` metadata and without an optional ``None``."""
    if get_origin(annotation) is Annotated:
        return _bare(get_args(annotation)[0])
    if get_origin(annotation) in (Union, UnionType):
        members = [arg for arg in get_args(annotation) if arg is not NoneType]
        return _bare(members[0]) if len(members) == 1 else annotation
    return annotation


@cache
def _number_kinds(model: type[BaseModel], field: str) -> tuple[type | None, type | None]:
    """(int or float if the field is that number, int or float if it is a list of them)."""
    annotation = _bare(model.model_fields[field].annotation)
    if annotation in (int, float):
        return annotation, None
    if get_origin(annotation) is list:
        item = _bare(get_args(annotation)[0])
        return None, item if item in (int, float) else None
    return None, None


def _number_problem(kind: type, value: object) -> str | None:
    # pydantic's lax mode would read true/false as 1/0
    if isinstance(value, bool):
        return "must be a number, not a boolean"
    if kind is int and isinstance(value, int) and abs(value) > INT64_MAX:
        return f"must lie within ±{INT64_MAX} (a 64-bit integer)"
    return None


class Section(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are immutable.

    Numbers must be finite, integers must fit in 64 bits, and a boolean is not accepted
    where a number is expected.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name is None:
            return value
        kind, item_kind = _number_kinds(cls, info.field_name)
        if kind is not None:
            candidates: list[tuple[tuple[int, ...], type, object]] = [((), kind, value)]
        elif item_kind is not None and isinstance(value, list):
            candidates = [((i,), item_kind, item) for i, item in enumerate(value)]
        else:
            return value
        errors = [
            InitErrorDetails(type=PydanticCustomError("number", problem), loc=loc, input=item)
            for loc, number, item in candidates
            if (problem := _number_problem(number, item)) is not None
        ]
        if errors:  # raised as a ValidationError so each list item keeps its own location
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return value


def _not_a_number(value: Any) -> Any:
    # pydantic would read a number as Unix seconds: `end_utc: 2025` would be 1970-01-01T00:33:45
    if isinstance(value, int | float):
        raise ValueError("a number is not a date/time; write e.g. 2024-01-01T00:00:00Z")
    return value


def _utc(moment: datetime) -> datetime:
    try:
        return as_utc(moment)
    except OverflowError as exc:  # e.g. 9999-12-31T23:00:00-05:00
        raise ValueError("is outside the years 1–9999 in UTC") from exc


# Times are UTC; a value without a zone is taken to be UTC.
UtcDatetime = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_utc)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$", max_length=80)]
