"""Shared paths: the repository's own case files (never anything outside the repo)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CASE_DIRS = [ROOT / "core" / "tests" / "vectors", ROOT / "core" / "tests" / "scenarios"]


def cases():
    found = []
    for d in CASE_DIRS:
        for scenario in sorted(d.glob("*.scenario.json")):
            name = scenario.name[: -len(".scenario.json")]
            found.append(pytest.param(scenario, d / f"{name}.expected.json", id=f"{d.name}/{name}"))
    return found


@pytest.fixture
def vectors_dir() -> Path:
    return ROOT / "core" / "tests" / "vectors"
