#!/usr/bin/env python3
"""Profile a dataset where it lives, on Apache Spark, in modelgate's profile format.

    spark-submit integrations/spark/modelgate_profile.py --input PATH --output PROFILE.json
    python3 integrations/spark/modelgate_profile.py --input data.parquet --output p.json --master 'local[2]'

PATH is a Parquet, CSV or Delta path (by its extension, or --format) or a table name
(--format table). Every partition is profiled with Apache DataSketches' own sketches (KLL
doubles, HLL_8, frequent strings: the binary formats the Rust crate reads), and the partial
profiles are merged in the cluster (treeReduce); only the merged profile reaches the driver.
The result is `modelgate.profile/v1`, as `modelgate profile` writes it, and
`modelgate drift --reference PROFILE.json --current ...` compares it.

Needs pyspark and datasketches (`pip install pyspark datasketches`) and a JDK.
"""
import argparse
import base64
import json
import os
import sys
import tempfile
from collections import Counter

SCHEMA = "modelgate.profile/v1"
DEFAULT_K = 1000
# The limits `modelgate profile` records, with the same meaning (README, "Data profiles").
CATEGORY_LIMIT = 1000
EXACT_VALUES_LIMIT = 10_000
FREQUENT_ITEMS_LG_MAP_SIZE = 12  # a map of 4096 items
HLL_LG_K = 12
# Strings longer than this on average are free text, not categories (as modelgate reads them).
TEXT_MEAN_LENGTH = 50.0


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="Parquet, CSV or Delta path, or a table name")
    parser.add_argument("--output", required=True, help="where to write the profile (JSON)")
    parser.add_argument("--master", help="Spark master URL (default: spark-submit's, else local[*])")
    parser.add_argument(
        "--format",
        choices=["parquet", "csv", "delta", "table"],
        help="how to read --input (default: by its extension; a name without one is a table)",
    )
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="KLL sketch size (default 1000)")
    args = parser.parse_args(argv)
    if not 8 <= args.k <= 65535:
        parser.error(f"--k {args.k}: expected 8 to 65535")
    return args


def input_format(path, given):
    if given:
        return given
    lowered = path.rstrip("/").lower()
    for extension, name in ((".parquet", "parquet"), (".csv", "csv"), (".delta", "delta")):
        if lowered.endswith(extension):
            return name
    if os.path.isdir(path) and os.path.isdir(os.path.join(path, "_delta_log")):
        return "delta"
    if os.path.exists(path):
        sys.exit(f"{path}: cannot tell its format; pass --format parquet, csv or delta")
    return "table"


def read(spark, path, fmt):
    if fmt == "table":
        return spark.table(path)
    reader = spark.read
    if fmt == "csv":
        reader = reader.option("header", True).option("inferSchema", True)
    return reader.format(fmt).load(path)


def column_kinds(schema):
    """(name, kind) per field, kinds as modelgate's reader gives them before the text rule."""
    from pyspark.sql import types as T

    kinds = []
    for field in schema.fields:
        t = field.dataType
        if isinstance(t, (T.FloatType, T.DoubleType, T.DecimalType)):
            kind = "numeric"
        elif isinstance(t, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
            kind = "integer"
        elif isinstance(t, T.BooleanType):
            kind = "boolean"
        elif isinstance(t, T.StringType):
            kind = "string"
        elif isinstance(t, T.DateType):
            kind = "date"
        elif isinstance(t, (T.TimestampType, T.TimestampNTZType)):
            kind = "timestamp"
        else:
            kind = "unsupported:" + t.simpleString()
        kinds.append((field.name, kind))
    return kinds


def _sketches():
    import datasketches

    return datasketches


def _hll():
    ds = _sketches()
    return ds.hll_sketch(HLL_LG_K, ds.tgt_hll_type.HLL_8)


def _hll_union(a, b):
    ds = _sketches()
    union = ds.hll_union(HLL_LG_K)
    union.update(a)
    union.update(b)
    return union.get_result(ds.tgt_hll_type.HLL_8)


class NumericState:
    """One numeric or time column of one partition: counts, moments, sketches, exact values."""

    def __init__(self, k, datetime):
        self.datetime = datetime
        self.count = self.positive_infinite = self.negative_infinite = 0
        self.mean = self.m2 = 0.0
        self.min = self.max = None
        self.kll = _sketches().kll_doubles_sketch(k)
        self.hll = _hll()
        self.values = Counter()

    def push(self, values):
        """A batch of non-missing values: float64 (may hold ±inf) or int64 (times)."""
        import numpy as np

        if not self.datetime:
            self.positive_infinite += int(np.count_nonzero(values == np.inf))
            self.negative_infinite += int(np.count_nonzero(values == -np.inf))
            values = values[np.isfinite(values)] + 0.0  # -0.0 and 0.0 are one value
        if values.size == 0:
            return
        doubles = values.astype(np.float64)
        self.kll.update(doubles)
        # Chan's formula joins the batch's moments to the running ones.
        n, mean = doubles.size, float(doubles.mean())
        m2 = float(((doubles - mean) ** 2).sum())
        self._join_moments(n, mean, m2)
        low, high = float(doubles.min()), float(doubles.max())
        self.min = low if self.min is None else min(self.min, low)
        self.max = high if self.max is None else max(self.max, high)
        distinct, counts = np.unique(values, return_counts=True)
        for value in distinct.astype(np.float64):
            self.hll.update(float(value))
        if self.values is not None:
            cast = int if self.datetime else float
            self.values.update({cast(v): int(c) for v, c in zip(distinct, counts)})
            if len(self.values) > EXACT_VALUES_LIMIT:
                self.values = None

    def _join_moments(self, n, mean, m2):
        total = self.count + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total

    def merge(self, other):
        if other.count:
            self._join_moments(other.count, other.mean, other.m2)
        self.positive_infinite += other.positive_infinite
        self.negative_infinite += other.negative_infinite
        lows = [v for v in (self.min, other.min) if v is not None]
        highs = [v for v in (self.max, other.max) if v is not None]
        self.min, self.max = (min(lows), max(highs)) if lows else (None, None)
        self.kll.merge(other.kll)
        self.hll = _hll_union(self.hll, other.hll)
        if self.values is None or other.values is None:
            self.values = None
        else:
            self.values.update(other.values)
            if len(self.values) > EXACT_VALUES_LIMIT:
                self.values = None
        return self

    def __getstate__(self):
        state = dict(self.__dict__)
        state["kll"] = self.kll.serialize()
        state["hll"] = self.hll.serialize_compact()
        return state

    def __setstate__(self, state):
        ds = _sketches()
        state = dict(state)
        state["kll"] = ds.kll_doubles_sketch.deserialize(state["kll"])
        state["hll"] = ds.hll_sketch.deserialize(state["hll"])
        self.__dict__.update(state)


class CategoryState:
    """One string or boolean column of one partition: exact counts, then frequent items."""

    def __init__(self):
        self.counts = Counter()
        self.frequent = None
        self.present = 0
        self.bytes = 0
        self.hll = _hll()

    def push(self, counts, present, size):
        """A batch's category counts, non-missing values and their UTF-8 bytes."""
        self.present += present
        self.bytes += size
        for text in counts:
            self.hll.update(text)
        if self.frequent is not None:
            for text, n in counts.items():
                self.frequent.update(text, n)
            return
        self.counts.update(counts)
        if len(self.counts) > CATEGORY_LIMIT:
            self._to_sketch()

    def _to_sketch(self):
        if self.frequent is None:
            self.frequent = _sketches().frequent_strings_sketch(FREQUENT_ITEMS_LG_MAP_SIZE)
        for text, n in self.counts.items():
            self.frequent.update(text, n)
        self.counts = Counter()

    def merge(self, other):
        self.present += other.present
        self.bytes += other.bytes
        self.hll = _hll_union(self.hll, other.hll)
        if self.frequent is None and other.frequent is None:
            self.counts.update(other.counts)
            if len(self.counts) > CATEGORY_LIMIT:
                self._to_sketch()
            return self
        self._to_sketch()
        for text, n in other.counts.items():
            self.frequent.update(text, n)
        if other.frequent is not None:
            self.frequent.merge(other.frequent)
        return self

    def __getstate__(self):
        state = dict(self.__dict__)
        state["hll"] = self.hll.serialize_compact()
        state["frequent"] = None if self.frequent is None else self.frequent.serialize()
        return state

    def __setstate__(self, state):
        ds = _sketches()
        state = dict(state)
        state["hll"] = ds.hll_sketch.deserialize(state["hll"])
        if state["frequent"] is not None:
            state["frequent"] = ds.frequent_strings_sketch.deserialize(state["frequent"])
        self.__dict__.update(state)


class ColumnState:
    """A column of a partition: rows, nulls, and the state of its kind."""

    def __init__(self, kind, k):
        self.kind = kind
        self.rows = self.nulls = 0
        if kind in ("numeric", "integer", "date", "timestamp"):
            self.state = NumericState(k, kind in ("date", "timestamp"))
        elif kind in ("string", "boolean"):
            self.state = CategoryState()
        else:
            self.state = None

    def push(self, array):
        """One Arrow array of the column (a record batch's)."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        self.rows += len(array)
        missing = array.null_count
        if self.kind in ("numeric", "integer"):
            # As modelgate reads integers: doubles (exact to 2**53).
            values = pc.drop_null(array).cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
            nan = np.isnan(values)
            missing += int(np.count_nonzero(nan))  # NaN is missing, as pandas has it
            self.state.push(values[~nan])
        elif self.kind == "date":
            days = pc.drop_null(array).cast(pa.int32()).to_numpy(zero_copy_only=False)
            self.state.push(days.astype(np.int64))
        elif self.kind == "timestamp":
            present = pc.drop_null(array)
            micros = present.cast(pa.timestamp("us", tz=present.type.tz)).cast(pa.int64())
            self.state.push(micros.to_numpy(zero_copy_only=False))
        elif self.kind in ("string", "boolean"):
            present = pc.drop_null(array)
            if self.kind == "boolean":
                present = pc.if_else(present, "true", "false")
            tally = pc.value_counts(present)
            counts = dict(zip(tally.field("values").to_pylist(), tally.field("counts").to_pylist()))
            size = pc.sum(pc.binary_length(present)).as_py() or 0
            self.state.push(counts, len(present), size)
        self.nulls += missing

    def merge(self, other):
        self.rows += other.rows
        self.nulls += other.nulls
        if self.state is not None:
            self.state.merge(other.state)
        return self


def profile_partition(kinds, k):
    """The function mapInArrow runs on each partition: its batches in, one pickled state out."""

    def run(batches):
        import pyarrow as pa
        # cloudpickle: this script's classes travel by value (they live in __main__).
        from pyspark import cloudpickle

        states = [ColumnState(kind, k) for _, kind in kinds]
        for batch in batches:
            for state, array in zip(states, batch.columns):
                state.push(array)
        yield pa.record_batch([pa.array([cloudpickle.dumps(states)], pa.binary())], names=["state"])

    return run


def merge_states(a, b):
    return [x.merge(y) for x, y in zip(a, b)]


def number_text(value, datetime):
    if datetime:
        return str(int(value))
    return repr(float(value))


def column_profile(name, kind, state, identifier_like):
    profile = {
        "name": name,
        "kind": None,
        "rows": state.rows,
        "nulls": state.nulls,
        "distinct_estimate": 0.0,
        "identifier_like": False,
    }
    inner = state.state
    if kind.startswith("unsupported:"):
        profile["kind"] = "unsupported"
        profile["type_name"] = kind.split(":", 1)[1]
        return profile
    if isinstance(inner, CategoryState):
        if kind == "string" and inner.present and inner.bytes / inner.present > TEXT_MEAN_LENGTH:
            profile["kind"] = "text"
            return profile
        profile["kind"] = "categorical"
        if inner.frequent is None:
            profile["categories"] = {"counts": sorted([t, n] for t, n in inner.counts.items())}
            profile["distinct_estimate"] = float(len(inner.counts))
            profile["identifier_like"] = all(n == 1 for n in inner.counts.values())
        else:
            profile["categories"] = {
                "frequent_items": base64.b64encode(inner.frequent.serialize()).decode(),
                "frequent_items_maximum_error": int(inner.frequent.get_upper_bound("") - inner.frequent.get_lower_bound("")),
            }
            profile["distinct_estimate"] = inner.hll.get_estimate()
            profile["identifier_like"] = identifier_like
        if not inner.hll.is_empty():
            profile["hll"] = base64.b64encode(inner.hll.serialize_compact()).decode()
        return profile
    datetime = kind in ("date", "timestamp")
    profile["kind"] = "datetime" if datetime else kind
    numeric = {
        "count": inner.count,
        "positive_infinite": inner.positive_infinite,
        "negative_infinite": inner.negative_infinite,
        "min": inner.min,
        "max": inner.max,
        "mean": inner.mean if inner.count else None,
        "sum_of_squared_deviations": inner.m2,
        "kll": base64.b64encode(inner.kll.serialize()).decode(),
    }
    if inner.values is not None:
        numeric["values"] = [[number_text(v, datetime), n] for v, n in sorted(inner.values.items())]
        profile["distinct_estimate"] = float(len(inner.values))
    else:
        profile["distinct_estimate"] = inner.hll.get_estimate()
    if kind == "integer" and inner.min is not None:
        dense = inner.max - inner.min + 1 <= 2 * inner.count
        if inner.values is not None:
            profile["identifier_like"] = dense and all(n == 1 for n in inner.values.values())
        else:
            profile["identifier_like"] = dense and identifier_like
    if not inner.hll.is_empty():
        profile["hll"] = base64.b64encode(inner.hll.serialize_compact()).decode()
    profile["numeric"] = numeric
    return profile


def all_distinct(df, names):
    """Which columns hold no repeated value (exact; only asked where the sketches cannot say)."""
    from pyspark.sql import functions as F

    if not names:
        return {}
    aggregates = []
    for name in names:
        column = F.col(f"`{name}`")
        aggregates += [F.count(column).alias(f"n_{len(aggregates)}"), F.countDistinct(column).alias(f"d_{len(aggregates) + 1}")]
    row = df.agg(*aggregates).collect()[0]
    return {name: row[2 * i] == row[2 * i + 1] for i, name in enumerate(names)}


def profile_dataframe(df, source, k):
    import datasketches as ds

    import pickle

    kinds = column_kinds(df.schema)
    partials = df.mapInArrow(profile_partition(kinds, k), "state binary").rdd
    # Every partition yields its state; a frame with no partitions yields none.
    if partials.isEmpty():
        states = [ColumnState(kind, k) for _, kind in kinds]
    else:
        states = partials.map(lambda row: pickle.loads(row.state)).treeReduce(merge_states)
    # Identifier columns beyond the exact limits: exact distinct counts from Spark itself.
    unsure = [
        name
        for (name, kind), state in zip(kinds, states)
        if (kind == "integer" and state.state.values is None)
        or (kind == "string" and state.state.frequent is not None)
    ]
    distinct = all_distinct(df, unsure)
    columns = [
        column_profile(name, kind, state, distinct.get(name, False))
        for (name, kind), state in zip(kinds, states)
    ]
    return {
        "schema": SCHEMA,
        "source": source,
        "rows": states[0].rows if states else df.count(),
        "kll_k": k,
        "kll_normalized_rank_error": ds.kll_doubles_sketch.get_normalized_rank_error(k, False),
        "category_limit": CATEGORY_LIMIT,
        "exact_values_limit": EXACT_VALUES_LIMIT,
        "columns": columns,
    }


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".modelgate-profile-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    # Local workers run this interpreter (with its pyarrow and datasketches) unless told otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("modelgate profile")
    # Under spark-submit (or on Databricks) the JVM came first and set the master; run by
    # plain Python, this script starts Spark in local mode unless --master says otherwise.
    launched_by_spark = "PYSPARK_GATEWAY_PORT" in os.environ
    if args.master:
        builder = builder.master(args.master)
    elif not launched_by_spark:
        builder = builder.master("local[*]")
    spark = (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    try:
        fmt = input_format(args.input, args.format)
        try:
            df = read(spark, args.input, fmt)
        except Exception as error:  # Spark's AnalysisException: a missing path or table
            sys.exit(f"{args.input}: cannot read as {fmt}: {str(error).splitlines()[0]}")
        profile = profile_dataframe(df, os.path.basename(args.input.rstrip("/")), args.k)
        write_atomically(args.output, json.dumps(profile, indent=2) + "\n")
        print(f"profiled {profile['rows']} rows x {len(profile['columns'])} columns of {args.input} into {args.output}")
    finally:
        if not launched_by_spark:
            spark.stop()


if __name__ == "__main__":
    main()
