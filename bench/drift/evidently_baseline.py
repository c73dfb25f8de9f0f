"""Baseline: Evidently's DataDriftPreset on both Parquet files (evidently 0.7.x, pandas<3).

    python3 bench/drift/evidently_baseline.py REFERENCE CURRENT
"""
import sys

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset


def main():
    reference = pd.read_parquet(sys.argv[1])
    current = pd.read_parquet(sys.argv[2])
    for frame in (reference, current):
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype(str)
    result = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
    print(str(result.dict())[:200])


if __name__ == "__main__":
    main()
