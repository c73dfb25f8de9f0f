# Sourced by the drift benchmarks: builds modelgate, makes the Python venv once (numpy,
# pandas<3, pyarrow, scipy, evidently 0.7.x), and writes ROWS rows of benchmark data into DIR.
#
#   prepare_drift_data ROWS DIR
venv="$HOME/.cache/modelgate/bench-venv"
target="${CARGO_TARGET_DIR:-target}"

prepare_drift_data() {
  cargo build --release -q
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q numpy 'pandas<3' pyarrow scipy 'evidently>=0.7,<0.8'
  fi
  "$venv/bin/python" bench/drift/make_data.py "$1" "$2"
}

# Prints "<seconds> <peak KiB>" of one run of a command (its output discarded); $data is the
# caller's scratch folder.
run_once() {
  /usr/bin/time -f "%e %M" "$@" > /dev/null 2> "$data/time.txt" || true
  tail -n 1 "$data/time.txt"
}
# Prints the run with the median wall time of $1 runs.
median_of() {
  local runs="$1"; shift
  for _ in $(seq "$runs"); do run_once "$@"; done | sort -n | sed -n "$(( (runs + 1) / 2 ))p"
}
