"""The Python binding's overhead over the CLI on the same usage file.

    python benches/python_overhead.py [ROWS]      (default 1,000,000)

Generates ROWS rows (400 tenants x 25 meters x ROWS/10,000 hours) with `stackbill
gen-usage`, then times, alternately and five times each, `stackbill rate` (a subprocess,
output to /dev/null) and `stackbill.rate(scenario, usage=file).to_json()` in this process,
and prints the median of each and their ratio. Run with the virtualenv where the binding
is installed and with target/release/stackbill built."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import stackbill

rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
root = Path(__file__).resolve().parents[1]
cli = root / "target" / "release" / "stackbill"
work = Path(os.environ.get("BENCH_DIR", tempfile.gettempdir())) / "stackbill-py-bench"
work.mkdir(parents=True, exist_ok=True)
usage, scenario = work / f"usage-{rows}.csv", work / f"scenario-{rows}.json"
if not usage.exists():
    subprocess.run([cli, "gen-usage", "--tenants", "400", "--meters", "25", "--hours", str(rows // 10_000),
                    "--usage", usage, "--scenario", scenario, "--quiet"], check=True)
usage.read_bytes()  # warm the page cache for both

cli_times, py_times = [], []
for _ in range(5):
    started = time.perf_counter()
    subprocess.run([cli, "rate", scenario, "--usage", usage, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    cli_times.append(time.perf_counter() - started)
    started = time.perf_counter()
    stackbill.rate(scenario, usage=usage).to_json()
    py_times.append(time.perf_counter() - started)

c, p = statistics.median(cli_times), statistics.median(py_times)
print(f"rows={rows} cli_median={c:.3f}s python_median={p:.3f}s python/cli={p / c:.3f}")
print(f"cli runs: {' '.join(f'{t:.3f}' for t in cli_times)}")
print(f"python runs: {' '.join(f'{t:.3f}' for t in py_times)}")
