#!/usr/bin/env bash
# Prints the formula the tap gets for a release: Formula/voripos-domain-sync.rb without its
# `stable do … end` block (a source build of the tag) and with the release tarball's URL
# and checksum after `homepage` (where `brew style`'s component order wants them), so
# `brew install voripos-domain-sync` installs the signed app and needs no Rust. The HEAD
# build (`--HEAD`) stays a source build.
#
# Usage: bundle/release-formula.sh TARBALL
#   TARBALL  what bundle/release-tarball.sh printed
#            (voripos-domain-sync-<version>-universal-apple-darwin.tar.gz)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
formula="$root/Formula/voripos-domain-sync.rb"

fail() { echo "release-formula: $*" >&2; exit 1; }

[ $# -eq 1 ] || fail "usage: bundle/release-formula.sh TARBALL"
tarball="$1"
[ -f "$tarball" ] || fail "no tarball at $tarball"
name="$(basename "$tarball")"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)"
[ "$name" = "voripos-domain-sync-$version-universal-apple-darwin.tar.gz" ] \
  || fail "$name is not the tarball of version $version (Cargo.toml)"
if command -v sha256sum >/dev/null; then
  sha="$(sha256sum "$tarball" | cut -d' ' -f1)"
else
  sha="$(shasum -a 256 "$tarball" | cut -d' ' -f1)"
fi
[[ "$sha" =~ ^[0-9a-f]{64}$ ]] || fail "cannot checksum $tarball"
url="https://github.com/voriteam/voripos-domain-sync/releases/download/v$version/$name"

grep -q '^  stable do$' "$formula" || fail "no 'stable do' block in $formula"
grep -q '^  homepage ' "$formula" || fail "no homepage in $formula"
awk -v url="$url" -v sha="$sha" '
  /^  homepage / { print; print "  url \"" url "\""; print "  sha256 \"" sha "\""; next }
  /^  stable do$/ { skipping = 1; next }
  skipping && /^  end$/ { skipping = 0; after = 1; next }
  skipping { next }
  after && /^$/ { after = 0; next }
  { after = 0; print }
' "$formula"
