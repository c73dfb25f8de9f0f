"""Generates the drift benchmark's data: ROWS rows x 20 columns (15 numeric, 5 categorical
with 10 levels), reference and current, as Parquet. Seeded.

    python3 bench/drift/make_data.py ROWS OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def table(rng, rows, shift):
    columns = {}
    for i in range(15):
        columns[f"x{i:02d}"] = rng.normal(loc=shift * (i % 3 == 0), scale=1.0 + 0.1 * i, size=rows)
    levels = np.array([f"L{j}" for j in range(10)])
    for i in range(5):
        p = np.full(10, 0.1)
        if shift and i == 0:
            p = np.linspace(1, 2, 10) / np.linspace(1, 2, 10).sum()
        columns[f"c{i}"] = pa.array(levels[rng.choice(10, size=rows, p=p)]).dictionary_encode()
    return pa.table(columns)


def main():
    rows, out = int(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    pq.write_table(table(rng, rows, 0.0), out / "reference.parquet")
    pq.write_table(table(rng, rows, 0.05), out / "current.parquet")


if __name__ == "__main__":
    main()
