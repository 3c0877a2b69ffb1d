#!/usr/bin/env python
# Copyright 2026 The xlnet-crf-mtl authors.
# Licensed under the Apache License, Version 2.0.
"""Train a CRF over XLNet or any BERT-family encoder on the Crichton corpora (or your own, `--corpora`): STL, MTL-XC
or MTL-LS (Chai et al. 2022), on one process or many.

    accelerate launch run_ner_mtl.py --mode mtl-xc --group disease --model_name_or_path xlnet-base-cased \
        --output_dir runs/disease/mtl-xc --num_train_epochs 30
    accelerate launch run_ner_mtl.py --mode mtl-ls --slicing_rate 0.5 --group disease \
        --mtl_xc_checkpoint runs/disease/mtl-xc --model_name_or_path xlnet-base-cased --output_dir runs/disease/ls-0.5

A single YAML or JSON file holding the same fields may replace the command-line flags.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import transformers
from transformers import HfArgumentParser, TrainingArguments

from data_scripts.corpora import check_one_label_set, read_corpora_file
from data_scripts.registry import GROUPS, UserCorpus, describe, get_row, load_group
from mtl_bioner.alignment import load_tokenizer
from mtl_bioner.multitask import MODES, MultiTaskModel
from mtl_bioner.protocol import Protocol, RunScores, export_run, prior_steps, train_and_score
from mtl_bioner.recipes import ModelRecipe, build_container
from mtl_bioner.results import merge_results, method_name, summarise
from mtl_bioner.selection import evaluation_arguments, learning_curves, write_learning_curves
from mtl_bioner.tasks import WindowSettings, tokenize_tasks
from mtl_bioner.trainer import MultiTaskTrainer, TaskData


logger = logging.getLogger(__name__)

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


def parse_arguments(argv: list[str] | None = None):
    parser = HfArgumentParser((ModelArguments, DataArguments, MultiTaskArguments, TrainingArguments))
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 1 and argv[0].endswith((".json", ".yaml", ".yml")):
        text = Path(argv[0]).read_text()
        values = json.loads(text) if argv[0].endswith(".json") else __import__("yaml").safe_load(text)
        return parser.parse_dict({**PAPER_DEFAULTS, **values})
    parser.set_defaults(**PAPER_DEFAULTS)
    return parser.parse_args_into_dataclasses(args=argv)


def resolve_task_names(data_args: DataArguments) -> list[str]:
    if bool(data_args.datasets) == bool(data_args.group):
        raise ValueError("give exactly one of --datasets (comma-separated rows or corpora) or --group")
    if data_args.corpora:
        corpora_file = read_corpora_file(data_args.corpora)
        if data_args.group:
            return corpora_file.group_members(data_args.group)
        return corpora_file.check_names(name.strip() for name in data_args.datasets.split(",") if name.strip())
    if data_args.group:
        if data_args.group not in GROUPS:
            raise ValueError(f"--group {data_args.group!r} is not one of {sorted(GROUPS)}")
        return list(GROUPS[data_args.group])
    names = [name.strip() for name in data_args.datasets.split(",") if name.strip()]
    for name in names:
        get_row(name)  # raises with the list of valid rows
    return names


def check_arguments(model_args: ModelArguments, mt_args: MultiTaskArguments) -> None:
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


class Experiment:
    """The datasets, tokenizer and model recipe of one invocation; trains one container per STL task or one in all."""

    def __init__(self, model_args, data_args, mt_args, training_args, callbacks=None):
        self.model_args, self.data_args, self.mt_args, self.args = model_args, data_args, mt_args, training_args
        self.callbacks = callbacks
        self.task_names = resolve_task_names(data_args)
        self.tokenizer = load_tokenizer(model_args.tokenizer_name or model_args.model_name_or_path)
        self.recipe = ModelRecipe(
            model_args.model_name_or_path,
            self.tokenizer,
            label_scheme=model_args.label_scheme,
            crf_constraints=model_args.crf_constraints,
            crf_reduction=model_args.crf_reduction,
            config_overrides=model_args.config_overrides,
            seed=training_args.seed,
        )
        self.tasks = self._load_tasks()

    def _load_tasks(self) -> dict[str, TaskData]:
        options = dict(
            unify=self.mt_args.unify_labels and not self.data_args.jnlpba_all_types,
            skip_unavailable=self.data_args.skip_unavailable,
        )
        if self.data_args.corpora:
            corpora = read_corpora_file(self.data_args.corpora).load(
                self.task_names, self.data_args.data_dir, **options
            )
        else:
            corpora = load_group(self.task_names, self.data_args.data_dir, **options)
        self.task_names = [name for name in self.task_names if name in corpora]
        if self.mt_args.mode == "mtl-xc":
            check_one_label_set({name: corpora[name] for name in self.task_names})
        # What model cards say about the user corpora (licence, citation), carried by run_config.json.
        self.user_corpora = {
            name: dataclasses.asdict(info)
            for name in self.task_names
            if isinstance(info := describe(name), UserCorpus)
        }
        return tokenize_tasks(
            {name: corpora[name] for name in self.task_names},
            self.tokenizer,
            WindowSettings(self.model_args.label_scheme, self.data_args.max_seq_length, self.data_args.stride),
            max_train_samples=self.data_args.max_train_samples,
            max_eval_samples=self.data_args.max_eval_samples,
            num_proc=self.data_args.preprocessing_num_workers,
            main_process_first=self.args.main_process_first,
        )

    @property
    def start_from(self) -> str | None:
        """The run the models start from: the MTL-XC run of MTL-LS, or the run an STL or MTL-XC run continues."""
        return self.mt_args.mtl_xc_checkpoint or self.mt_args.continue_from

    def build(self, task_names: list[str]) -> MultiTaskModel:
        return build_container(
            self.mt_args.mode,
            self.recipe,
            {name: self.tasks[name].label_names for name in task_names},
            slicing_rate=self.mt_args.slicing_rate,
            start_from=self.start_from,
        )

    def trainer(self, model: MultiTaskModel, task_names: list[str], args: TrainingArguments, callbacks):
        return MultiTaskTrainer(
            model,
            args,
            {name: self.tasks[name] for name in task_names},
            processing_class=self.tokenizer,
            sampling_temperature=self.mt_args.sampling_temperature,
            layerwise_lr_decay=self.mt_args.layerwise_lr_decay,
            mix_tasks=self.mt_args.mix_datasets,
            callbacks=[*(self.callbacks or []), *callbacks],
        )

    def train_and_score(self, task_names: list[str], output_dir: str) -> tuple[MultiTaskTrainer, RunScores]:
        args = copy.deepcopy(self.args)
        args.output_dir = output_dir
        if args.ddp_find_unused_parameters is None:
            # XLNet's segment and mask-token parameters get no gradient without token_type_ids, and in MTL-LS the
            # other datasets' top layers idle in a step: DDP must look for unused parameters in every mode.
            args.ddp_find_unused_parameters = True
        splits = tuple(split.strip() for split in self.mt_args.score_splits.split(",") if split.strip())
        if "test" not in splits:
            raise ValueError(f"--score_splits {self.mt_args.score_splits!r} must include test (the reported scores)")
        selection = dict(
            best_on_validation=self.mt_args.best_on_validation,
            early_stopping_patience=self.mt_args.early_stopping_patience,
        )
        if any(selection.values()):
            unvalidated = [name for name in task_names if "validation" not in self.tasks[name].windows]
            if unvalidated:
                raise ValueError(
                    f"--best_on_validation and --early_stopping_patience need a validation split: {unvalidated} "
                    "have none"
                )
        callbacks = evaluation_arguments(args, task_names, **selection)
        protocol = Protocol(
            self.mt_args.last_checkpoints,
            self.mt_args.restarts,
            self.mt_args.restart_epochs,
            splits,
            best_on_validation=self.mt_args.best_on_validation,
        )
        return train_and_score(
            lambda model, run_args: self.trainer(model, task_names, run_args, callbacks),
            self.build(task_names),
            args,
            protocol,
        )

    def run(self) -> dict:
        output_dir = self.args.output_dir
        groups = [[name] for name in self.task_names] if self.mt_args.mode == "stl" else [self.task_names]
        summary: dict[str, dict] = {}
        curves: dict[str, list[dict]] = {}
        for task_names in groups:
            run_dir = os.path.join(output_dir, task_names[0]) if self.mt_args.mode == "stl" else output_dir
            trainer, run = self.train_and_score(task_names, run_dir)
            export_run(trainer, self.tokenizer, output_dir, self.args.should_save, run)
            curves.update(learning_curves(trainer.state.log_history, task_names))
            for name in task_names:
                steps_before = prior_steps(self.start_from, name)
                summary[name] = {
                    **summarise(run.scores["test"][name]),
                    "train_steps": run.train_steps,
                    "total_steps": steps_before + run.train_steps,
                }
                if "validation" in run.scores:
                    summary[name]["validation"] = summarise(run.scores["validation"][name])
                if name in run.selected:
                    summary[name]["selected"] = dataclasses.asdict(run.selected[name])
        if not self.args.should_save:
            return {}
        write_learning_curves(curves, output_dir)
        self.write_run_config(output_dir, {name: scores["total_steps"] for name, scores in summary.items()})
        # The run folder always holds its own scores (model cards read them); a shared results folder collects the
        # table across runs.
        document = merge_results(output_dir, self.method, summary)
        if self.mt_args.results_dir and Path(self.mt_args.results_dir).resolve() != Path(output_dir).resolve():
            document = merge_results(self.mt_args.results_dir, self.method, summary)
        logger.info("results written to %s", self.mt_args.results_dir or output_dir)
        if self.mt_args.do_analysis:
            from mtl_bioner.analysis import analyze_run

            analyze_run(output_dir)
        return document

    @property
    def method(self) -> str:
        continued = self.mt_args.continue_from is not None
        return method_name(self.mt_args.mode, self.mt_args.slicing_rate, continued=continued)

    def write_run_config(self, output_dir: str, steps: dict[str, int]) -> None:
        train_sets = {
            name: [name] if self.mt_args.mode == "stl" else list(self.task_names) for name in self.task_names
        }
        config = {
            "mode": self.mt_args.mode,
            "method": self.method,
            "slicing_rate": self.mt_args.slicing_rate,
            "datasets": self.task_names,
            "train_sets": train_sets,
            "data_dir": self.data_args.data_dir,
            "corpora": self.data_args.corpora,
            "model_name_or_path": self.model_args.model_name_or_path,
            "label_scheme": self.model_args.label_scheme,
            "seed": self.args.seed,
            "num_train_epochs": self.args.num_train_epochs,
            "restarts": self.mt_args.restarts,
            "restart_epochs": self.mt_args.restart_epochs,
            "last_checkpoints": self.mt_args.last_checkpoints,
            "best_on_validation": self.mt_args.best_on_validation,
            "early_stopping_patience": self.mt_args.early_stopping_patience,
            "mtl_xc_checkpoint": self.mt_args.mtl_xc_checkpoint,
            "continue_from": self.mt_args.continue_from,
            "total_steps": max(steps.values(), default=0),
            "steps": steps,
            "user_corpora": self.user_corpora,
        }
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        (Path(output_dir) / "run_config.json").write_text(json.dumps(config, indent=2) + "\n")


def main(argv: list[str] | None = None) -> dict:
    model_args, data_args, mt_args, training_args = parse_arguments(argv)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    log_level = training_args.get_process_log_level()
    logger.setLevel(log_level)
    datasets.utils.logging.set_verbosity(log_level)
    transformers.utils.logging.set_verbosity(log_level)
    check_arguments(model_args, mt_args)
    push, hub_model_id = training_args.push_to_hub, training_args.hub_model_id
    # Trainer would create one repo for the whole container; each dataset's export is published instead.
    training_args.push_to_hub = False
    document = Experiment(model_args, data_args, mt_args, training_args).run()
    if push and training_args.should_save:
        from mtl_bioner.hub import push_run_to_hub

        push_run_to_hub(
            training_args.output_dir,
            hub_model_id or Path(training_args.output_dir).name,
            private=bool(training_args.hub_private_repo),
            token=training_args.hub_token,
        )
    return document


if __name__ == "__main__":
    main()
