"""Baseline: a Python loop of scipy.stats.ks_2samp per numeric column and a chi-square per
categorical column, reading both Parquet files with pandas.

    python3 bench/drift/scipy_loop.py REFERENCE CURRENT
"""
import sys

import numpy as np
import pandas as pd
from scipy import stats


def main():
    reference = pd.read_parquet(sys.argv[1])
    current = pd.read_parquet(sys.argv[2])
    drifted = 0
    for column in reference.columns:
        ref, cur = reference[column].dropna(), current[column].dropna()
        if pd.api.types.is_numeric_dtype(ref):
            p = stats.ks_2samp(ref.to_numpy(), cur.to_numpy()).pvalue
        else:
            levels = sorted(set(ref.unique()) | set(cur.unique()))
            table = np.array([[(ref == l).sum() for l in levels], [(cur == l).sum() for l in levels]])
            p = stats.chi2_contingency(table, correction=False).pvalue
        drifted += p < 0.05
    print(f"{drifted} of {len(reference.columns)} columns drifted")


if __name__ == "__main__":
    main()
