"""Drift cases with missing values, as pandas reads them, and Evidently 0.7.23's verdicts.

Writes fixtures/oracle-missing/: one folder per case (reference.csv, current.csv) and
expected.json. Each CSV is written as text, so the missing markers are exactly the ones
named (empty fields, `""`, pandas' default NA strings); the frames Evidently sees are what
`pandas.read_csv` reads back, and Evidently infers every column's kind itself (no data
definition), as `modelgate drift --compat evidently` must.

Needs: evidently==0.7.23, pandas==2.3.3, numpy, scipy (a venv of its own: evidently does
not import with pandas 3). Run: python scripts/make_missing_values_oracle.py
"""

import json
import pathlib
import zlib

import evidently
import numpy as np
import pandas as pd
import scipy
from evidently import Report
from evidently.core.datasets import infer_column_type
from evidently.presets import DataDriftPreset

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "oracle-missing"

# Evidently's display names -> the test names modelgate reports.
STATTESTS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}
# pandas' default NA strings (STR_NA_VALUES), the empty field aside.
MARKERS = ["#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
           "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


def with_gaps(rng, values, count, markers):
    """Text fields of `values`, `count` of them replaced by missing markers in turn.

    One-column files never get the unquoted empty field: that makes a blank line, which
    pandas skips as no row at all (modelgate reads it as a missing value).
    """
    fields = [repr(v) if isinstance(v, float) else str(v) for v in values]
    for i, row in enumerate(rng.choice(len(fields), size=count, replace=False)):
        fields[row] = markers[i % len(markers)]
    return fields


def write_csv(path, columns):
    names = list(columns)
    rows = zip(*columns.values())
    lines = [",".join(names)] + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")


def cases():
    """name -> (reference columns, current columns), each column a list of CSV fields."""
    def rng_for(name):
        return np.random.default_rng(zlib.crc32(name.encode()))

    out = {}

    # 1050 rows, 100 of them missing as pandas writes NaN in a one-column file (`""`): 950
    # reference values, so Evidently's choice is made on the cleaned size (KS).
    r = rng_for("num_nan_n1050")
    out["num_nan_n1050"] = (
        {"value": with_gaps(r, r.normal(0, 1, 1050).tolist(), 100, ['""'])},
        {"value": with_gaps(r, r.normal(0.05, 1, 1050).tolist(), 80, ['""'])},
    )
    # More than 1000 values left: Wasserstein, with empty and quoted-empty fields.
    r = rng_for("num_nan_n3000")
    out["num_nan_n3000"] = (
        {"value": with_gaps(r, r.normal(0, 1, 3000).tolist(), 300, ['""'])},
        {"value": with_gaps(r, r.normal(0.3, 1, 3000).tolist(), 150, ['""'])},
    )
    # Every pandas NA string in a numeric column.
    r = rng_for("num_na_markers_n600")
    out["num_na_markers_n600"] = (
        {"value": with_gaps(r, r.normal(10, 2, 600).tolist(), 57, MARKERS + ['""'])},
        {"value": with_gaps(r, r.normal(10, 2, 600).tolist(), 38, MARKERS + ['""'])},
    )
    # Categorical with gaps: chi-square (<= 1000) and Jensen-Shannon (> 1000); the missing
    # values are not a category.
    r = rng_for("cat_missing_n500")
    levels = np.array(["a", "b", "c", "d"])
    out["cat_missing_n500"] = (
        {"value": with_gaps(r, r.choice(levels, 500, p=[0.4, 0.3, 0.2, 0.1]).tolist(), 60, ['""', "NA", "null"])},
        {"value": with_gaps(r, r.choice(levels, 500, p=[0.4, 0.3, 0.2, 0.1]).tolist(), 25, ['""', "NaN", "N/A"])},
    )
    r = rng_for("cat_missing_n3000")
    out["cat_missing_n3000"] = (
        {"value": with_gaps(r, r.choice(levels, 3000, p=[0.4, 0.3, 0.2, 0.1]).tolist(), 400, ['""', "None"])},
        {"value": with_gaps(r, r.choice(levels, 3000, p=[0.25, 0.25, 0.25, 0.25]).tolist(), 100, ['""', "nan"])},
    )
    # Binary categorical with gaps: the z-test on the two real levels only.
    r = rng_for("cat_binary_missing_n400")
    out["cat_binary_missing_n400"] = (
        {"value": with_gaps(r, r.choice(["yes", "no"], 400, p=[0.5, 0.5]).tolist(), 40, ['""', "NA"])},
        {"value": with_gaps(r, r.choice(["yes", "no"], 400, p=[0.6, 0.4]).tolist(), 10, ['""'])},
    )
    # Integers with few distinct values are categorical to Evidently (<= 10 distinct).
    r = rng_for("int_8values_n400")
    out["int_8values_n400"] = (
        {"value": [str(v) for v in r.integers(0, 8, 400)]},
        {"value": [str(v) for v in r.integers(0, 8, 400)]},
    )
    r = rng_for("int_8values_n3000")
    out["int_8values_n3000"] = (
        {"value": [str(v) for v in r.integers(0, 8, 3000)]},
        {"value": [str(v) for v in r.integers(0, 8, 3000)]},
    )
    r = rng_for("int_3values_n300")
    out["int_3values_n300"] = (
        {"value": [str(v) for v in r.integers(1, 4, 300)]},
        {"value": [str(v) for v in r.integers(1, 4, 300)]},
    )
    # ... unless a value is missing: pandas reads the column as float, so numeric (KS).
    r = rng_for("int_8values_missing_n400")
    out["int_8values_missing_n400"] = (
        {"value": with_gaps(r, r.integers(0, 8, 400).tolist(), 20, ['""', "NA"])},
        {"value": with_gaps(r, r.integers(0, 8, 400).tolist(), 20, ['""', "NA"])},
    )
    # Many distinct integers: numeric.
    r = rng_for("int_many_values_n500")
    out["int_many_values_n500"] = (
        {"value": [str(v) for v in r.poisson(30, 500)]},
        {"value": [str(v) for v in r.poisson(31, 500)]},
    )
    return out


def datasets():
    """A multi-column file with gaps in every kind of column."""
    r = np.random.default_rng(zlib.crc32(b"ds_missing_mixed_n800"))

    def side(shift):
        return {
            "x": with_gaps(r, r.normal(shift, 1, 800).tolist(), 50, ["", "NA"]),
            "k": [str(v) for v in r.integers(0, 5, 800)],
            "c": with_gaps(r, r.choice(["p", "q", "s"], 800).tolist(), 70, ["", "NaN"]),
            "n": with_gaps(r, r.poisson(20 + 4 * shift, 800).tolist(), 30, ["", "null"]),
        }

    return {"ds_missing_mixed_n800": (side(0.0), side(0.5))}


def evidently_run(reference, current):
    snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    result = {"columns": {}}
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            result["drifted_count"] = int(metric["value"]["count"])
            result["drifted_share"] = metric["value"]["share"]
        elif config["type"].endswith("ValueDrift"):
            threshold = config["threshold"]
            value = metric["value"]
            stattest = STATTESTS[config["method"]]
            rule_ge = stattest in ("wasserstein", "jensenshannon")
            drifted = value >= threshold if rule_ge else (
                value <= threshold if stattest == "ks" else value < threshold)
            result["columns"][config["column"]] = {
                "stattest": stattest,
                "method": config["method"],
                "threshold": threshold,
                "score": value,
                "drifted": bool(drifted),
            }
    return result


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {
        "format_version": 1,
        "versions": {
            "evidently": evidently.__version__ if hasattr(evidently, "__version__") else "0.7.23",
            "pandas": pd.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
        },
        "note": "Evidently run without a data definition on the frames pandas.read_csv reads "
                "from these files (default na_values); kinds as Evidently infers them",
        "cases": [],
    }
    for kind, entries in (("case", cases()), ("dataset", datasets())):
        for name, (reference, current) in entries.items():
            folder = OUT / name
            folder.mkdir(exist_ok=True)
            write_csv(folder / "reference.csv", reference)
            write_csv(folder / "current.csv", current)
            ref = pd.read_csv(folder / "reference.csv")
            cur = pd.read_csv(folder / "current.csv")
            run = evidently_run(ref, cur)
            for column in cur.columns:
                run["columns"][column].update({
                    "pandas_dtype": str(cur[column].dtype),
                    "inferred_type": infer_column_type(cur[column]).value,
                    "reference_missing": int(ref[column].isna().sum()),
                    "current_missing": int(cur[column].isna().sum()),
                })
            expected["cases"].append({"name": name, "kind": kind, **run})
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
