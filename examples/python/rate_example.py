"""Rate the example scenario in-process and feed the invoices to a finance report.

    pip install ./bindings/python
    python examples/python/rate_example.py
"""

from decimal import Decimal
from pathlib import Path

import stackbill

scenario = Path(__file__).resolve().parents[1] / "scenarios" / "northwind.scenario.json"
result = stackbill.rate(scenario)

print(f"period {result.period}")
for invoice in result.invoices:
    print(f"{invoice.tenant:<16} {invoice.currency} {invoice.total:>12}  "
          f"({len(invoice.lines)} lines, {invoice.period_start:%Y-%m-%d %H:%M %z} → {invoice.period_end:%Y-%m-%d})")
    credits = sum((line.amount for line in invoice.lines if line.kind == "credit"), Decimal(0))
    if credits:
        print(f"{'':<16} credits {credits}")
for c in result.commissions:
    print(f"{c.party_kind:<12} {c.party:<16} {c.currency} base {c.base} commission {c.amount} ({c.plan})")

try:
    stackbill.rate({"period": "2026-13", "platform": {"currency": "aud"}})
except stackbill.InvalidScenario as err:
    for problem in err.problems:
        print(f"problem at {problem.path}: {problem.message}")
