#!/usr/bin/env bash
# The drift benchmark: modelgate drift against a scipy loop and Evidently's DataDriftPreset on
# the same Parquet files, in one run, with wall time and peak memory (GNU time).
#
#   bash bench/drift/run.sh [ROWS]          (default 1000000; needs /usr/bin/time)
#
# It builds modelgate, creates a venv with numpy, pandas<3, pyarrow, scipy and evidently 0.7.x
# under $HOME/.cache/modelgate/bench-venv, generates the data, and prints one line per tool:
# the median of 3 runs for modelgate and the scipy loop (a second or so each, where one run is
# noisy on a shared machine), one run for Evidently, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-1000000}"
source bench/drift/prepare.sh
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT

prepare_drift_data "$rows" "$data"

report() {
  printf '%-10s %8.2f s wall, %7d MiB peak\n' "$1" "$2" "$(( $3 / 1024 ))"
}

read -r mg_s mg_kib < <(median_of 3 "$target/release/modelgate" drift \
  --reference "$data/reference.parquet" --current "$data/current.parquet" --format json)
report modelgate "$mg_s" "$mg_kib"
read -r sp_s sp_kib < <(median_of 3 "$venv/bin/python" bench/drift/scipy_loop.py \
  "$data/reference.parquet" "$data/current.parquet")
report scipy-loop "$sp_s" "$sp_kib"
awk -v a="$sp_s" -v b="$mg_s" -v m="$mg_kib" -v n="$sp_kib" \
  'BEGIN { printf "modelgate vs scipy loop: %.1fx faster, %.2f of its peak memory\n", a / b, m / n }'
if [ "${SKIP_EVIDENTLY:-0}" != 1 ]; then
  read -r ev_s ev_kib < <(run_once "$venv/bin/python" bench/drift/evidently_baseline.py \
    "$data/reference.parquet" "$data/current.parquet")
  report evidently "$ev_s" "$ev_kib"
  awk -v a="$ev_s" -v b="$mg_s" -v m="$mg_kib" -v n="$ev_kib" \
    'BEGIN { printf "modelgate vs Evidently: %.0fx faster, %.2f of its peak memory\n", a / b, m / n }'
fi
