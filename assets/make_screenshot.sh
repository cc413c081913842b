#!/usr/bin/env bash
# Takes assets/screenshot.png: the real game window under Xvfb, driven by real X key events.
# Needs Xvfb, xdotool and ImageMagick (apt-get install xvfb xdotool imagemagick).
#   assets/make_screenshot.sh [WEIGHTS_DIR] [SECONDS_TO_WAIT_FOR_THE_PREVIEWS]
set -euo pipefail
weights=${1:-models}
wait_s=${2:-120}
out=$(dirname "$0")/screenshot.png
display=:${SCREENSHOT_DISPLAY:-77}
Xvfb "$display" -screen 0 1100x720x24 -nolisten tcp & xvfb=$!
config=$(mktemp -d)  # no saved keymap of yours in the picture
trap 'kill $xvfb ${app:-} 2>/dev/null; rm -rf "$config"' EXIT
export DISPLAY=$display XDG_CONFIG_HOME=$config
sleep 1
genie-play play "$(dirname "$0")/prompts/default.png" --weights "$weights" --maskgit-steps 4 & app=$!
xdotool search --sync --class genie-play >/dev/null
xdotool mousemove 300 300  # no window manager: keys go to the window under the pointer
sleep 40                   # model loaded and the prompt encoded
xdotool key Right          # one step: the HUD shows the action and its frame time...
sleep 45
xdotool key BackSpace      # ...and undo brings back the prompt, whose 8 previews then compute
sleep "$wait_s"
import -window root "$out"
echo "wrote $out"
