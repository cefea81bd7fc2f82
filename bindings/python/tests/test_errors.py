"""Errors arrive as the StackBillError hierarchy, with the details a caller needs."""

import pytest

import stackbill


def test_hierarchy():
    for cls in (stackbill.InvalidScenario, stackbill.MalformedInput, stackbill.UnreadableInput,
                stackbill.UsageFileError, stackbill.AmountOverflow, stackbill.ScopeError):
        assert issubclass(cls, stackbill.StackBillError)


def test_malformed_json_has_position():
    with pytest.raises(stackbill.MalformedInput) as err:
        stackbill.rate('{\n  "period": "2026-10",\n  oops\n}')
    assert (err.value.line, err.value.column) == (3, 3)


def test_missing_files():
    with pytest.raises(stackbill.UnreadableInput, match="nope.json"):
        stackbill.rate("/nonexistent/nope.json")
    with pytest.raises(stackbill.UnreadableInput, match="u.csv"):
        stackbill.rate({"period": "2026-10", "platform": {"currency": "AUD"}}, usage="/nonexistent/u.csv")


def test_bad_usage_format(tmp_path):
    (tmp_path / "u.txt").write_text("")
    (tmp_path / "h.csv").write_text("id,meter\n")
    base = {"period": "2026-10", "platform": {"currency": "AUD"}}
    with pytest.raises(stackbill.UsageFileError):
        stackbill.rate(base, usage=tmp_path / "u.txt")
    with pytest.raises(stackbill.UsageFileError, match="subscription"):
        stackbill.rate(base, usage=tmp_path / "h.csv")


def test_every_problem_is_reported():
    with pytest.raises(stackbill.InvalidScenario) as err:
        stackbill.rate({"period": "2026-13", "platform": {"currency": "aud", "time_zone": "Nowhere/Land"}})
    paths = [p.path for p in err.value.problems]
    assert paths == ["period", "platform.currency", "platform.time_zone"]
    path, message = err.value.problems[0]
    assert path == "period" and "YYYY-MM" in message


def test_unserialisable_scenario_is_a_stackbill_error():
    with pytest.raises(stackbill.StackBillError):
        stackbill.rate({"period": {1, 2}})
    with pytest.raises(stackbill.StackBillError):
        stackbill.rate(42)


def test_scope_errors():
    with pytest.raises(stackbill.ScopeError, match="unknown role"):
        stackbill.can("Emperor", {}, "read", {})
    with pytest.raises(stackbill.ScopeError):
        stackbill.can("PartnerAdministrator", {"distributor": "d"}, "read", {})
    with pytest.raises(stackbill.ScopeError, match="unknown action"):
        stackbill.can("PlatformAdministrator", {}, "fly", {})
    with pytest.raises(stackbill.ScopeError):
        stackbill.can("PlatformAdministrator", {}, "read", {"tenant": "t"})
