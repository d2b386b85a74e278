#!/usr/bin/env bash
# Builds the release tarball the Homebrew formula installs, from a binary, and prints its
# path:
#   OUT_DIR/voripos-domain-sync-<version>-universal-apple-darwin.tar.gz
#     voripos-domain-sync-<version>/               one top-level folder (see below)
#       VoriPOS Domain Sync.app/                   bundle/build-app.sh on BINARY
#       voripos-domain-sync.sh                     the entry point at 0.4.x's service path
#       LICENSE
#
# Homebrew changes into a tarball's single top-level folder before the formula's
# `install` runs. An `.app` is a folder, so a tarball holding only the `.app` would put
# `install` inside it; the version folder around it keeps the `.app` in sight.
#
# Usage: bundle/release-tarball.sh BINARY OUT_DIR
#   BINARY   the release binary (the workflow: the universal one from lipo; CI: a Linux build)
#   OUT_DIR  where the tarball is written (created if missing; an older one is replaced)
# Environment:
#   SIGN_APP  an executable run with the assembled .app's path before it is packed (the
#             workflow: bundle/sign-app.sh, which signs, notarizes and staples)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
app_name="VoriPOS Domain Sync.app"

fail() { echo "release-tarball: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
[ $# -eq 2 ] || fail "usage: bundle/release-tarball.sh BINARY OUT_DIR"
binary="$1"
out="$2"
[ -f "$binary" ] || fail "no binary at $binary"

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)"
[ -n "$version" ] || fail "no version in $root/Cargo.toml"
top="voripos-domain-sync-$version"
name="$top-universal-apple-darwin.tar.gz"

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
bash "$root/bundle/build-app.sh" "$binary" "$stage/$top" >&2
if [ -n "${SIGN_APP:-}" ]; then
  "$SIGN_APP" "$stage/$top/$app_name" >&2 || fail "$SIGN_APP failed on the app"
fi
install -m 755 "$root/bundle/voripos-domain-sync.sh" "$stage/$top/voripos-domain-sync.sh"
install -m 644 "$root/LICENSE" "$stage/$top/LICENSE"

mkdir -p "$out" || fail "cannot create $out"
tarball="$(cd "$out" && pwd)/$name"
# No extended attributes or AppleDouble files (macOS tar would add ._ entries).
COPYFILE_DISABLE=1 tar -C "$stage" -czf "$tarball.tmp" "$top"
mv "$tarball.tmp" "$tarball"
echo "$tarball"
