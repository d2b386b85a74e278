#!/usr/bin/env bash
# Takes the README's pictures of the menu (docs/menu/*.png): each state a store's
# support person meets, on the Linux tray under Xvfb, with ../shared/tools/tray-shot.
#
#   tests/tools/menu-shots.sh [APP_BINARY]
#
# APP_BINARY defaults to target/debug/voripos-domain-sync; the states come from real
# runs of it against the static litefs-sim (built by .ci/setup), a LiteFS that is not
# there, an unusable publish folder, no token, and a Docker endpoint that does not answer.
# The details window is opened from the menu with the keyboard (the headline is the
# menu's first item). Needs what tray-shot needs (it installs it as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
app=$(realpath "${1:-target/debug/voripos-domain-sync}")
sim=$(realpath target/x86_64-unknown-linux-gnu/release/litefs-sim)
shot=$(realpath ../shared/tools/tray-shot)
mkdir -p docs/menu
out=$(realpath docs/menu)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A config for state $1 in $work/$1, with extra TOML $2, publishing into $3 (default:
# a fresh folder).
config() {
  local dir=$work/$1
  mkdir -p "$dir/pub"
  cat >"$dir/config.toml" <<EOF
[status]
file = "$dir/status.json"
stale_after = "10s"
[publish]
dir = "${3:-$dir/pub}"
[telemetry]
enabled = false
$2
EOF
  echo "$dir/config.toml"
}

# Runs the app for state $1 with config $2 (and environment $3…) under tray-shot,
# keeping the menu picture as docs/menu/$1.png.
take() {
  local name=$1 cfg=$2 wait=$3; shift 3
  env HOME="$work/$name" XDG_CONFIG_HOME="$work/$name/xdg" XDG_DATA_HOME="$work/$name/xdg" "$@" \
    "$shot" "$work/$name/shot" --wait "$wait" -- "$app" --config "$cfg"
  cp "$work/$name/shot/menu.png" "$out/$name.png"
}

sim_port=$(port)
"$sim" --listen "127.0.0.1:$sim_port" --data-dir "$work/sim" --size-mb 1 --tx-interval 3600s \
  >"$work/sim.log" 2>&1 &
sim_pid=$!
pids+=("$sim_pid")
litefs="[container]
manage = false
[litefs]
url = \"http://127.0.0.1:$sim_port\""

take up_to_date "$(config up_to_date "$litefs")" 6
take starting "$(config starting "[container]
manage = false
[litefs]
url = \"http://127.0.0.1:$(port)\"")" 2
take not_configured "$(config not_configured "")" 3
take docker_down "$(config docker_down "")" 4 \
  LITEFS_CLOUD_TOKEN=menu-shots-token DOCKER_HOST="unix://$work/no-docker.sock"
touch "$work/not-a-folder"
take error "$(config error "$litefs" "$work/not-a-folder")" 3

# Stale: synced, then LiteFS goes away for longer than stale_after (10 s).
(sleep 6; kill "$sim_pid") &
take stale "$(config stale "$litefs")" 25

# The details window of the error state: the headline opens it.
cfg=$(config details "$litefs" "$work/not-a-folder")
# shellcheck disable=SC2016 # the script's arguments expand in its own shell
env HOME="$work/details" XDG_CONFIG_HOME="$work/details/xdg" XDG_DATA_HOME="$work/details/xdg" \
  "$shot" "$work/details/shot" --wait 10 -- sh -c '
    "$1" --config "$2" &
    sleep 5; xdotool key Down Return; sleep 2; import -window root "$3"; wait
  ' _ "$app" "$cfg" "$out/details.png"
echo "menu-shots: wrote the pictures in $out"
