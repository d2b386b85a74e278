#!/usr/bin/env bash
# Assembles "VoriPOS Domain Sync.app" from a release build:
#   Contents/MacOS/voripos-domain-sync   the binary
#   Contents/Info.plist                  bundle/Info.plist
#   Contents/Resources/AppIcon.icns      assets/AppIcon.png, converted with sips + iconutil (macOS only)
#   Contents/PkgInfo
#
# Usage: bundle/build-app.sh [BINARY [OUT_DIR]]
#   BINARY   defaults to target/release/voripos-domain-sync (build it with `cargo build --release`)
#   OUT_DIR  where the .app is written, defaults to target/release; an existing .app there is replaced
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
app_name="VoriPOS Domain Sync.app"
executable="voripos-domain-sync"

fail() { echo "build-app: $*" >&2; exit 1; }

case "${1:-}" in
  -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac
[ $# -le 2 ] || fail "too many arguments (usage: bundle/build-app.sh [BINARY [OUT_DIR]])"

binary="${1:-$root/target/release/$executable}"
out="${2:-$root/target/release}"
info="$root/bundle/Info.plist"
icon="$root/assets/AppIcon.png"

[ -f "$binary" ] || fail "no binary at $binary (run \`cargo build --release\` first, or pass its path)"
[ -x "$binary" ] || fail "$binary is not executable"
[ -f "$info" ] || fail "missing $info"
[ -f "$icon" ] || fail "missing $icon"

mkdir -p "$out" || fail "cannot create $out"
app="$(cd "$out" && pwd)/$app_name"
contents="$app/Contents"
rm -rf "$app"
mkdir -p "$contents/MacOS" "$contents/Resources"

cp "$binary" "$contents/MacOS/$executable"
chmod 755 "$contents/MacOS/$executable"
cp "$info" "$contents/Info.plist"
printf 'APPL????' >"$contents/PkgInfo"

if [ "$(uname -s)" = Darwin ] && command -v sips >/dev/null && command -v iconutil >/dev/null; then
  iconset="$(mktemp -d)/AppIcon.iconset"
  mkdir -p "$iconset"
  for size in 16 32 128 256 512; do
    sips -z "$size" "$size" "$icon" --out "$iconset/icon_${size}x${size}.png" >/dev/null \
      || fail "sips could not resize $icon to ${size}px"
    double=$((size * 2))
    sips -z "$double" "$double" "$icon" --out "$iconset/icon_${size}x${size}@2x.png" >/dev/null \
      || fail "sips could not resize $icon to ${double}px"
  done
  iconutil -c icns "$iconset" -o "$contents/Resources/AppIcon.icns" \
    || fail "iconutil could not build AppIcon.icns from $iconset"
  rm -rf "$(dirname "$iconset")"
  echo "build-app: AppIcon.icns made from assets/AppIcon.png"
else
  echo "build-app: skipping AppIcon.icns: sips and iconutil are macOS tools (the app will have the generic icon)"
fi

echo "build-app: assembled $app"
