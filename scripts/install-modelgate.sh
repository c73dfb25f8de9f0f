#!/usr/bin/env bash
# Installs modelgate for a GitHub Actions step (action.yml runs it) or anywhere else.
#
#   install-modelgate.sh [--version TAG] [--base-url URL|DIR] [--dest DIR] [--target TRIPLE] [--source DIR]
#
# Downloads modelgate-<target>.tar.gz and modelgate-<target>.tar.gz.sha256 from the release
# (default https://github.com/modelgate/modelgate/releases/download/<TAG>, or a local
# directory given as --base-url), verifies the sha256 and installs bin/modelgate under
# --dest. A checksum mismatch is fatal. When there is no release binary for this version or
# platform, it builds from --source with `cargo install --locked` instead.
#
# In a workflow it adds the binary's folder to GITHUB_PATH and sets the step output `bin`.
set -euo pipefail

version="${MODELGATE_VERSION:-}"
base_url="${MODELGATE_RELEASE_URL:-}"
dest="${MODELGATE_INSTALL_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/modelgate-install}"
target="${MODELGATE_TARGET:-}"
source_dir="${GITHUB_ACTION_PATH:-}"

die() { echo "install-modelgate: $*" >&2; exit 1; }
say() { echo "install-modelgate: $*" >&2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --version) version="${2:?--version needs a value}"; shift 2 ;;
    --base-url) base_url="${2:?--base-url needs a value}"; shift 2 ;;
    --dest) dest="${2:?--dest needs a value}"; shift 2 ;;
    --target) target="${2:?--target needs a value}"; shift 2 ;;
    --source) source_dir="${2:?--source needs a value}"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
done

# The release's platforms (see .github/workflows/release.yml).
if [ -z "$target" ]; then
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64) target=x86_64-unknown-linux-gnu ;;
    Linux/aarch64 | Linux/arm64) target=aarch64-unknown-linux-gnu ;;
    Darwin/arm64) target=aarch64-apple-darwin ;;
    *) target="" ;;
  esac
fi

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

# Copies URL (http(s), file://, or a local path) to FILE; fails when it does not exist.
fetch() {
  case "$1" in
    http://* | https://*) curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" ;;
    file://*) cp "${1#file://}" "$2" ;;
    *) cp "$1" "$2" ;;
  esac
}

finish() {
  local bin_dir="$1"
  "$bin_dir/modelgate" --version >&2
  if [ -n "${GITHUB_PATH:-}" ]; then echo "$bin_dir" >>"$GITHUB_PATH"; fi
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "bin=$bin_dir/modelgate" >>"$GITHUB_OUTPUT"; fi
  echo "$bin_dir/modelgate"
}

build_from_source() {
  [ -n "$source_dir" ] && [ -f "$source_dir/Cargo.toml" ] ||
    die "$1, and no source to build from (--source or GITHUB_ACTION_PATH)"
  command -v cargo >/dev/null 2>&1 || die "$1, and cargo is not installed to build from source"
  say "$1; building from $source_dir with cargo (several minutes)"
  cargo install --locked --path "$source_dir" --root "$dest" --bin modelgate >&2
  finish "$dest/bin"
}

if [ -z "$version" ]; then
  build_from_source "no release version given"
  exit 0
fi
if [ -z "$target" ]; then
  build_from_source "no release binary for $(uname -s)/$(uname -m)"
  exit 0
fi

base_url="${base_url:-https://github.com/modelgate/modelgate/releases/download/$version}"
asset="modelgate-$target.tar.gz"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! fetch "$base_url/$asset" "$work/$asset" 2>"$work/error" ||
  ! fetch "$base_url/$asset.sha256" "$work/$asset.sha256" 2>>"$work/error"; then
  say "$(cat "$work/error")"
  build_from_source "no release asset $asset at $base_url"
  exit 0
fi

expected="$(cut -d' ' -f1 <"$work/$asset.sha256" | tr -d '\r\n')"
actual="$(sha256_of "$work/$asset")"
if [ "$expected" != "$actual" ]; then
  die "checksum mismatch for $asset: expected $expected, got $actual; refusing to install"
fi

mkdir -p "$dest/bin"
tar -xzf "$work/$asset" -C "$work"
[ -f "$work/modelgate" ] || die "$asset does not contain modelgate"
install -m 0755 "$work/modelgate" "$dest/bin/modelgate"
say "installed modelgate $version ($target), sha256 $actual"
finish "$dest/bin"
