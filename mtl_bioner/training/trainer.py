"""`Trainer` for several datasets at once: task batches, layer-wise learning rates, per-dataset entity scores."""

from __future__ import annotations

import math
import time
from collections.abc import Collection, Sequence

import datasets
import torch
from torch import nn
from torch.utils.data import DataLoader
from transformers import Trainer
from transformers.trainer_optimizer import is_optimizer_factory
from transformers.trainer_utils import PredictionOutput, speed_metrics

from ..tagging.collator import DataCollatorForWordCRF
from ..tagging.windows import MODEL_INPUTS, predict_windows
from .clock import TrainingClock
from .metrics import entity_scores
from .multitask import MultiTaskModel
from .sampling import ConcatenatedBatches, TaskBatchSampler
from .tasks import TaskData


def parameter_depths(model: nn.Module) -> dict[int, int]:
    """Depth from the top of the encoder, keyed by `id(parameter)`, for every parameter of an encoder in `model`.

    Every per-task model exposes `backbone` (its encoder) and `encoder_layers()` (the encoder's layers, bottom first).
    With n layers, the parameters of layer i are at depth n - 1 - i and the backbone's other parameters (embeddings,
    relative-position tables, ...) at depth n. Parameters are told apart by identity, so a layer that MTL-LS shares
    between models gets one depth; parameters missing from the result (classifier, CRF) are at depth 0.
    """
    depths: dict[int, int] = {}
    for module in model.modules():
        if not callable(getattr(module, "encoder_layers", None)):
            continue
        layers = module.encoder_layers()
        for index, layer in enumerate(layers):
            for parameter in layer.parameters():
                depths.setdefault(id(parameter), len(layers) - 1 - index)
        for parameter in module.backbone.parameters():
            depths.setdefault(id(parameter), len(layers))
    return depths


def layerwise_parameter_groups(
    model: nn.Module,
    learning_rate: float,
    layer_decay: float,
    *,
    weight_decay: float = 0.0,
    decay_parameter_names: Collection[str] | None = None,
) -> list[dict]:
    """Optimizer parameter groups with lr * layer_decay ** depth (see `parameter_depths`): the top encoder layer
    trains at `learning_rate`, the layer below at lr * decay, ..., the embeddings lowest; classifier and CRF at `lr`.

    Parameters named in `decay_parameter_names` (`Trainer.get_decay_parameter_names`: not LayerNorm, not biases) get
    `weight_decay`, the others none; None applies it to all. With `layer_decay=1` this is Trainer's own decay/no-decay
    split. Layer-wise rates are the paper's intent ("lr[n-1] = lr[n] * decay_rate"); the authors' code instead scaled
    each layer's gradients, which Adam's per-parameter normalisation almost cancels. Shared parameters appear once.
    """
    depths = parameter_depths(model) if layer_decay != 1.0 else {}
    names = None if decay_parameter_names is None else set(decay_parameter_names)
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        rate = learning_rate * layer_decay ** depths.get(id(parameter), 0)
        decay = weight_decay if names is None or name in names else 0.0
        groups.setdefault((rate, decay), []).append(parameter)
    return [
        {"params": params, "lr": rate, "weight_decay": decay}
        for (rate, decay), params in sorted(groups.items(), reverse=True)
    ]


class MultiTaskTrainer(Trainer):
    """A `Trainer` whose train batches each go to one model and whose evaluation scores every dataset on words.

    Metrics are named `<prefix>_<dataset>_f1` (seqeval default mode, conlleval-compatible),
    `<prefix>_<dataset>_strict_f1` (strict IOB2), with precision and recall alike, plus `<prefix>_f1`, the mean F1
    over the datasets scored, and Trainer's speed metrics. The prefix is `eval` by default. Training logs
    `train_runtime_total` too: the seconds of every session of a resumed run (`TrainingClock`).

    Batches are drawn from one dataset at a time (`sampling_temperature` weighs datasets), or, with `mix_tasks=True`,
    from the union of all datasets, the paper's MTL-XC "unify the labels and shuffle the datasets"; mixing is only
    possible when every dataset routes to one model (MTL-XC, STL). The optimizer is the one `--optim` names, over
    `layerwise_parameter_groups` (`layerwise_lr_decay=1.0` gives plain groups).
    """

    def __init__(
        self,
        model: MultiTaskModel,
        args,
        tasks: dict[str, TaskData],
        *,
        processing_class=None,
        eval_split: str = "validation",
        sampling_temperature: float = 1.0,
        layerwise_lr_decay: float = 0.9,
        mix_tasks: bool = False,
        **kwargs,
    ):
        unrouted = sorted(set(tasks) - set(model.routes))
        if unrouted:
            raise ValueError(f"tasks {unrouted} have no model in the container (routes: {model.routes})")
        if mix_tasks:
            models = sorted({model.routes[name] for name in tasks})
            if len(models) > 1:
                raise ValueError(
                    f"mix_tasks=True draws batches from all datasets at once, which needs every dataset on one model "
                    f"(MTL-XC or STL), but the datasets route to models {models}"
                )
            if sampling_temperature != 1.0:
                raise ValueError(
                    f"sampling_temperature={sampling_temperature} weighs datasets per batch, which mix_tasks=True "
                    "does not do: batches are drawn from the union of the datasets"
                )
        self.tasks = tasks
        self.eval_split = eval_split
        # Window rows per (task, split), read from the Arrow table once: evaluation runs per checkpoint and split.
        self._window_rows: dict[tuple[str, str], list[dict]] = {}
        self.sampling_temperature = sampling_temperature
        self.layerwise_lr_decay = layerwise_lr_decay
        self.mix_tasks = mix_tasks
        train_parts = [
            task.train.add_column("task", [name] * len(task.train))
            for name, task in tasks.items()
            if task.train is not None
        ]
        train_dataset = datasets.concatenate_datasets(train_parts) if train_parts else None
        # Declared so Trainer accepts an eval_strategy; `evaluate` reads words and windows from `tasks` itself.
        eval_dataset = {name: task.windows[eval_split] for name, task in tasks.items() if eval_split in task.windows}
        collator = DataCollatorForWordCRF(processing_class, task_routes=model.routes if mix_tasks else None)
        super().__init__(
            model=model,
            args=args,
            train_dataset=train_dataset,
            eval_dataset=eval_dataset or None,
            data_collator=collator,
            processing_class=processing_class,
            **kwargs,
        )
        self.add_callback(TrainingClock())

    # ---- Training data ----

    def get_train_dataloader(self) -> DataLoader:
        if self.train_dataset is None:
            raise ValueError("MultiTaskTrainer: no task has a training split (TaskData.train is None for all)")
        return super().get_train_dataloader()

    def _get_train_sampler(self, train_dataset: datasets.Dataset | None = None) -> ConcatenatedBatches:
        """Full one-model batches, flattened: Trainer's DataLoader (same batch size) cuts them back into batches, so
        its worker, pinning, prefetch and seeding settings and `accelerator.prepare` apply unchanged."""
        dataset = self.train_dataset if train_dataset is None else train_dataset
        strategy = self.args.train_sampling_strategy
        if strategy not in ("random", "group_by_length"):
            raise ValueError(
                f"train_sampling_strategy={strategy!r} is not supported by MultiTaskTrainer: use 'random' or "
                "'group_by_length' (batches are drawn per dataset)"
            )
        groups = ["all tasks"] * len(dataset) if self.mix_tasks else dataset["task"]
        lengths = [len(ids) for ids in dataset["input_ids"]] if strategy == "group_by_length" else None
        return ConcatenatedBatches(
            TaskBatchSampler(
                groups,
                self._train_batch_size,
                temperature=self.sampling_temperature,
                seed=self.args.seed,
                lengths=lengths,
            )
        )

    # ---- Optimizer ----

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        """The optimizer `--optim` names (with its `--optim_args`, betas, eps), over `layerwise_parameter_groups`."""
        opt_model = self.model if model is None else model
        if self.optimizer is None:
            if self.optimizer_cls_and_kwargs is not None:
                optimizer_cls, optimizer_kwargs = self.optimizer_cls_and_kwargs
            else:
                optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
            own_groups = sorted({"params", "model", "optimizer_dict"} & set(optimizer_kwargs))
            if is_optimizer_factory(optimizer_cls) or own_groups:
                raise ValueError(
                    f"optimizer {self.args.optim!r} builds its own parameter groups ({own_groups or 'a factory'}), "
                    "so it cannot take the layer-wise learning-rate groups: choose an optimizer that accepts "
                    "parameter groups (adamw_torch, adamw_torch_fused, adafactor, sgd, ...)"
                )
            groups = layerwise_parameter_groups(
                opt_model,
                self.args.learning_rate,
                self.layerwise_lr_decay,
                weight_decay=self.args.weight_decay,
                decay_parameter_names=self.get_decay_parameter_names(opt_model),
            )
            self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    # ---- Prediction and evaluation ----

    @torch.no_grad()
    def predict_words(self, task: str, split: str) -> list[list[str]]:
        """Word-level tag names for every sentence of `split`, predicted by the tagger's own loop
        (`tagging.windows.predict_windows`). Batches are dealt across processes and the results gathered, so every process
        returns the full list."""
        data = self.tasks[task]
        if split not in data.windows:
            raise KeyError(f"{task}: no {split!r} split loaded (have {sorted(data.windows)})")
        if (task, split) not in self._window_rows:
            columns = [*MODEL_INPUTS, "sentence_id"]
            self._window_rows[task, split] = data.windows[split].select_columns(columns).to_list()
        windows = self._window_rows[task, split]
        model = self.accelerator.unwrap_model(self.model).model_for(task)
        was_training = model.training
        model.eval()
        gather = None
        if self.accelerator.num_processes > 1:
            from accelerate.utils import gather_object as gather
        word_predictions = predict_windows(
            model,
            windows,
            [len(tokens) for tokens in data.words[split]["tokens"]],
            self.data_collator,
            batch_size=self.args.per_device_eval_batch_size,
            shard=self.accelerator.split_between_processes,
            gather=gather,
        )
        model.train(was_training)
        names = data.label_names
        return [[names[tag] for tag in sentence] for sentence in word_predictions]

    def gold_words(self, task: str, split: str) -> list[list[str]]:
        names = self.tasks[task].label_names
        return [[names[tag] for tag in sentence] for sentence in self.tasks[task].words[split]["ner_tags"]]

    def _task_selection(self, selection: str | Sequence[str] | None) -> list[str]:
        names = [selection] if isinstance(selection, str) else list(self.tasks if selection is None else selection)
        unknown = [name for name in names if name not in self.tasks]
        if unknown or not names:
            raise KeyError(f"unknown or no tasks {unknown or names}: expected names among {list(self.tasks)}")
        return names

    def _score(
        self, selection: str | Sequence[str] | None, split: str, ignore_keys: list[str] | None, prefix: str
    ) -> PredictionOutput:
        """Word-level predictions, gold tags and metrics (entity scores, mean F1, speed) of the selected tasks."""
        if ignore_keys and "predictions" in ignore_keys:
            raise ValueError("ignore_keys names 'predictions': the entity scores are computed from that model output")
        names = self._task_selection(selection)
        start_time = time.time()
        predicted = {name: self.predict_words(name, split) for name in names}
        gold = {name: self.gold_words(name, split) for name in names}
        metrics: dict[str, float] = {}
        for name in names:
            scores = entity_scores(gold[name], predicted[name])
            metrics.update({f"{prefix}_{name}_{key}": value for key, value in scores.items()})
        metrics[f"{prefix}_f1"] = sum(metrics[f"{prefix}_{name}_f1"] for name in names) / len(names)
        num_windows = sum(len(self.tasks[name].windows[split]) for name in names)
        # One step is a batch on every process, as Trainer counts it; each task's windows are batched separately.
        batch_size = self.args.per_device_eval_batch_size
        batches = sum(math.ceil(len(self.tasks[name].windows[split]) / batch_size) for name in names)
        steps = math.ceil(batches / self.args.world_size)
        metrics.update(speed_metrics(prefix, start_time, num_samples=num_windows, num_steps=steps))
        return PredictionOutput(predictions=predicted, label_ids=gold, metrics=metrics)

    def evaluate(
        self,
        eval_dataset: str | Sequence[str] | None = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "eval",
        split: str | None = None,
    ) -> dict[str, float]:
        """Entity scores on `split` (default: the trainer's `eval_split`), logged and returned.

        `eval_dataset` selects the datasets by task name: one name, a list of names, or None for all of them; the
        windows and words come from `tasks`. `ignore_keys` may name model outputs to skip, but not `predictions`,
        the Viterbi tags that are scored. Metrics are named `<metric_key_prefix>_<task>_f1`, ..., `<prefix>_f1`
        (mean over the selected tasks) and `<prefix>_runtime`, `_samples_per_second` (windows), `_steps_per_second`.
        """
        self._memory_tracker.start()
        split = split or self.eval_split
        output = self._score(eval_dataset, split, ignore_keys, metric_key_prefix)
        metrics = output.metrics
        self.log(metrics)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
        self._memory_tracker.stop_and_update_metrics(metrics)
        return metrics

    def predict(
        self,
        test_dataset: str | Sequence[str] | None = None,
        ignore_keys: list[str] | None = None,
        metric_key_prefix: str = "test",
        split: str = "test",
    ) -> PredictionOutput:
        """Word-level predictions and entity scores of the selected tasks on `split` (default: test).

        `test_dataset` selects tasks as `evaluate`'s `eval_dataset` does. Returns a `PredictionOutput` whose
        `predictions` and `label_ids` are dicts {task: one list of tag names per sentence} (predicted and gold, word
        level, sentences in split order) and whose `metrics` are named as in `evaluate`, with `metric_key_prefix`.
        """
        self._memory_tracker.start()
        output = self._score(test_dataset, split, ignore_keys, metric_key_prefix)
        self.control = self.callback_handler.on_predict(self.args, self.state, self.control, output.metrics)
        self._memory_tracker.stop_and_update_metrics(output.metrics)
        return output


__all__ = ["MultiTaskTrainer", "layerwise_parameter_groups", "parameter_depths"]
