"""Building blocks shared by every scenario section: the strict base model and field types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from sim.units import as_utc


class Section(BaseModel):
    """Base of every scenario section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


# Times are UTC; a value without a zone is taken to be UTC.
UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$", max_length=80)]
