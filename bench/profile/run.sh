#!/usr/bin/env bash
# The profile benchmark, in one run on the same machine:
#   - `modelgate profile` of one ROWS x 20 Parquet file of bench/drift against whylogs 1.6
#     (`why.log(df)` on the pandas frame, load included): wall time and peak memory;
#   - the profile's size against the Parquet file's;
#   - profile-against-profile drift of the 20 columns (the whole process);
#   - drift on the two profiles against drift on the two files: the same drifted columns and
#     dataset verdict, and the largest gap of a distance;
#   - with SPARK=1, the Spark job in local mode on SPARK_ROWS rows (default 10,000,000),
#     with the test venv's pyspark.
#
#   bash bench/profile/run.sh [ROWS]          (default 1000000; needs /usr/bin/time)
#
# It builds modelgate, makes the bench venv of bench/drift and a whylogs venv under
# $HOME/.cache/modelgate, and generates the data.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-1000000}"
source bench/drift/prepare.sh
why_venv="$HOME/.cache/modelgate/bench-whylogs-venv"
if [ ! -x "$why_venv/bin/python" ]; then
  python3 -m venv "$why_venv"
  "$why_venv/bin/pip" install -q 'whylogs==1.6.4' 'pandas<3' pyarrow
fi
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
prepare_drift_data "$rows" "$data"
mg="$target/release/modelgate"

report() {
  printf '%-24s %8.3f s wall, %7d MiB peak\n' "$1" "$2" "$(( $3 / 1024 ))"
}

read -r mg_s mg_kib < <(median_of 3 "$mg" profile --input "$data/reference.parquet" --output "$data/reference.profile.json")
report "modelgate profile" "$mg_s" "$mg_kib"
read -r wl_s wl_kib < <(run_once "$why_venv/bin/python" bench/profile/whylogs_baseline.py "$data/reference.parquet")
report "whylogs why.log(df)" "$wl_s" "$wl_kib"
awk -v a="$wl_s" -v b="$mg_s" -v m="$mg_kib" -v n="$wl_kib" \
  'BEGIN { printf "modelgate profile vs whylogs: %.1fx faster, %.2f of its peak memory\n", a / b, m / n }'

"$mg" profile --input "$data/current.parquet" --output "$data/current.profile.json" > /dev/null
parquet_bytes=$(stat -c %s "$data/reference.parquet")
profile_bytes=$(stat -c %s "$data/reference.profile.json")
awk -v p="$profile_bytes" -v q="$parquet_bytes" \
  'BEGIN { printf "profile size: %d bytes, %.3f%% of the Parquet file (%d bytes)\n", p, 100 * p / q, q }'

read -r dp_s dp_kib < <(median_of 5 "$mg" drift --reference "$data/reference.profile.json" --current "$data/current.profile.json" --format json)
report "drift profile vs profile" "$dp_s" "$dp_kib"
read -r dr_s dr_kib < <(median_of 3 "$mg" drift --reference "$data/reference.parquet" --current "$data/current.parquet" --format json)
report "drift file vs file" "$dr_s" "$dr_kib"

"$mg" drift --reference "$data/reference.parquet" --current "$data/current.parquet" --format json > "$data/raw.json" || true
"$mg" drift --reference "$data/reference.profile.json" --current "$data/current.profile.json" --format json > "$data/profiled.json" || true
"$venv/bin/python" - "$data/raw.json" "$data/profiled.json" <<'PY'
import json, sys
raw, profiled = (json.load(open(path)) for path in sys.argv[1:3])
drifted = lambda report: [c["name"] for c in report["columns"] if c["drifted"]]
same = drifted(raw) == drifted(profiled) and raw["dataset_drift"] == profiled["dataset_drift"]
gaps = [
    (abs(r["statistic"] - p["statistic"]), r["name"], r["stattest"])
    for r, p in zip(raw["columns"], profiled["columns"])
    if r["p_value"] is None and r["statistic"] is not None and p["statistic"] is not None
]
worst = max(gaps) if gaps else (0.0, "-", "-")
print(f"verdicts on profiles {'equal' if same else 'DIFFER'}: drifted {drifted(profiled)} (raw {drifted(raw)}), "
      f"dataset drift {profiled['dataset_drift']} (raw {raw['dataset_drift']}); "
      f"worst distance gap {worst[0]:.5f} ({worst[1]}, {worst[2]})")
sys.exit(0 if same else 1)
PY

if [ "${SPARK:-0}" = 1 ]; then
  spark_rows="${SPARK_ROWS:-10000000}"
  spark_python="${MODELGATE_TEST_PYTHON:-$HOME/.cache/modelgate/venv-tests/bin/python}"
  "$venv/bin/python" bench/drift/make_data.py "$spark_rows" "$data/spark"
  read -r sp_s sp_kib < <(run_once "$spark_python" integrations/spark/modelgate_profile.py \
    --input "$data/spark/reference.parquet" --output "$data/spark.profile.json" --master 'local[*]')
  report "spark local, $spark_rows rows" "$sp_s" "$sp_kib"
  read -r ms_s ms_kib < <(run_once "$mg" profile --input "$data/spark/reference.parquet" --output "$data/spark-mg.profile.json")
  report "modelgate, $spark_rows rows" "$ms_s" "$ms_kib"
fi
