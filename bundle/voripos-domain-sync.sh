#!/bin/bash
# The entry point at 0.4.x's service path. voripos-domain-sync 0.4.2's Homebrew service
# (label homebrew.mxcl.voripos-domain-sync, KeepAlive true) runs
#   $(brew --prefix)/opt/voripos-domain-sync/bin/voripos-domain-sync.sh
# and `brew upgrade` keeps that LaunchAgent loaded. The formula installs this script at
# that path, so when launchd starts the old job again it runs the new app.
#
# The app is found beside this script's real folder (../VoriPOS Domain Sync.app), reached
# through the `opt` link, which every upgrade moves to the new version.
#
# With arguments it is the app's command line. Without, it is the service: a crash (a
# non-zero exit) is passed on, so launchd restarts it; a clean exit (Quit) waits until
# the job is stopped or the user logs out, because 0.4.2's KeepAlive true would otherwise
# start the app again at once. `brew services restart voripos-domain-sync` replaces the
# old job with the new service definition, which runs the app directly.
set -u

script="$0"
while [ -L "$script" ]; do
  target="$(readlink "$script")"
  case "$target" in
    /*) script="$target" ;;
    *) script="$(dirname "$script")/$target" ;;
  esac
done
app="$(dirname "$script")/../VoriPOS Domain Sync.app/Contents/MacOS/voripos-domain-sync"
if [ ! -x "$app" ]; then
  echo "voripos-domain-sync.sh: no app at $app (reinstall: brew reinstall voripos-domain-sync)" >&2
  exit 1
fi

if [ $# -gt 0 ]; then
  exec "$app" "$@"
fi
# Started by launchd: a stop (SIGTERM) is passed on to the app, which then exits too.
stopping=""
pid=""
trap 'stopping=1; [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null' TERM INT HUP
"$app" &
pid=$!
[ -z "$stopping" ] || kill -TERM "$pid" 2>/dev/null
while :; do
  wait "$pid"
  code=$?
  kill -0 "$pid" 2>/dev/null || break
done
if [ -n "$stopping" ] || [ "$code" -ne 0 ]; then
  exit "$code"
fi
echo "voripos-domain-sync.sh: the app quit; it starts again at the next login (or: brew services restart voripos-domain-sync)" >&2
exec sleep 2147483647
