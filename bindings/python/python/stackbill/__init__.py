"""StackBill: exact billing for Azure Stack Hub resellers, in-process.

``rate`` takes a scenario (the JSON contract of StackBill's billing semantics) and optional
usage, and returns a :class:`Result` whose invoices, commissions and unbilled entries carry
``decimal.Decimal`` amounts and aware ``datetime`` bounds. ``Result.to_json()`` is exactly
what ``stackbill rate`` prints. Every error is a :class:`StackBillError`.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, List, Mapping, Optional, Tuple, Union

from ._stackbill import (
    ACTIONS,
    GOVERNANCE_SWITCHES,
    ROLES,
    AmountOverflow,
    InvalidScenario,
    MalformedInput,
    Problem,
    ScopeError,
    StackBillError,
    UnreadableInput,
    UsageFileError,
    __version__,
    adjustments_json as _adjustments_json,
    can as _can,
    can_grant as _can_grant,
    rate_json as _rate_json,
)
from .result import Adjustment, Commission, Invoice, Line, Result, Unbilled

__all__ = [
    "ACTIONS",
    "GOVERNANCE_SWITCHES",
    "ROLES",
    "Adjustment",
    "AmountOverflow",
    "Commission",
    "InvalidScenario",
    "Invoice",
    "Line",
    "MalformedInput",
    "Problem",
    "Result",
    "ScopeError",
    "StackBillError",
    "Unbilled",
    "UnreadableInput",
    "UsageFileError",
    "__version__",
    "adjustments",
    "can",
    "can_grant",
    "rate",
]

PathLike = Union[str, "os.PathLike[str]"]
Scenario = Union[Mapping[str, Any], str, bytes, "os.PathLike[str]"]
Usage = Union[PathLike, Iterable[Mapping[str, Any]]]


def _encode(value: Any) -> Any:
    """JSON for the values a Python caller naturally has: exact decimals as strings,
    instants and dates in ISO 8601 (naive datetimes stay naive and are then rejected as
    invalid usage, since an instant needs an offset)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a scenario value")


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, default=_encode)
    except (TypeError, ValueError) as e:
        raise StackBillError(f"not JSON-serialisable: {e}") from None


def rate(scenario: Scenario, usage: Optional[Usage] = None) -> Result:
    """Rates ``scenario`` and returns its invoices, commissions and unbilled report.

    ``scenario`` is a dict, a JSON string, bytes, or a path to a scenario file.
    ``usage`` is added after the scenario's own usage: a path to a ``.csv``/``.ndjson``
    file (optionally ``.gz``), read on every core with the GIL released, or an iterable of
    usage dicts (``Decimal``/``int``/``float``/``str`` quantities, aware ``datetime`` or
    RFC 3339 times).
    """
    is_path = False
    if isinstance(scenario, Mapping):
        text = _dumps(scenario)
    elif isinstance(scenario, bytes):
        text = scenario.decode("utf-8", errors="replace")
    elif isinstance(scenario, str) and scenario.lstrip().startswith("{"):
        text = scenario
    elif isinstance(scenario, (str, os.PathLike)):
        text, is_path = os.fspath(scenario), True
    else:
        raise StackBillError(f"scenario must be a dict, JSON text or a path, not {type(scenario).__name__}")

    files = None
    lines = None
    if usage is None:
        pass
    elif isinstance(usage, (str, os.PathLike)):
        files = [os.fspath(usage)]
    elif isinstance(usage, Mapping):
        raise StackBillError("usage must be a path or an iterable of usage dicts, not one dict")
    else:
        lines = "\n".join(_dumps(record) for record in usage)
    return Result(_rate_json(text, is_path, files, lines))


def can(
    role: str,
    at: Mapping[str, Optional[str]],
    action: str,
    target: Mapping[str, Optional[str]],
    governance: Optional[Mapping[str, bool]] = None,
) -> bool:
    """Whether ``role`` granted at node ``at`` may perform ``action`` (one of
    :data:`ACTIONS`) on node ``target``. Nodes are dicts naming ``distributor``,
    ``partner``, ``tenant`` and ``subscription`` down to their level; ``{}`` is the platform.
    ``governance`` overrides System Settings switches (named in :data:`GOVERNANCE_SWITCHES`)."""
    return _can(role, dict(at), action, dict(target), dict(governance) if governance else None)


def can_grant(
    role: str,
    at: Mapping[str, Optional[str]],
    granted: str,
    target: Mapping[str, Optional[str]],
    governance: Optional[Mapping[str, bool]] = None,
) -> bool:
    """Whether ``role`` granted at ``at`` may grant role ``granted`` at node ``target``."""
    return _can_grant(role, dict(at), granted, dict(target), dict(governance) if governance else None)


def _invoice_text(invoice: Union[Mapping[str, Any], str]) -> str:
    return invoice if isinstance(invoice, str) else _dumps(invoice)


def adjustments(
    period: str,
    now: Union[Mapping[str, Any], str],
    billed: Iterable[Tuple[str, Union[Mapping[str, Any], str]]],
) -> List[Adjustment]:
    """The adjustment lines correcting the issued ``period`` (``YYYY-MM``) for usage that
    arrived after it was billed, by the engine's rule: ``now`` is that period's invoice as
    it rates today (an invoice of :meth:`Result.to_dict`, or its JSON); ``billed`` pairs
    every invoice that billed the period with its own period — the issued invoice of
    ``period`` itself, and later invoices whose adjustment lines name it. Lines that did
    not change give no adjustment; amounts are in ``now``'s currency."""
    pairs = [(p, _invoice_text(doc)) for p, doc in billed]
    lines = json.loads(_adjustments_json(period, _invoice_text(now), pairs))
    return [Adjustment.from_line(line) for line in lines]
