#!/usr/bin/env bash
# Side-by-side training speed of ddp-train and PyTorch on this machine (samples/s, training only,
# after warm-up; best of REPEATS runs) and the peak resident memory of that run (the largest
# rank's, MiB). PyTorch parts run only when `python3 -c "import torch"` works.
#   bash benchmarks/compare.sh            (after swift build -c release)
#   MODELS="mlp cnn" bash benchmarks/compare.sh      only these models (default: mlp cnn resnet32)
#   MODELS="resnet18 resnet50" bash benchmarks/compare.sh   torchvision's models on a generated
#       image folder (resnet18 at 64 px, resnet50 and resnext50_32x4d at 224 px; batch 32 per
#       rank; IMAGES=DIR, default /tmp/ddp-train-compare-images-SIZE)
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

best() { sort -g | tail -1; }  # lines "samples/s peak-MiB": the fastest run's
ours() {  # ours RANKS THREADS MODEL STEPS [extra bench options]
  local ranks=$1 threads=$2 model=$3 steps=$4; shift 4
  for _ in $(seq "$REPEATS"); do
    if [ "$ranks" -eq 1 ]; then
      "$BIN" bench --json --models "$model" --steps "$steps" --threads "$threads" "$@"
    else
      mpirun -n "$ranks" --bind-to core "$BIN" bench --json --models "$model" --steps "$steps" --threads "$threads" "$@"
    fi | python3 -c "import json,sys; m=json.loads(sys.stdin.read())['models'][0]; r=m['samples_per_s_total']; print(round(r) if r >= 100 else round(r, 2), round(m.get('peak_rss_mib') or 0))"
  done | best
}
theirs() {  # theirs RANKS THREADS MODEL STEPS [extra options]
  local ranks=$1 threads=$2 model=$3 steps=$4; shift 4
  for _ in $(seq "$REPEATS"); do
    if [ "$ranks" -eq 1 ]; then
      python3 benchmarks/pytorch_reference.py --model "$model" --threads "$threads" --steps "$steps" "$@"
    else
      OMP_NUM_THREADS=$threads torchrun --nproc_per_node="$ranks" benchmarks/pytorch_reference.py --model "$model" --threads "$threads" --steps "$steps" "$@" 2>/dev/null
    fi | python3 -c "import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); s=r['samples_per_s_total']; print(round(s) if s >= 100 else s, r['peak_rss_mib'])"
  done | best
}
have_torch=0
python3 -c "import torch" 2> /dev/null && have_torch=1

echo "| model | input | setting | ddp-train samples/s | PyTorch samples/s | ratio | ddp-train MiB | PyTorch MiB |"
echo "|---|---|---|---|---|---|---|---|"
# model, ddp-train's steps, PyTorch's steps, image size (0: Fashion-MNIST), batch per rank (0: 128 in all)
for spec in "mlp 1000 300 0 0" "cnn 40 30 0 0" "resnet32 6 5 0 0" "resnet10 800 4 64 32" "resnet18 800 4 64 32" \
            "resnet50 400 2 224 32" "resnext50_32x4d 400 2 224 32"; do
  read -r model ours_steps torch_steps size per_rank <<< "$spec"
  case " $MODELS " in *" $model "*) ;; *) continue ;; esac
  input="1x28x28"
  for setting in "1 $cores" "1 1" "$cores 1"; do
    read -r ranks threads <<< "$setting"
    extra_ours=(); extra_theirs=()
    if [ "$size" -gt 0 ]; then
      images=${IMAGES:-/tmp/ddp-train-compare-images-$size}
      python3 benchmarks/make_image_folder.py "$images" --size "$size" --per-class 32
      batch=$((per_rank * ranks)); input="3x${size}x${size}"
      extra_ours=(--data "$images" --imbalance-ratio 1 --batch-size "$batch")
      extra_theirs=(--data "$images" --batch-size "$batch" --warmup 2)
    fi
    read -r a a_mib <<< "$(ours "$ranks" "$threads" "$model" "$ours_steps" "${extra_ours[@]}")"
    b="—"; r="—"; b_mib="—"
    if [ $have_torch -eq 1 ]; then
      read -r b b_mib <<< "$(theirs "$ranks" "$threads" "$model" "$torch_steps" "${extra_theirs[@]}")"
      r=$(python3 -c "print('%.2f' % ($a / $b))")
    fi
    label="$ranks process"
    if [ "$ranks" -gt 1 ]; then label="$ranks processes (DDP)"; fi
    label="$label x $threads thread"
    if [ "$threads" -gt 1 ]; then label="${label}s"; fi
    echo "| $model | $input | $label | $a | $b | $r | $a_mib | $b_mib |"
  done
done
