#!/usr/bin/env bash
# Reproduces the embedded default (models/micro) from scratch, with the committed seeds, in four training runs:
#   1. the VAE and a first UNet stage from the initialisation (vcut-train train's defaults, about 50 minutes here);
#   2. a second UNet stage and a decoder-only stage, started from the first run's converted model (about 60 minutes);
#   3. a third UNet stage and a longer decoder-only stage from the second run's model, on new pictures (another
#      seed, so no clip of run 2 is drawn again; about 65 minutes);
#   4. a fourth UNet stage (another seed, noise levels shifted up: ln σ ~ N(0.5, 1.8²), so the high-σ steps that
#      decide a video's layout are trained more often) and a decoder-only stage, from the third run's model (about 67 minutes).
# Every run resumes from its checkpoints when stopped. Usage: bash training/reproduce-default.sh [OUT=runs/default]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/default}
train="dotnet run --project training/Vcut.Training -c Release --"
vcut="dotnet run --project samples/Vcut.Cli -c Release --"

$train train --out "$out/stage1"
[ -d "$out/stage1-model" ] || $vcut convert --from "$out/stage1/snapshot" --out "$out/stage1-model"
$train train --out "$out/stage2" --init-from "$out/stage1-model" --vae-steps 0 --unet-steps 1600 --unet-lr 3e-4 --decoder-steps 300
[ -d "$out/stage2-model" ] || $vcut convert --from "$out/stage2/snapshot" --out "$out/stage2-model"
$train train --out "$out/stage3" --init-from "$out/stage2-model" --seed 20261202 --vae-steps 0 --unet-steps 1800 --unet-lr 3e-4 --decoder-steps 700
[ -d "$out/stage3-model" ] || $vcut convert --from "$out/stage3/snapshot" --out "$out/stage3-model"
$train train --out "$out/stage4" --init-from "$out/stage3-model" --seed 20261203 --vae-steps 0 --unet-steps 1700 --unet-lr 3e-4 --decoder-steps 400 --log-sigma-mean 0.5 --log-sigma-std 1.8
rm -rf "$out/model"
$vcut convert --from "$out/stage4/snapshot" --out "$out/model"
echo "The default, reproduced: $out/model (compare with models/micro: vcut evaluate --model $out/model --images FOLDER)"
