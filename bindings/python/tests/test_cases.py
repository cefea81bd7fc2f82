"""Every case file of core/tests/ through the binding, in every accepted input form."""

import json

import pytest

import stackbill
from conftest import CASE_DIRS, cases


def test_all_vectors_are_present():
    assert len(list(CASE_DIRS[0].glob("*.scenario.json"))) == 9


@pytest.mark.parametrize("scenario,expected", cases())
def test_case(scenario, expected):
    want = json.loads(expected.read_text())
    text = scenario.read_text()
    inputs = [scenario, str(scenario), text, text.encode(), json.loads(text)]
    if "error" in want:
        for given in inputs:
            with pytest.raises(stackbill.InvalidScenario) as err:
                stackbill.rate(given)
            paths = {p.path for p in err.value.problems}
            assert set(want["error"]["paths"]) <= paths
            assert isinstance(err.value, stackbill.StackBillError)
        return
    for given in inputs:
        result = stackbill.rate(given)
        assert result.to_dict() == want
    # Exactly the CLI's text, and the same document however the scenario was given.
    assert json.loads(stackbill.rate(scenario).to_json()) == want


@pytest.mark.parametrize("scenario,expected", [c for c in cases() if "error" not in c.values[1].name])
def test_usage_iterable_equals_inline_usage(scenario, expected):
    doc = json.loads(scenario.read_text())
    want = json.loads(expected.read_text())
    if "error" in want:
        pytest.skip("error case")
    usage = doc.pop("usage", [])
    assert stackbill.rate(doc, usage=iter(usage)).to_dict() == want
