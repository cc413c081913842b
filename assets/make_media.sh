#!/usr/bin/env bash
# Regenerates the README's play GIFs and the model card's pictures from a weights folder and the
# output of `genie-play train all` (its eval/ folder), and the README's footage GIF from a world
# trained by `train all --videos` (it starts on that world's prompts/default.png). From the repository root:
#   assets/make_media.sh [WEIGHTS_DIR] [RUN_DIR] [FOOTAGE_WORLD_DIR]
set -euo pipefail
weights=${1:-models}
run=${2:-}
footage=${3:-}
here=$(dirname "$0")
keys='right*8,jump,right*6,left*6,jump,right*10'
genie-play play "$here/prompts/default.png" --weights "$weights" --headless --keys "$keys" \
    --out "$here/play-default.gif" --scale 4
genie-play play "$here/prompts/sketch-hills.png" --weights "$weights" --headless --keys "$keys" \
    --out "$here/play-sketch.gif" --scale 4
python "$here/make_own_pictures.py" "$weights"
if [[ -n "$run" ]]; then
    mkdir -p "$here/model_card"
    for split in levels styles; do
        cp "$run/eval/$split/actions.png" "$here/model_card/actions-$split.png"
        cp "$run/eval/$split/rollouts.png" "$here/model_card/rollouts-$split.png"
        cp "$run/eval/$split/reconstructions.png" "$here/model_card/reconstructions-$split.png"
        cp "$run/eval/$split/long_rollout.gif" "$here/model_card/long-rollout-$split.gif"
    done
fi
if [[ -n "$footage" ]]; then
    genie-play play --weights "$footage" --headless --keys 'right*10,left*14,right*6' \
        --out "$here/play-footage.gif" --scale 4
fi
echo "wrote $here/play-default.gif, $here/play-sketch.gif${run:+ and $here/model_card/}"
