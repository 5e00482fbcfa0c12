#!/usr/bin/env bash
# Side-by-side training speed of ddp-train and PyTorch on this machine (samples/s, training only,
# after warm-up; best of REPEATS runs). PyTorch parts run only when `python3 -c "import torch"` works.
#   bash benchmarks/compare.sh            (after swift build -c release)
#   MODELS="mlp cnn" bash benchmarks/compare.sh      only these models (default: mlp cnn resnet32)
#   ISA=avx2 bash benchmarks/compare.sh   both programs held to AVX2 on an AVX-512 machine:
#       OpenBLAS's Haswell kernels and oneDNN at AVX2 for ddp-train; ATen's AVX2 kernels, MKL at
#       AVX2 and oneDNN at AVX2 for PyTorch (an emulation of an AVX2-only CPU, not one)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/ddp-train
REPEATS=${REPEATS:-3}
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
cores=$(nproc --all)
MODELS=${MODELS:-mlp cnn resnet32}
case "${ISA:-native}" in
  native) ;;
  avx2) export OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2 \
          ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ;;
  *) echo "compare.sh: ISA must be native or avx2, not '$ISA'" >&2; exit 64 ;;
esac

best() { sort -n | tail -1; }
ours() {  # ours RANKS THREADS MODEL STEPS [extra bench options]
  local ranks=$1 threads=$2 model=$3 steps=$4; shift 4
  for _ in $(seq "$REPEATS"); do
    if [ "$ranks" -eq 1 ]; then
      "$BIN" bench --json --models "$model" --steps "$steps" --threads "$threads" "$@"
    else
      mpirun -n "$ranks" --bind-to core "$BIN" bench --json --models "$model" --steps "$steps" --threads "$threads" "$@"
    fi | python3 -c "import json,sys; print(round(json.loads(sys.stdin.read())['models'][0]['samples_per_s_total']))"
  done | best
}
theirs() {  # theirs RANKS THREADS MODEL STEPS
  local ranks=$1 threads=$2 model=$3 steps=$4
  for _ in $(seq "$REPEATS"); do
    if [ "$ranks" -eq 1 ]; then
      python3 benchmarks/pytorch_reference.py --model "$model" --threads "$threads" --steps "$steps"
    else
      OMP_NUM_THREADS=$threads torchrun --nproc_per_node="$ranks" benchmarks/pytorch_reference.py --model "$model" --threads "$threads" --steps "$steps" 2>/dev/null
    fi | python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['samples_per_s_total'])"
  done | best
}
have_torch=0
python3 -c "import torch" 2> /dev/null && have_torch=1

echo "| model | setting | ddp-train samples/s | PyTorch samples/s | ratio |"
echo "|---|---|---|---|---|"
for spec in "mlp 1000 300" "cnn 40 30" "resnet32 6 5"; do
  read -r model ours_steps torch_steps <<< "$spec"
  case " $MODELS " in *" $model "*) ;; *) continue ;; esac
  for setting in "1 $cores" "1 1" "$cores 1"; do
    read -r ranks threads <<< "$setting"
    a=$(ours "$ranks" "$threads" "$model" "$ours_steps")
    b="—"; r="—"
    if [ $have_torch -eq 1 ]; then
      b=$(theirs "$ranks" "$threads" "$model" "$torch_steps")
      r=$(python3 -c "print('%.2f' % ($a / $b))")
    fi
    label="$ranks process"
    if [ "$ranks" -gt 1 ]; then label="$ranks processes (DDP)"; fi
    label="$label x $threads thread"
    if [ "$threads" -gt 1 ]; then label="${label}s"; fi
    echo "| $model | $label | $a | $b | $r |"
  done
done
