#!/usr/bin/env bash
# Builds the installer package an MDM deploys: build-pkg.sh APP VERSION OUT_DIR
#
#   APP      the (signed) "VoriPOS Domain Sync.app"
#   VERSION  the app's version (the package's version)
#   OUT_DIR  where voripos-domain-sync-<VERSION>.pkg is written (its path is printed)
#
# The package installs the .app into /Applications (not relocatable: an MDM must find it
# there) and the uninstall script into /Library/Application Support/VoriPOS Domain Sync/,
# and runs bundle/pkg/scripts/postinstall as root (it starts the app for the logged-in
# user). With PKG_SIGNING_IDENTITY set ("Developer ID Installer: …") the package is
# signed; the release workflow then notarizes and staples it. macOS only (pkgbuild,
# plutil); the tests run it with stand-ins on PATH.
set -euo pipefail

if [ $# -ne 3 ]; then
  echo "usage: $0 APP VERSION OUT_DIR" >&2
  exit 2
fi
app=$1 version=$2 out=$3
here=$(cd "$(dirname "$0")" && pwd)
identifier=com.vori.VoriPOS.DomainSync
[ -x "$app/Contents/MacOS/voripos-domain-sync" ] || {
  echo "$app is not the app (no Contents/MacOS/voripos-domain-sync)" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root/Applications" "$root/Library/Application Support/VoriPOS Domain Sync"
# ditto keeps the signature's extended attributes and symlinks as they are.
ditto "$app" "$root/Applications/VoriPOS Domain Sync.app"
install -m 755 "$here/pkg/uninstall" "$root/Library/Application Support/VoriPOS Domain Sync/uninstall"

# The component list, with the app not relocatable (else the installer "upgrades" a copy
# of the app found anywhere else on the disk instead of installing into /Applications).
pkgbuild --analyze --root "$root" "$work/components.plist" >/dev/null
plutil -replace 0.BundleIsRelocatable -bool NO "$work/components.plist"

mkdir -p "$out"
pkg="$out/voripos-domain-sync-$version.pkg"
sign=()
if [ -n "${PKG_SIGNING_IDENTITY:-}" ]; then
  sign=(--sign "$PKG_SIGNING_IDENTITY" --timestamp)
fi
pkgbuild --root "$root" --component-plist "$work/components.plist" \
  --scripts "$here/pkg/scripts" --identifier "$identifier" --version "$version" \
  --install-location / ${sign[@]+"${sign[@]}"} "$pkg" >/dev/null
echo "$pkg"
