"""Polars baseline for benches/compare_polars.sh: read a usage CSV and sum quantity per
(subscription, meter, sku). Prints the best wall time of the eager and the lazy reader."""
import sys
import time

import polars as pl

path = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "lazy"
keys = ["subscription", "meter", "sku"]
started = time.perf_counter()
if mode == "eager":
    out = pl.read_csv(path).group_by(keys).agg(pl.col("quantity").sum())
else:
    out = pl.scan_csv(path).group_by(keys).agg(pl.col("quantity").sum()).collect()
elapsed = time.perf_counter() - started
print(f"{mode} groups={out.height} seconds={elapsed:.3f}")
