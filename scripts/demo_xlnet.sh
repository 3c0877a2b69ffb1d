#!/usr/bin/env bash
# The paper's architecture, as `make demo-xlnet`: STL -> MTL-XC -> MTL-LS (slicing rates 0.5 and 1.0) on the disease group
# (BC5CDR-disease, NCBI-disease) with a tiny XLNet trained from scratch and a locally trained tokenizer.
# With MODEL=xlnet-base-cased (a GPU machine with internet) the same steps fine-tune the real model. Runs on the GPU
# when there is one, else on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
ACCELERATE=${ACCELERATE:-.venv/bin/accelerate}
OUT=${OUT:-runs/demo-xlnet}
MODEL=${MODEL:-}
EPOCHS=${EPOCHS:-2}
GROUP=${GROUP:-disease}
# Pinned, not left to the environment: the thread count changes float reduction order, and so the trained weights
# (accelerate launch otherwise takes $OMP_NUM_THREADS, else the physical cores).
THREADS=${THREADS:-2}

if [ -z "${CRICHTON_DATA_DIR:-}" ]; then
  echo "CRICHTON_DATA_DIR is not set: point it at the Crichton data/ folder (or go online to download)." >&2
fi
mkdir -p "$OUT"

if [ -z "$MODEL" ]; then
  # From scratch: a tokenizer trained on the group's training text, and a small encoder.
  if [ ! -f "$OUT/tokenizer/tokenizer.json" ]; then
    echo "== Training a SentencePiece tokenizer on the $GROUP training text"
    "$PY" data_scripts/train_tokenizer.py --rows BC5CDR-disease,NCBI-disease --vocab_size 8000 --output_dir "$OUT/tokenizer"
  fi
  MODEL_ARGS=(--tokenizer_name "$OUT/tokenizer" --config_overrides "n_layer=4,d_model=64,n_head=4,d_inner=256"
              --learning_rate 2e-3 --max_seq_length 128 --stride 32)
else
  MODEL_ARGS=(--model_name_or_path "$MODEL" --learning_rate 3e-5 --max_seq_length 512 --stride 128)
fi

COMMON=(--group "$GROUP" --num_train_epochs "$EPOCHS" --per_device_train_batch_size 32 --per_device_eval_batch_size 64
        --save_steps 25 --last_checkpoints 5 --logging_steps 50 --report_to none --seed 42
        --train_sampling_strategy group_by_length
        --results_dir "$OUT" --do_analysis "${MODEL_ARGS[@]}")
LAUNCH=("$ACCELERATE" launch --num_processes 1 --num_machines 1 --num_cpu_threads_per_process "$THREADS"
        --mixed_precision "${MIXED_PRECISION:-no}" --dynamo_backend no)

rm -f "$OUT/results.json" "$OUT/results.md"
echo "== STL: one model per dataset"
"${LAUNCH[@]}" run_ner_mtl.py --mode stl --output_dir "$OUT/stl" "${COMMON[@]}"
echo "== MTL-XC: one model shared by every dataset of the group"
"${LAUNCH[@]}" run_ner_mtl.py --mode mtl-xc --output_dir "$OUT/mtl-xc" "${COMMON[@]}"
for RATE in 0.5 1.0; do
  echo "== MTL-LS, slicing rate $RATE: shared bottom from MTL-XC, own top layers and CRF per dataset"
  "${LAUNCH[@]}" run_ner_mtl.py --mode mtl-ls --slicing_rate "$RATE" --mtl_xc_checkpoint "$OUT/mtl-xc" \
    --output_dir "$OUT/mtl-ls-$RATE" "${COMMON[@]}"
done

echo
echo "== Results ($OUT/results.md)"
cat "$OUT/results.md"
echo
echo "Entity-set analysis (radar chart, Euler diagrams): $OUT/*/radar.png, $OUT/*/euler_*.png"
