"""One Parquet file per Arrow type pyarrow writes, for the end-to-end tests of `modelgate drift`.

Writes fixtures/parquet-types/<type>.parquet: a column `value` of that type (60 rows, repeated
values, so no column looks like an identifier) and a float64 column `score`; and
fixtures/parquet-types/decimal-shift/{reference,current}.parquet with {reference,current}.csv:
money as decimal(10,2) whose current sample is shifted, with the same values as CSV text.

Needs pyarrow (tests/python-requirements.txt). Run: python scripts/make_parquet_types.py
"""

import datetime
import decimal
import pathlib
import random

import pyarrow as pa
import pyarrow.parquet as pq

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "parquet-types"
ROWS = 60


def values(kind):
    rows = range(ROWS)
    day = datetime.date(2024, 1, 1)
    moment = datetime.datetime(2024, 1, 1, 8, 0)
    return {
        "int": [i % 7 for i in rows],
        "float": [(i % 11) / 3 for i in rows],
        "decimal": [decimal.Decimal(i % 13) / 4 for i in rows],
        "string": [f"level{i % 5}" for i in rows],
        "binary": [b"b%d" % (i % 5) for i in rows],
        "fixed_binary": [b"%02d" % (i % 5) for i in rows],
        "bool": [i % 3 == 0 for i in rows],
        "date": [day + datetime.timedelta(days=i % 9) for i in rows],
        "time": [datetime.time(i % 24, i % 60) for i in rows],
        "timestamp": [moment + datetime.timedelta(hours=i % 17) for i in rows],
        "duration": [datetime.timedelta(seconds=i % 19) for i in rows],
        "null": [None] * ROWS,
        "list": [[i % 4, i % 3] for i in rows],
        "struct": [{"a": i % 4, "b": f"s{i % 3}"} for i in rows],
        "map": [[("k", i % 4)] for i in rows],
    }[kind]


TYPES = {
    "bool": (pa.bool_(), "bool"),
    "int8": (pa.int8(), "int"),
    "int16": (pa.int16(), "int"),
    "int32": (pa.int32(), "int"),
    "int64": (pa.int64(), "int"),
    "uint8": (pa.uint8(), "int"),
    "uint16": (pa.uint16(), "int"),
    "uint32": (pa.uint32(), "int"),
    "uint64": (pa.uint64(), "int"),
    "float16": (pa.float16(), "float"),
    "float32": (pa.float32(), "float"),
    "float64": (pa.float64(), "float"),
    "decimal32": (pa.decimal32(7, 2), "decimal"),
    "decimal64": (pa.decimal64(15, 2), "decimal"),
    "decimal128": (pa.decimal128(10, 2), "decimal"),
    "decimal256": (pa.decimal256(38, 4), "decimal"),
    # Wider than polars' decimals (at most 38 digits): an error naming the file, no crash.
    "decimal256_wide": (pa.decimal256(50, 4), "decimal"),
    "string": (pa.string(), "string"),
    "large_string": (pa.large_string(), "string"),
    "string_view": (pa.string_view(), "string"),
    "dictionary": (pa.dictionary(pa.int32(), pa.string()), "string"),
    "binary": (pa.binary(), "binary"),
    "large_binary": (pa.large_binary(), "binary"),
    "binary_view": (pa.binary_view(), "binary"),
    "fixed_size_binary": (pa.binary(2), "fixed_binary"),
    "date32": (pa.date32(), "date"),
    "date64": (pa.date64(), "date"),
    "time32": (pa.time32("ms"), "time"),
    "time64": (pa.time64("us"), "time"),
    "timestamp": (pa.timestamp("ms"), "timestamp"),
    "timestamp_tz": (pa.timestamp("us", tz="UTC"), "timestamp"),
    "timestamp_ns": (pa.timestamp("ns"), "timestamp"),
    "duration": (pa.duration("ms"), "duration"),
    "null": (pa.null(), "null"),
    "list": (pa.list_(pa.int64()), "list"),
    "large_list": (pa.large_list(pa.int64()), "list"),
    "fixed_size_list": (pa.list_(pa.int64(), 2), "list"),
    "list_view": (pa.list_view(pa.int64()), "list"),
    "struct": (pa.struct([("a", pa.int64()), ("b", pa.string())]), "struct"),
    "map": (pa.map_(pa.string(), pa.int64()), "map"),
}


def column(arrow_type, kind):
    if isinstance(arrow_type, pa.DictionaryType):
        return pa.array(values(kind)).dictionary_encode()
    if arrow_type == pa.float16():
        import numpy as np  # pyarrow takes float16 from numpy only

        return pa.array(np.array(values(kind), dtype=np.float16))
    return pa.array(values(kind), type=arrow_type)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (arrow_type, kind) in TYPES.items():
        table = pa.table({
            "value": column(arrow_type, kind),
            "score": pa.array([(i % 10) / 10 for i in range(ROWS)], type=pa.float64()),
        })
        pq.write_table(table, OUT / f"{name}.parquet")
        written = pq.read_schema(OUT / f"{name}.parquet").field("value").type
        print(f"{name}: {written}")

    shift = OUT / "decimal-shift"
    shift.mkdir(exist_ok=True)
    generator = random.Random(13)
    for side, offset in (("reference", 0), ("current", 40)):
        cents = [generator.randint(1000, 20000) + offset * 100 for _ in range(300)]
        amounts = [decimal.Decimal(c) / 100 for c in cents]
        pq.write_table(pa.table({"amount": pa.array(amounts, type=pa.decimal128(10, 2))}),
                       shift / f"{side}.parquet")
        (shift / f"{side}.csv").write_text("amount\n" + "".join(f"{a}\n" for a in amounts))


if __name__ == "__main__":
    main()
