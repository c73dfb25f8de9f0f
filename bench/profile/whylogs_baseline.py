"""The whylogs baseline of the profile benchmark: load a Parquet file with pandas and
profile it with whylogs (`why.log(df)`), as its documentation shows; prints the serialized
profile's size.

    python bench/profile/whylogs_baseline.py FILE.parquet
"""
import sys

import pandas as pd
import whylogs as why


def main():
    frame = pd.read_parquet(sys.argv[1])
    view = why.log(frame).view()
    print(f"whylogs profile: {len(frame)} rows, {len(view.get_columns())} columns, {len(view.serialize())} bytes")


if __name__ == "__main__":
    main()
