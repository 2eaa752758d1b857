"""The service's typed inputs and outputs (pydantic), shared by the routes and the OpenAPI spec.

Every input model refuses unknown fields and non-finite numbers: a misspelt field or a NaN that
slipped through another system must come back as a 422 naming it, never as a silent default.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_ROWS = 200_000
MAX_EXPLAIN_ALL = 1_000

Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\w.\-]+$")]
EntityId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
FreeText = Annotated[str, StringConstraints(max_length=2000)]
FeatureValue = Annotated[float | None, Field(allow_inf_nan=False)]


class Strict(BaseModel):
    """Base of every input: unknown fields and NaN/Infinity are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)


class FeatureRow(Strict):
    """One entity's feature values; ``null`` marks a missing value."""

    entity_id: EntityId
    features: dict[Name, FeatureValue]


class ScoreRequest(Strict):
    """Score a batch: give feature ``rows``, or ``entity_ids`` from the pool's latest feature
    table, or ``all_entities`` to score that whole table. Every row is scored; reasons (SHAP) are
    computed only for the ``explain_top`` highest rows, or for all rows with ``explain_all``.

    Rules across fields (422 naming the rule): exactly one input source: ``rows``,
    ``entity_ids`` or ``all_entities=true``; ``rows`` and ``entity_ids`` not empty; rows
    explained (``explain_top``, or every row with ``explain_all``) at most the service's
    per-request limit (``SERVING_EXPLAIN_MAX_ROWS``, default 1,000), and within the key's
    explained rows per minute (429 beyond)."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        str_strip_whitespace=True,
        json_schema_extra={
            "x-rules": [
                "exactly one of rows, entity_ids, all_entities=true",
                "rows and entity_ids must not be empty",
                "rows explained <= SERVING_EXPLAIN_MAX_ROWS per request",
            ]
        },
    )

    scenario: Name
    rows: list[FeatureRow] | None = Field(default=None, max_length=MAX_ROWS)
    entity_ids: list[EntityId] | None = Field(default=None, max_length=MAX_ROWS)
    all_entities: bool = False
    explain_top: int = Field(default=0, ge=0, le=MAX_ROWS)
    explain_all: bool = False
    max_reasons: int = Field(default=5, ge=1, le=50)
    layout: Literal["records", "columns", "arrow"] = Field(
        default="records",
        description=(
            "How the answer is laid out. records (default): results, one object per row. "
            "columns: parallel lists entity_id, score, probability, percentile and rank (row "
            "i of each is the same entity, in input order) and reasons as an object keyed "
            "by entity id holding only the explained rows (ScoreColumns); far faster for a "
            "client to parse than one object per row. arrow: the same columns as an Arrow "
            "IPC stream (application/vnd.apache.arrow.stream), reasons as JSON text, the "
            "model version in the schema metadata."
        ),
    )

    @model_validator(mode="after")
    def _one_source(self) -> ScoreRequest:
        given = [self.rows is not None, self.entity_ids is not None, self.all_entities]
        if sum(given) != 1:
            raise ValueError("give exactly one of rows, entity_ids or all_entities=true")
        if (self.rows is not None and not self.rows) or (
            self.entity_ids is not None and not self.entity_ids
        ):
            raise ValueError("rows or entity_ids must not be empty")
        return self


class ModelRef(BaseModel):
    """Which registered model version made a score."""

    name: str
    version: str
    alias: str
    run_id: str | None = None


class Reason(BaseModel):
    """One feature's contribution to a score, in plain language, with its SHAP value."""

    feature: str
    value: float | None
    shap: float
    text: str
    #: a rule model's reason: the rule that fired (``shap`` then holds its weight)
    rule: str | None = None


class ScoredRow(BaseModel):
    """One scored entity."""

    entity_id: str
    score: float
    probability: float | None
    percentile: float
    rank: int
    reasons: list[Reason] | None = None


class ScoreResponse(BaseModel):
    """Scores of a batch, in input order, with the model version that made them."""

    scenario: str
    model: ModelRef
    percentile_basis: str
    count: int
    results: list[ScoredRow]


class ScoreColumns(BaseModel):
    """Scores of a batch as parallel columns (``layout=columns``): compact for large batches."""

    scenario: str
    model: ModelRef
    percentile_basis: str
    count: int
    entity_id: list[str]
    score: list[float]
    probability: list[float | None]
    percentile: list[float]
    rank: list[int]
    reasons: dict[str, list[Reason]]


class AssignRequest(Strict):
    """Hand a lead to a unit (交办) with an assignee and a deadline."""

    unit: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    assignee: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    deadline: date
    note: FreeText | None = None


class StartRequest(Strict):
    """Start verifying a dispatched lead (核查)."""

    note: FreeText | None = None


class OutcomeRequest(Strict):
    """The verified result of a lead."""

    outcome: Literal["case_filed", "no_case", "invalid"]
    amount_recovered: float = Field(default=0.0, ge=0, le=1e13, allow_inf_nan=False)
    case_reference: Annotated[str, StringConstraints(max_length=128)] | None = None
    note: FreeText | None = None


class KeyRequest(Strict):
    """Issue an API key; the secret is shown once in the answer and stored only hashed."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    role: Literal["system", "staff", "data_scientist", "admin"]
    district: Name | None = None

    @model_validator(mode="after")
    def _staff_needs_district(self) -> KeyRequest:
        if self.role == "staff" and not self.district:
            raise ValueError("a staff key needs a district")
        return self


class KeyResponse(BaseModel):
    key_id: str
    secret: str
    role: str
    district: str | None


class Principal(BaseModel):
    """Who is calling (answer of /v1/whoami)."""

    key_id: str
    name: str
    role: str
    district: str | None


class ErrorBody(BaseModel):
    """Every error answer: a status, a message and, for validation errors, the fields at fault."""

    status: int
    error: str
    detail: list[dict] | None = None


def _error(description: str) -> dict:
    return {"model": ErrorBody, "description": description}


#: Error answers every /v1 route may give, documented in the OpenAPI spec.
ERROR_RESPONSES: dict[int | str, dict] = {
    400: _error("unparseable request body (not valid JSON, or a malformed form)"),
    401: _error("missing or unknown API key"),
    403: _error("the key's role or district does not allow this"),
    404: _error("unknown scenario, lead or entity"),
    409: _error("the lead's life cycle does not allow this change"),
    405: _error("the path exists but not with this method (see the Allow header)"),
    408: _error("the request body stalled longer than the body timeout"),
    413: _error("request body over the size limit"),
    422: _error(
        "invalid request, unknown query parameter or cross-field rule broken: the "
        "fields at fault are listed in detail"
    ),
    429: _error(
        "rate limit of the API key reached (requests or explained rows per minute); "
        "retry after the Retry-After header's seconds"
    ),
    500: _error("unexpected error, logged under an incident id"),
    503: _error(
        "at capacity for this route class (retry after Retry-After seconds), or no "
        "model version could be loaded for the scenario"
    ),
}


class LoadedModel(BaseModel):
    scenario: str
    alias: str
    name: str
    version: str | None
    registry_version: str | None
    loaded_at: datetime | None
    last_error: str | None
    percentile_basis: str | None


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    models: list[LoadedModel]
