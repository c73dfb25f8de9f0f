#!/usr/bin/env bash
# The drift benchmark: modelgate drift against a scipy loop and Evidently's DataDriftPreset on
# the same Parquet files, in one run, with wall time and peak memory (GNU time).
#
#   bash bench/drift/run.sh [ROWS]          (default 1000000; needs /usr/bin/time)
#
# It builds modelgate, creates a venv with numpy, pandas<3, pyarrow, scipy and evidently 0.7.x
# under $HOME/.cache/modelgate/bench-venv, generates the data, and prints one line per tool.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-1000000}"
target="${CARGO_TARGET_DIR:-target}"
venv="$HOME/.cache/modelgate/bench-venv"
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT

cargo build --release -q
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q numpy 'pandas<3' pyarrow scipy 'evidently>=0.7,<0.8'
fi
"$venv/bin/python" bench/drift/make_data.py "$rows" "$data"

measure() {
  local name="$1"; shift
  /usr/bin/time -f "$name: %e s wall, %M KiB peak" "$@" > /dev/null 2> "$data/time.txt" || true
  tail -n 1 "$data/time.txt"
}
measure modelgate "$target/release/modelgate" drift --reference "$data/reference.parquet" --current "$data/current.parquet" --format json
measure scipy-loop "$venv/bin/python" bench/drift/scipy_loop.py "$data/reference.parquet" "$data/current.parquet"
if [ "${SKIP_EVIDENTLY:-0}" != 1 ]; then
  measure evidently "$venv/bin/python" bench/drift/evidently_baseline.py "$data/reference.parquet" "$data/current.parquet"
fi
