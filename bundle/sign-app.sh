#!/usr/bin/env bash
# Signs "VoriPOS Domain Sync.app" with the hardened runtime and, for a release, notarizes
# and staples it (macOS only; the release workflow runs it through bundle/release-tarball.sh's
# SIGN_APP, so the tarball holds the app as signed).
#
# Usage: bundle/sign-app.sh APP
# Environment:
#   MACOS_SIGNING_IDENTITY  "Developer ID Application: …" in an unlocked keychain; unset: ad hoc
#                           (a build that is not a release)
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD
#                           notarize with these (all three, and a Developer ID, or none)
#
# `notarytool submit --wait` exits 0 whatever Apple decides, so the decision is read from its
# JSON answer: anything but "Accepted" fails, with Apple's log for the submission on stderr.
set -euo pipefail

fail() { echo "sign-app: $*" >&2; exit 1; }

[ $# -eq 1 ] || fail "usage: bundle/sign-app.sh APP"
app="$1"
[ -d "$app" ] || fail "no app at $app"

identity="${MACOS_SIGNING_IDENTITY:-}"
if [ -z "$identity" ]; then
  codesign --force --options runtime --sign - "$app"
  echo "sign-app: signed ad hoc (not a release)"
  exit 0
fi
codesign --force --options runtime --timestamp --sign "$identity" "$app"
codesign --verify --strict --verbose=2 "$app"

if [ -z "${APPLE_ID:-}${APPLE_TEAM_ID:-}${APPLE_APP_PASSWORD:-}" ]; then
  echo "sign-app: signed with $identity, not notarized (no APPLE_ID)"
  exit 0
fi
if [ -z "${APPLE_ID:-}" ] || [ -z "${APPLE_TEAM_ID:-}" ] || [ -z "${APPLE_APP_PASSWORD:-}" ]; then
  fail "notarizing needs APPLE_ID, APPLE_TEAM_ID and APPLE_APP_PASSWORD together"
fi
credentials=(--apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" --password "$APPLE_APP_PASSWORD")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ditto -c -k --keepParent "$app" "$work/notarize.zip"
answer="$(xcrun notarytool submit "$work/notarize.zip" "${credentials[@]}" \
  --wait --timeout 30m --output-format json)" || fail "notarytool submit failed: $answer"
field() { printf '%s' "$answer" | sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p"; }
id="$(field id)"
status="$(field status)"
echo "sign-app: notarization ${id:-(no id)}: ${status:-(no status)}"
if [ "$status" != "Accepted" ]; then
  if [ -n "$id" ]; then
    echo "sign-app: Apple's log for $id:" >&2
    xcrun notarytool log "$id" "${credentials[@]}" >&2 || true
  fi
  fail "notarization ended ${status:-without a status} (answer: $answer)"
fi
xcrun stapler staple "$app"
xcrun stapler validate "$app"
spctl --assess --type execute --verbose=4 "$app"
