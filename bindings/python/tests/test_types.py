"""Decimal amounts, aware datetimes, usage in Python types and in files."""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

import stackbill


def scenario():
    return {
        "period": "2026-10",
        "platform": {"currency": "AUD", "time_zone": "Australia/Melbourne"},
        "distributors": [{"id": "d"}],
        "partners": [{"id": "p", "distributor": "d"}],
        "tenants": [{"id": "t", "partner": "p", "tax_percent": Decimal("10")}],
        "subscriptions": [{"id": "s", "tenant": "t", "region": "r"}],
        "price_lists": [
            {"id": "l", "scope": {"region": "r"}, "currency": "AUD", "effective_from": "2026-01-01",
             "items": [{"meter": "m", "rate": Decimal("0.125")}]}
        ],
    }


def test_amounts_are_decimals_and_times_are_aware():
    start = datetime(2026, 10, 5, tzinfo=timezone.utc)
    usage = [
        {"subscription": "s", "meter": "M", "start": start, "end": start + timedelta(hours=1),
         "quantity": Decimal("3")},
        {"subscription": "s", "meter": "m", "start": "2026-10-05T02:00:00Z",
         "end": "2026-10-05T03:00:00Z", "quantity": 8.381903171539307e-08},
        {"subscription": "s", "meter": "m", "start": "2026-10-05T03:00:00Z",
         "end": "2026-10-05T04:00:00Z", "quantity": 2},
    ]
    result = stackbill.rate(scenario(), usage=usage)
    inv = result.invoices[0]
    assert isinstance(inv.total, Decimal) and isinstance(inv.subtotal, Decimal)
    # 5.00000008381903171539307 × 0.125 = 0.625000010477… → 0.63 (half-even of 0.6250000…)
    assert inv.lines[0].quantity == Decimal("5.00000008381903171539307")
    assert inv.subtotal == Decimal("0.63")
    assert inv.tax == Decimal("0.06")
    assert inv.total == Decimal("0.69")
    assert inv.period_start.tzinfo is not None
    assert inv.period_start.utcoffset() == timedelta(hours=10)
    assert inv.period_end.utcoffset() == timedelta(hours=11)
    assert inv.lines[0].unit_rate == Decimal("0.125")
    assert result.commissions[0].party_kind == "distributor"
    assert isinstance(result.commissions[0].base, Decimal)
    assert result.period == "2026-10"


def test_naive_datetimes_are_invalid_usage_not_crashes():
    usage = [{"subscription": "s", "meter": "m", "start": datetime(2026, 10, 5),
              "end": datetime(2026, 10, 5, 1), "quantity": 1}]
    result = stackbill.rate(scenario(), usage=usage)
    assert [u.reason for u in result.unbilled] == ["invalid_usage"]
    assert result.unbilled[0].records == 1


def test_usage_file(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text(
        "id,subscription,meter,sku,resource,start,end,quantity\n"
        "a,s,m,,,2026-10-05T00:00:00Z,2026-10-05T01:00:00Z,4\n"
        "a,s,m,,,2026-10-05T00:00:00Z,2026-10-05T01:00:00Z,8\n"
    )
    result = stackbill.rate(scenario(), usage=path)
    assert result.invoices[0].lines[0].quantity == Decimal("8")
    assert stackbill.rate(scenario(), usage=str(path)).to_json() == result.to_json()
