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
