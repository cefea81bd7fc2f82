"""The output of a rating: the §10 JSON document, and typed views of it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Dict, List, Optional


def _dec(value: Optional[str]) -> Optional[Decimal]:
    return None if value is None else Decimal(value)


@dataclass(frozen=True)
class Line:
    """One invoice line: a charge (one aggregate) or a credit (negative)."""

    kind: str
    subscription: Optional[str]
    meter: str
    sku: Optional[str]
    quantity: Optional[Decimal]
    price_list: str
    unit_rate: Optional[Decimal]
    fx_rate: Optional[Decimal]
    amount: Decimal


@dataclass(frozen=True)
class Invoice:
    """A tenant's invoice for the period, in the tenant's currency."""

    tenant: str
    currency: str
    period_start: datetime
    period_end: datetime
    lines: List[Line]
    subtotal: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True)
class Commission:
    """A partner's or distributor's commission; ``party_kind`` says which."""

    party_kind: str
    party: str
    currency: str
    base: Decimal
    amount: Decimal
    plan: str


@dataclass(frozen=True)
class Adjustment:
    """A correction of an issued period for usage that arrived after it was billed:
    re-rated minus billed, for one (kind, subscription, meter, sku, price list)."""

    adjusts: str
    of_kind: str
    subscription: Optional[str]
    meter: str
    sku: Optional[str]
    quantity: Optional[Decimal]
    price_list: str
    amount: Decimal

    @staticmethod
    def from_line(line: Dict[str, Any]) -> "Adjustment":
        return Adjustment(
            adjusts=line["adjusts"],
            of_kind=line["of_kind"],
            subscription=line["subscription"],
            meter=line["meter"],
            sku=line["sku"],
            quantity=_dec(line["quantity"]),
            price_list=line["price_list"],
            amount=Decimal(line["amount"]),
        )


@dataclass(frozen=True)
class Unbilled:
    """Usage not billed, summed per (reason, subscription, meter, sku)."""

    reason: str
    subscription: Optional[str]
    meter: Optional[str]
    sku: Optional[str]
    quantity: Decimal
    records: int


class Result:
    """A rating's output. ``to_json()`` is byte for byte what ``stackbill rate`` prints;
    ``to_dict()`` is that document parsed (amounts stay strings, as in the contract);
    ``invoices``, ``commissions`` and ``unbilled`` are typed views with ``Decimal`` and
    aware ``datetime`` values."""

    __slots__ = ("_json", "_doc")

    def __init__(self, document: str) -> None:
        self._json = document
        self._doc: Optional[Dict[str, Any]] = None

    def _parsed(self) -> Dict[str, Any]:
        if self._doc is None:
            self._doc = json.loads(self._json)
        return self._doc

    def to_json(self) -> str:
        """The output document of billing-semantics §10 as JSON text."""
        return self._json

    def to_dict(self) -> Dict[str, Any]:
        """The output document as plain Python data (a fresh copy each call)."""
        return json.loads(self._json)

    @property
    def period(self) -> str:
        """The billed month, ``YYYY-MM``."""
        return self._parsed()["period"]

    @property
    def invoices(self) -> List[Invoice]:
        """One invoice per tenant, ordered by tenant id."""
        return [
            Invoice(
                tenant=i["tenant"],
                currency=i["currency"],
                period_start=datetime.fromisoformat(i["period_start"]),
                period_end=datetime.fromisoformat(i["period_end"]),
                lines=[
                    Line(
                        kind=line["kind"],
                        subscription=line["subscription"],
                        meter=line["meter"],
                        sku=line["sku"],
                        quantity=_dec(line["quantity"]),
                        price_list=line["price_list"],
                        unit_rate=_dec(line["unit_rate"]),
                        fx_rate=_dec(line["fx_rate"]),
                        amount=Decimal(line["amount"]),
                    )
                    for line in i["lines"]
                ],
                subtotal=Decimal(i["subtotal"]),
                tax=Decimal(i["tax"]),
                total=Decimal(i["total"]),
            )
            for i in self._parsed()["invoices"]
        ]

    @property
    def commissions(self) -> List[Commission]:
        """Distributors then partners, each by id."""
        out = []
        for c in self._parsed()["commissions"]:
            kind = "distributor" if "distributor" in c else "partner"
            out.append(
                Commission(
                    party_kind=kind,
                    party=c[kind],
                    currency=c["currency"],
                    base=Decimal(c["base"]),
                    amount=Decimal(c["amount"]),
                    plan=c["plan"],
                )
            )
        return out

    @property
    def unbilled(self) -> List[Unbilled]:
        """Everything not billed, with its reason."""
        return [
            Unbilled(
                reason=u["reason"],
                subscription=u["subscription"],
                meter=u["meter"],
                sku=u["sku"],
                quantity=Decimal(u["quantity"]),
                records=u["records"],
            )
            for u in self._parsed()["unbilled"]
        ]

    def __repr__(self) -> str:
        doc = self._parsed()
        return f"<stackbill.Result period={doc['period']} invoices={len(doc['invoices'])} unbilled={len(doc['unbilled'])}>"
