"""HTTP schemas for movements and events (the contract of API.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tripp.api.types import (
    Amount,
    ClientId,
    Code,
    Count,
    Identifier,
    JsonFloat,
    JsonInt,
    LongText,
    Mass,
    Money,
    Name,
    PartyId,
    Reference,
    UtcTime,
)
from tripp.corridor.model import TransportMode
from tripp.movements.declaration import Declaration, GoodsItem, Trader, Transport


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TraderIn(_In):
    name: Name
    country: Code


class TransportIn(_In):
    mode: TransportMode
    vehicle_id: Identifier
    nationality: Code
    containers: list[Code] = Field(default_factory=list, max_length=99)


class GoodsItemIn(_In):
    hs_code: Code
    description: LongText
    gross_mass_kg: Mass
    packages: Count
    value: Amount
    currency: Code


class DeclarationIn(_In):
    holder: PartyId
    guarantee: Reference
    office_of_departure: Code
    offices_of_transit: list[Code] = Field(default_factory=list, max_length=20)
    office_of_destination: Code
    transport: TransportIn
    goods: list[GoodsItemIn] = Field(max_length=999)
    consignor: TraderIn
    consignee: TraderIn

    def to_domain(self) -> Declaration:
        t = self.transport
        return Declaration(
            holder=self.holder,
            guarantee=self.guarantee,
            office_of_departure=self.office_of_departure,
            offices_of_transit=tuple(self.offices_of_transit),
            office_of_destination=self.office_of_destination,
            transport=Transport(t.mode, t.vehicle_id, t.nationality, tuple(t.containers)),
            goods=tuple(
                GoodsItem(
                    g.hs_code, g.description, g.gross_mass_kg, g.packages, g.value, g.currency
                )
                for g in self.goods
            ),
            consignor=Trader(self.consignor.name, self.consignor.country),
            consignee=Trader(self.consignee.name, self.consignee.country),
        )


class _EventIn(_In):
    id: ClientId
    office: Code | None = None
    at: UtcTime


class ReleaseIn(_EventIn):
    type: Literal["release"]
    seals: list[Identifier] = Field(default_factory=list, max_length=99)
    tracker_id: Identifier | None = None
    time_limit: UtcTime | None = Field(
        default=None,
        description="Deadline for presentation at destination; default: at + the corridor's time_limit_hours",
    )


class CancelIn(_EventIn):
    type: Literal["cancel"]
    reason: LongText


class BorderCrossingIn(_EventIn):
    type: Literal["border_crossing"]
    direction: Literal["entry", "exit"]


class IncidentIn(_EventIn):
    type: Literal["incident"]
    kind: Literal["seal_broken", "accident", "transhipment", "other"]
    location: (
        Annotated[
            list[Annotated[float, JsonFloat, Field(ge=-180, le=180, allow_inf_nan=False)]],
            Field(min_length=2, max_length=2),
        ]
        | None
    ) = Field(default=None, description="[lon, lat] in WGS 84")
    notes: LongText

    @field_validator("location")
    @classmethod
    def _latitude(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and not -90 <= value[1] <= 90:
            raise ValueError("latitude (the second number) must be within -90..90")
        return value


class ArrivalIn(_EventIn):
    type: Literal["arrival"]


class ControlResultIn(_EventIn):
    type: Literal["control_result"]
    outcome: Literal["satisfactory", "discrepancies"]
    remarks: LongText | None = None


class EnquiryIn(_EventIn):
    type: Literal["enquiry"]
    reason: LongText


class ResolveEnquiryIn(_EventIn):
    type: Literal["resolve_enquiry"]
    outcome: Literal["discharged", "recovery"]


class InspectionIn(_EventIn):
    type: Literal["inspection"]
    kind: Literal["documentary", "xray", "physical"]
    outcome: Literal["no_findings", "findings"]
    findings: LongText | None = None
    duration_min: Annotated[int, JsonInt, Field(ge=0, le=1440)]
    follow_up: Literal["none", "incident", "enquiry"] = Field(
        default="none",
        description="With findings: record them as an incident, or open an enquiry at once",
    )


EventIn = Annotated[
    ReleaseIn
    | CancelIn
    | BorderCrossingIn
    | IncidentIn
    | ArrivalIn
    | ControlResultIn
    | EnquiryIn
    | ResolveEnquiryIn
    | InspectionIn,
    Field(discriminator="type"),
]


class MoneyOut(BaseModel):
    amount: Money
    currency: str


class GoodsItemOut(BaseModel):
    hs_code: str
    description: str | None = None
    gross_mass_kg: Money
    packages: int
    value: Money | None = None
    currency: str | None = None


class TransportOut(BaseModel):
    mode: str
    vehicle_id: str
    nationality: str
    containers: list[str]


class TraderOut(BaseModel):
    name: str
    country: str


class MovementOut(BaseModel):
    """A movement. In the ``operational`` view (the operator's) commercial data is absent."""

    mrn: str
    state: str
    view: Literal["full", "operational"]
    holder: str
    guarantee: str | None = None
    liability: MoneyOut | None = None
    office_of_departure: str
    offices_of_transit: list[str]
    office_of_destination: str
    transport: TransportOut
    goods: list[GoodsItemOut]
    consignor: TraderOut | None = None
    consignee: TraderOut | None = None
    seals: list[str]
    tracker_id: str | None = None
    accepted_at: datetime
    released_at: datetime | None = None
    time_limit: datetime | None = None
    arrived_at: datetime | None = None
    updated_at: datetime
    allowed_events: list[str]


class MovementPage(BaseModel):
    items: list[MovementOut]
    next_cursor: str | None = None


class EventOut(BaseModel):
    id: str
    type: str
    office: str | None = None
    at: datetime
    recorded_at: datetime
    recorded_by: str
    state_before: str
    state_after: str
    payload: dict[str, Any]


class EventRecorded(BaseModel):
    """The answer to a recorded event: the movement's new state and the event."""

    mrn: str
    state: str
    previous_state: str
    allowed_events: list[str]
    event: EventOut


class Timeline(BaseModel):
    mrn: str
    items: list[EventOut]
