"""The command line of a training run: model, data and multi-task arguments next to `TrainingArguments`, the
paper's optimiser defaults, and the checks that refuse combinations that cannot work before anything is loaded.

A single YAML or JSON file holding the same fields may replace the flags (`parse_arguments`)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from transformers import HfArgumentParser, TrainingArguments

from data_scripts.registry import GROUPS

from .multitask import MODES


# The paper's optimiser settings (Training detail section), used unless a flag or the config file says otherwise.
PAPER_DEFAULTS = {
    "learning_rate": 3e-5,
    "adam_epsilon": 1e-6,
    "warmup_steps": 0,
    "lr_scheduler_type": "linear",
    "max_grad_norm": 1.0,
    "weight_decay": 0.0,
    "save_total_limit": 5,
}


@dataclass
class ModelArguments:
    model_name_or_path: str | None = field(
        default=None,
        metadata={
            "help": "Hub id or local folder of an XLNet, BERT, RoBERTa, ELECTRA, DeBERTa(-v2) or DistilBERT encoder "
            "(or of a model this project exported); omit to train the paper's XLNet from scratch."
        },
    )
    base_model_id: str | None = field(
        default=None,
        metadata={
            "help": "The Hub id of --model_name_or_path when that is a local folder (the model cards name it as the "
            "base model); a Hub id is named as it is."
        },
    )
    config_overrides: str | None = field(
        default=None,
        metadata={"help": "Config values for a model from scratch or to override, e.g. 'n_layer=4,d_model=128'."},
    )
    tokenizer_name: str | None = field(
        default=None, metadata={"help": "Tokenizer folder or id; defaults to the model's."}
    )
    label_scheme: str = field(
        default="first", metadata={"help": "'first' (first sub-token per word) or 'x' (the paper's [X])."}
    )
    crf_constraints: str | None = field(
        default=None, metadata={"help": "None, 'BIO' or 'BIOES' transition constraints."}
    )
    crf_reduction: str = field(default="mean", metadata={"help": "CRF loss reduction: mean, sum or token_mean."})


@dataclass
class DataArguments:
    datasets: str | None = field(
        default=None,
        metadata={
            "help": "Comma-separated paper rows (e.g. BC5CDR-disease,NCBI-disease) and corpora of --corpora's file."
        },
    )
    group: str | None = field(
        default=None,
        metadata={"help": f"All rows of one entity group ({', '.join(GROUPS)}) or a group of --corpora's file."},
    )
    corpora: str | None = field(
        default=None,
        metadata={
            "help": "YAML or JSON corpora file naming your own corpora (files, Hub or saved datasets, paper rows) "
            "and groups of them (see data_scripts/corpora.py)."
        },
    )
    data_dir: str | None = field(
        default=None, metadata={"help": "Crichton data/ folder (else $CRICHTON_DATA_DIR, else download)."}
    )
    skip_unavailable: bool = field(
        default=False, metadata={"help": "Skip corpora that cannot be read (BC4CHEMD offline)."}
    )
    jnlpba_all_types: bool = field(
        default=False, metadata={"help": "Keep JNLPBA's five types (STL only; no unification)."}
    )
    max_seq_length: int = field(default=512, metadata={"help": "Pieces per window; longer sentences are windowed."})
    stride: int = field(default=128, metadata={"help": "Overlap in pieces between consecutive windows of a sentence."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Keep the first N training sentences per dataset."}
    )
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Keep the first N validation/test sentences."}
    )
    preprocessing_num_workers: int | None = field(default=None)


@dataclass
class MultiTaskArguments:
    mode: str = field(default="stl", metadata={"help": "stl, mtl-xc or mtl-ls."})
    slicing_rate: float | None = field(
        default=None, metadata={"help": "MTL-LS: share embeddings + round(rate * n) bottom layers."}
    )
    mtl_xc_checkpoint: str | None = field(
        default=None,
        metadata={
            "help": "MTL-LS: the MTL-XC run folder (or one of its exports) to initialise the shared layers from."
        },
    )
    continue_from: str | None = field(
        default=None,
        metadata={
            "help": "STL or MTL-XC: a run folder of the same mode (or an export) whose models train on, heads "
            "included (the 'STL continued' and 'MTL-XC continued' controls)."
        },
    )
    unify_labels: bool = field(
        default=True, metadata={"help": "One type name per group (Chemical, Disease, Gene, Species)."}
    )
    mix_datasets: bool = field(
        default=False,
        metadata={"help": "MTL-XC/STL: batches mixed across datasets (the paper's 'unify the labels and shuffle')."},
    )
    sampling_temperature: float = field(default=1.0, metadata={"help": "1: tasks in proportion to size; >1 flatter."})
    layerwise_lr_decay: float = field(
        default=0.9, metadata={"help": "lr * decay ** depth-from-top per encoder layer."}
    )
    last_checkpoints: int = field(default=5, metadata={"help": "Evaluate the last N checkpoints on test: mean ± sd."})
    best_on_validation: bool = field(
        default=False,
        metadata={
            "help": "Score every dataset on validation at each save and report (and export) each dataset at its own "
            "best validation checkpoint, instead of the last --last_checkpoints ones."
        },
    )
    early_stopping_patience: int | None = field(
        default=None,
        metadata={"help": "Stop when the mean validation F1 over the datasets has not improved for N evaluations."},
    )
    score_splits: str = field(
        default="test,validation",
        metadata={"help": "Splits the last checkpoints are scored on: test (reported) and validation (to choose)."},
    )
    restarts: int = field(
        default=0, metadata={"help": "The paper's n + k x m protocol: k continuations of the final model."}
    )
    restart_epochs: float = field(default=0.0, metadata={"help": "Epochs m of each continuation."})
    results_dir: str | None = field(
        default=None, metadata={"help": "Also merge results.json/md into this folder (a table across runs)."}
    )
    do_analysis: bool = field(
        default=False, metadata={"help": "Write the entity-set analysis (radar chart, Euler diagrams)."}
    )


def parse_arguments(
    argv: list[str] | None = None,
) -> tuple[ModelArguments, DataArguments, MultiTaskArguments, TrainingArguments]:
    parser = HfArgumentParser((ModelArguments, DataArguments, MultiTaskArguments, TrainingArguments))
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        text = Path(argv[0]).read_text()
        values = json.loads(text) if argv[0].endswith(".json") else yaml.safe_load(text)
        return parser.parse_dict({**PAPER_DEFAULTS, **values})
    parser.set_defaults(**PAPER_DEFAULTS)
    return parser.parse_args_into_dataclasses(args=argv)


def check_arguments(model_args: ModelArguments, mt_args: MultiTaskArguments) -> None:
    """Refuse flag combinations that cannot work, naming the flags, before any corpus or model is loaded."""
    if mt_args.mode not in MODES:
        raise ValueError(f"--mode {mt_args.mode!r} is not one of {MODES}")
    if mt_args.mode == "mtl-ls":
        if mt_args.slicing_rate is None or mt_args.mtl_xc_checkpoint is None:
            raise ValueError("--mode mtl-ls needs --slicing_rate and --mtl_xc_checkpoint (an MTL-XC run)")
        if mt_args.continue_from is not None:
            raise ValueError("--continue_from continues an STL or MTL-XC run; MTL-LS starts from --mtl_xc_checkpoint")
    elif mt_args.slicing_rate is not None:
        raise ValueError(f"--slicing_rate only applies to --mode mtl-ls, not {mt_args.mode}")
    elif mt_args.mtl_xc_checkpoint is not None:
        raise ValueError(
            f"--mtl_xc_checkpoint initialises MTL-LS; to train an earlier {mt_args.mode} run on, use --continue_from"
        )
    if mt_args.restarts and (mt_args.best_on_validation or mt_args.early_stopping_patience is not None):
        raise ValueError(
            "--restarts pools the last checkpoints of fixed-length continuations; it does not combine with "
            "--best_on_validation or --early_stopping_patience"
        )
    if mt_args.early_stopping_patience is not None and mt_args.early_stopping_patience < 1:
        raise ValueError(f"--early_stopping_patience must be at least 1, got {mt_args.early_stopping_patience}")
    if mt_args.mix_datasets and mt_args.mode == "mtl-ls":
        raise ValueError("--mix_datasets mixes datasets in one batch, which needs one model: use it with mtl-xc")
    if mt_args.mode == "mtl-xc" and not mt_args.unify_labels:
        raise ValueError("--mode mtl-xc shares one CRF across datasets, so it needs --unify_labels")
    if not model_args.model_name_or_path and not model_args.tokenizer_name:
        raise ValueError("training from scratch needs --tokenizer_name (e.g. from data_scripts/train_tokenizer.py)")


__all__ = [
    "PAPER_DEFAULTS",
    "DataArguments",
    "ModelArguments",
    "MultiTaskArguments",
    "check_arguments",
    "parse_arguments",
]
