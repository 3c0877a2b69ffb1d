"""One training invocation: load the datasets, build the STL / MTL-XC / MTL-LS container, train and score it, export
each dataset's model and write the run's files (`run_config.json`, `results.json`, learning curves)."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
from pathlib import Path

import datasets
import transformers
from transformers import TrainingArguments

from data_scripts.corpora import check_one_label_set, read_corpora_file, resolve_datasets
from data_scripts.registry import load_group

from ..machine import describe_machine
from ..tagging.alignment import load_tokenizer
from ..vocabulary import RunConfig, method_name, row_identity
from .arguments import DataArguments, ModelArguments, MultiTaskArguments, check_arguments, parse_arguments
from .multitask import MultiTaskModel
from .protocol import Protocol, RunScores, export_run, train_and_score
from .recipes import ModelRecipe, build_container
from .results import merge_results, summarise
from .selection import evaluation_arguments, learning_curves, write_learning_curves
from .tasks import TaskData, WindowSettings, tokenize_tasks
from .trainer import MultiTaskTrainer


logger = logging.getLogger(__name__)

# The recipe a model card reports (TrainingArguments fields).
REPORTED_TRAINING_ARGUMENTS = (
    "learning_rate",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "max_steps",
    "warmup_steps",
    "lr_scheduler_type",
    "weight_decay",
    "adam_epsilon",
    "max_grad_norm",
    "optim",
    "bf16",
    "fp16",
)


class Experiment:
    """The datasets, tokenizer and model recipe of one invocation; trains one container per STL task or one in all."""

    def __init__(
        self,
        model_args: ModelArguments,
        data_args: DataArguments,
        mt_args: MultiTaskArguments,
        training_args: TrainingArguments,
        callbacks=None,
    ):
        self.model_args, self.data_args, self.mt_args, self.args = model_args, data_args, mt_args, training_args
        self.callbacks = list(callbacks or [])
        self.corpora_file = read_corpora_file(data_args.corpora) if data_args.corpora else None
        self.task_names = resolve_datasets(data_args.group, data_args.datasets, data_args.corpora)
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
        if self.corpora_file is not None:
            corpora = self.corpora_file.load(self.task_names, self.data_args.data_dir, **options)
        else:
            corpora = load_group(self.task_names, self.data_args.data_dir, **options)
        self.task_names = [name for name in self.task_names if name in corpora]
        if self.mt_args.mode == "mtl-xc":
            check_one_label_set({name: corpora[name]["train"].features["ner_tags"].feature.names for name in corpora})
        # What tables and model cards say about user corpora (group, licence, citation), carried by run_config.json.
        described = self.corpora_file.describe(self.task_names) if self.corpora_file is not None else {}
        self.user_corpora = {name: dataclasses.asdict(info) for name, info in described.items()}
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

    @property
    def method(self) -> str:
        continued = self.mt_args.continue_from is not None
        return method_name(self.mt_args.mode, self.mt_args.slicing_rate, continued=continued)

    def build(self, task_names: list[str]) -> MultiTaskModel:
        return build_container(
            self.mt_args.mode,
            self.recipe,
            {name: self.tasks[name].label_names for name in task_names},
            slicing_rate=self.mt_args.slicing_rate,
            start_from=self.start_from,
        )

    def trainer(self, model: MultiTaskModel, task_names: list[str], args: TrainingArguments, callbacks: list):
        return MultiTaskTrainer(
            model,
            args,
            {name: self.tasks[name] for name in task_names},
            processing_class=self.tokenizer,
            sampling_temperature=self.mt_args.sampling_temperature,
            layerwise_lr_decay=self.mt_args.layerwise_lr_decay,
            mix_tasks=self.mt_args.mix_datasets,
            callbacks=[*self.callbacks, *callbacks],
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
        """Train every container of the invocation (one per dataset in STL), export each dataset and write the run's
        files; returns the merged results document (empty on processes other than the main one)."""
        output_dir = self.args.output_dir
        groups = [[name] for name in self.task_names] if self.mt_args.mode == "stl" else [self.task_names]
        prior = RunConfig.read(self.start_from) if self.start_from and self._is_run(self.start_from) else None
        summary: dict[str, dict] = {}
        curves: dict[str, list[dict]] = {}
        for task_names in groups:
            run_dir = os.path.join(output_dir, task_names[0]) if self.mt_args.mode == "stl" else output_dir
            trainer, run = self.train_and_score(task_names, run_dir)
            export_run(trainer, self.tokenizer, output_dir, self.args.should_save, run)
            curves.update(learning_curves(trainer.state.log_history, task_names))
            for name in task_names:
                steps_before = prior.steps_of(name) if prior is not None else 0
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
        self.run_config({name: scores["total_steps"] for name, scores in summary.items()}).write(output_dir)
        # The run folder always holds its own scores (model cards read them); a shared results folder collects the
        # table across runs.
        rows = {name: row_identity(name, self.user_corpora) for name in summary}
        document = merge_results(output_dir, self.method, summary, rows)
        if self.mt_args.results_dir and Path(self.mt_args.results_dir).resolve() != Path(output_dir).resolve():
            document = merge_results(self.mt_args.results_dir, self.method, summary, rows)
        logger.info("results written to %s", self.mt_args.results_dir or output_dir)
        if self.mt_args.do_analysis:
            from .analysis import analyze_run

            analyze_run(output_dir)
        return document

    @staticmethod
    def _is_run(path: str) -> bool:
        """Whether a starting point is a run folder (or one of its exports) of this project, with a run_config.json."""
        return any((folder / "run_config.json").is_file() for folder in (Path(path), Path(path).parent.parent))

    def run_config(self, steps: dict[str, int]) -> RunConfig:
        args = self.args
        hyperparameters = {name: getattr(args, name) for name in REPORTED_TRAINING_ARGUMENTS}
        hyperparameters.update(
            optim=str(args.optim.value if hasattr(args.optim, "value") else args.optim),
            lr_scheduler_type=str(getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)),
            world_size=args.world_size,
            max_seq_length=self.data_args.max_seq_length,
            stride=self.data_args.stride,
            layerwise_lr_decay=self.mt_args.layerwise_lr_decay,
            sampling_temperature=self.mt_args.sampling_temperature,
            mix_datasets=self.mt_args.mix_datasets,
            crf_constraints=self.model_args.crf_constraints,
            crf_reduction=self.model_args.crf_reduction,
        )
        return RunConfig(
            mode=self.mt_args.mode,
            method=self.method,
            datasets=list(self.task_names),
            train_sets={
                name: [name] if self.mt_args.mode == "stl" else list(self.task_names) for name in self.task_names
            },
            slicing_rate=self.mt_args.slicing_rate,
            data_dir=self.data_args.data_dir,
            corpora=self.data_args.corpora,
            model_name_or_path=self.model_args.model_name_or_path,
            base_model_id=self.model_args.base_model_id,
            label_scheme=self.model_args.label_scheme,
            seed=args.seed,
            num_train_epochs=args.num_train_epochs,
            restarts=self.mt_args.restarts,
            restart_epochs=self.mt_args.restart_epochs,
            last_checkpoints=self.mt_args.last_checkpoints,
            best_on_validation=self.mt_args.best_on_validation,
            early_stopping_patience=self.mt_args.early_stopping_patience,
            mtl_xc_checkpoint=self.mt_args.mtl_xc_checkpoint,
            continue_from=self.mt_args.continue_from,
            total_steps=max(steps.values(), default=0),
            steps=steps,
            user_corpora=self.user_corpora,
            hyperparameters=hyperparameters,
            machine=describe_machine(),
        )


def main(argv: list[str] | None = None, callbacks=None) -> dict:
    """Parse, check, train, and push each dataset's export to the Hub when `--push_to_hub` says so."""
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
    document = Experiment(model_args, data_args, mt_args, training_args, callbacks).run()
    if push and training_args.should_save:
        from ..hub import push_run_to_hub

        push_run_to_hub(
            training_args.output_dir,
            hub_model_id or Path(training_args.output_dir).name,
            private=bool(training_args.hub_private_repo),
            token=training_args.hub_token,
        )
    return document


__all__ = ["Experiment", "main"]
