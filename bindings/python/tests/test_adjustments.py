"""Adjustments through Python: late usage of an issued period, by the engine's rule."""

from decimal import Decimal

import pytest

import stackbill

SCENARIO = {
    "period": "2026-10",
    "platform": {"currency": "AUD", "time_zone": "UTC"},
    "distributors": [{"id": "d"}],
    "partners": [{"id": "p", "distributor": "d"}],
    "tenants": [{"id": "t", "partner": "p", "tax_percent": "10"}],
    "subscriptions": [{"id": "s", "tenant": "t", "region": "r"}],
    "price_lists": [{"id": "l", "scope": {"region": "r"}, "currency": "AUD",
                     "effective_from": "2026-01-01", "items": [{"meter": "m", "rate": "0.5"}]}],
    "usage": [{"id": "u1", "subscription": "s", "meter": "m", "start": "2026-10-05T00:00:00Z",
               "end": "2026-10-05T01:00:00Z", "quantity": "10"}],
}

LATE = {"id": "u2", "subscription": "s", "meter": "m", "start": "2026-10-06T00:00:00Z",
        "end": "2026-10-06T01:00:00Z", "quantity": "4"}


def test_late_usage_gives_one_adjustment_and_not_twice():
    issued = stackbill.rate(SCENARIO).to_dict()["invoices"][0]
    now = stackbill.rate(SCENARIO, usage=[LATE]).to_dict()["invoices"][0]
    found = stackbill.adjustments("2026-10", now, [("2026-10", issued)])
    assert found == [
        stackbill.Adjustment(adjusts="2026-10", of_kind="charge", subscription="s", meter="m",
                             sku=None, quantity=Decimal("4"), price_list="l",
                             amount=Decimal("2.00"))
    ]
    # Once a later invoice carries it, nothing is left to adjust.
    line = {"kind": "adjustment", "subscription": "s", "meter": "m", "sku": None,
            "quantity": "4", "price_list": "l", "unit_rate": None, "fx_rate": None,
            "amount": "2.00", "adjusts": "2026-10", "of_kind": "charge"}
    november = {"tenant": "t", "currency": "AUD", "lines": [line]}
    assert stackbill.adjustments("2026-10", now, [("2026-10", issued), ("2026-11", november)]) == []


def test_bad_input_is_an_invalid_scenario_naming_the_field():
    with pytest.raises(stackbill.InvalidScenario) as e:
        stackbill.adjustments("2026-13", {"currency": "AUD", "lines": []}, [])
    assert [p.path for p in e.value.problems] == ["period"]
