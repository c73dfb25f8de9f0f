#!/usr/bin/env bash
# Tests install-modelgate.sh against a local release directory: it installs when the
# checksum matches, refuses a mismatch (installing nothing), and refuses a tampered binary.
set -euo pipefail
cd "$(dirname "$0")/.."

script="$PWD/scripts/install-modelgate.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
target=x86_64-unknown-linux-gnu
asset="modelgate-$target.tar.gz"
fail() { echo "FAIL: $*" >&2; exit 1; }

# A release as .github/workflows/release.yml lays it out, with a stand-in binary.
mkdir -p "$work/build" "$work/release"
printf '#!/bin/sh\necho "modelgate 9.9.9"\n' >"$work/build/modelgate"
chmod +x "$work/build/modelgate"
tar -czf "$work/release/$asset" -C "$work/build" modelgate
(cd "$work/release" && sha256sum "$asset" >"$asset.sha256")

run() { # dest, base-url; prints the installer's stdout, keeps its stderr in $work/stderr
  env -u GITHUB_PATH -u GITHUB_OUTPUT -u GITHUB_ACTION_PATH \
    "$script" --version v9.9.9 --target "$target" --base-url "$2" --dest "$1" 2>"$work/stderr"
}

# 1. The checksum matches: installed, and the path is printed.
installed="$(run "$work/ok" "$work/release")" || fail "install with a matching checksum: $(cat "$work/stderr")"
[ "$installed" = "$work/ok/bin/modelgate" ] || fail "printed $installed"
[ "$("$installed")" = "modelgate 9.9.9" ] || fail "the installed binary does not run"
# A file:// URL is a local release too; GITHUB_PATH and GITHUB_OUTPUT are written.
GITHUB_PATH="$work/path" GITHUB_OUTPUT="$work/output" \
  "$script" --version v9.9.9 --target "$target" --base-url "file://$work/release" --dest "$work/ok2" >/dev/null 2>&1 ||
  fail "install from a file:// URL"
grep -qx "$work/ok2/bin" "$work/path" || fail "GITHUB_PATH: $(cat "$work/path")"
grep -qx "bin=$work/ok2/bin/modelgate" "$work/output" || fail "GITHUB_OUTPUT: $(cat "$work/output")"

# 2. The .sha256 file names another digest: refused, nothing installed.
mkdir -p "$work/wrong-sum"
cp "$work/release/$asset" "$work/wrong-sum/"
echo "0000000000000000000000000000000000000000000000000000000000000000  $asset" >"$work/wrong-sum/$asset.sha256"
if run "$work/refused" "$work/wrong-sum" >/dev/null; then fail "installed despite a checksum mismatch"; fi
grep -q "checksum mismatch for $asset" "$work/stderr" || fail "no mismatch message: $(cat "$work/stderr")"
[ ! -e "$work/refused/bin/modelgate" ] || fail "a binary was installed after a mismatch"

# 3. The tarball was replaced after the checksum was published: refused.
mkdir -p "$work/tampered"
cp "$work/release/$asset.sha256" "$work/tampered/"
printf '#!/bin/sh\necho evil\n' >"$work/build/modelgate"
tar -czf "$work/tampered/$asset" -C "$work/build" modelgate
if run "$work/tampered-dest" "$work/tampered" >/dev/null; then fail "installed a tampered binary"; fi
grep -q "refusing to install" "$work/stderr" || fail "no refusal: $(cat "$work/stderr")"

# 4. No release asset and nothing to build from: a clear error.
mkdir -p "$work/empty"
if run "$work/none" "$work/empty" >/dev/null; then fail "succeeded without an asset"; fi
grep -q "no release asset $asset" "$work/stderr" || fail "no missing-asset message: $(cat "$work/stderr")"

echo "install-modelgate.sh: 4 cases pass"
