#!/usr/bin/env bash
# `modelgate drift` under a hard memory limit smaller than the data it compares: the files are
# streamed a group of columns at a time, so it finishes where loading them whole could not.
#
#   bash bench/drift/memory_limit.sh [ROWS] [LIMIT_MIB]     (default 20000000 rows, 768 MiB)
#
# ROWS × 20 columns (the benchmark's shape), reference and current, as Parquet; decoded, the
# two files hold ROWS × 20 × 8 bytes each (6.4 GB at 20,000,000 rows). Past 10,000,000 rows a
# side is sampled (`--max-rows`), and the report says so. Needs root and a cgroup memory
# controller (v2, or v1 at /sys/fs/cgroup/memory); the same venv as run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows="${1:-20000000}"
limit_mib="${2:-768}"
source bench/drift/prepare.sh
data="$(mktemp -d)"
group=""
cleanup() {
  [ -n "$group" ] && rmdir "$group" 2>/dev/null
  rm -rf "$data"
}
trap cleanup EXIT

prepare_drift_data "$rows" "$data"
ls -l "$data"

limit=$(( limit_mib * 1024 * 1024 ))
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  group=/sys/fs/cgroup/modelgate-memory-limit
  mkdir -p "$group"
  echo "$limit" > "$group/memory.max"
  echo 0 > "$group/memory.swap.max" 2>/dev/null || true
elif [ -d /sys/fs/cgroup/memory ]; then
  group=/sys/fs/cgroup/memory/modelgate-memory-limit
  mkdir -p "$group"
  echo "$limit" > "$group/memory.limit_in_bytes"
else
  echo "no cgroup memory controller here" >&2
  exit 2
fi
echo "memory limit: $limit_mib MiB; decoded data: $(( rows * 20 * 8 * 2 / 1024 / 1024 )) MiB"

# The shell enters the group, then runs modelgate in it: the limit covers the whole process.
# Exit 0 or 1 is a report (no drift, drift); killed by the limit, time says so.
status=0
/usr/bin/time -f "modelgate: %e s wall, %M KiB peak, exit %x" bash -c \
  'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' _ "$group" \
  "$target/release/modelgate" drift --reference "$data/reference.parquet" \
  --current "$data/current.parquet" --format text > "$data/report.txt" || status=$?
head -n 3 "$data/report.txt"
[ "$status" -le 1 ]
