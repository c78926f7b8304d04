#!/usr/bin/env bash
# The GPU benchmark, one command for a lent GPU machine (CUDA 12 + cuDNN 9 libraries on the library path):
# the full-width SVD (seeded weights, fp16 weights and compute, fused attention) at 576×1024, VCUT off / paper / exact
# interleaved on the CUDA provider. Writes the table to stdout and the JSON to $OUT (or ./out).
#   bash benchmarks/gpu/run.sh [frames=14] [steps=4]
set -euo pipefail
cd "$(dirname "$0")/../.."
frames=${1:-14}
steps=${2:-4}
out=${OUT:-out}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
dotnet build -c Release samples/Vcut.Cli >/dev/null
vcut="dotnet samples/Vcut.Cli/bin/Release/net10.0/vcut.dll"
# ≈ 4.5 GB of fp16 weights, streamed to external data files (a few hundred MB of memory while building).
$vcut build-model --preset svd --seed 1 --fp16 --out /tmp/vcut-svd-fp16
$vcut analyze --model /tmp/vcut-svd-fp16 --frames "$frames" --height 576 --width 1024 --steps "$steps" | tee "$out/analyze.txt"
$vcut bench --model /tmp/vcut-svd-fp16 --device cuda --frames "$frames" --height 576 --width 1024 --steps "$steps" \
    --decode-chunk 2 --repetitions 3 --out "$out/bench-gpu.json" | tee "$out/bench-gpu.txt"
