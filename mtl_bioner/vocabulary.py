"""The names and files that training runs, sweeps, tables and model cards share, defined once.

A run of `mtl_bioner.training` leaves `run_config.json` (what it trained, how, on what), `results.json` (scores per
dataset and method) and `predictions/<dataset>.jsonl` (test words with gold and predicted tags); a sweep of
`mtl_bioner.study.sweep` leaves `sweep.json` (its arguments and planned runs). The method labels that key those files
("STL", "MTL-LS 0.50", "MTL-XC continued", ...), how a mean ± sd over checkpoints or seeds is written, and the order
and names of the table rows live here too. Training, tagging, the study and the Hub code read and write them only
through this module; it needs no torch.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from data_scripts.corpora import DEFAULT_GROUP
from data_scripts.registry import ROWS


# ---- Method labels: the columns of every table ----

STL = "STL"
MTL_XC = "MTL-XC"
STL_CONTINUED = "STL continued"
MTL_XC_CONTINUED = "MTL-XC continued"
MTL_XC_START = "MTL-XC start"  # the shorter MTL-XC run an equal-compute MTL-LS starts from (written as MTL-XC)
BASELINES = (STL, STL_CONTINUED, MTL_XC, MTL_XC_CONTINUED)


def mtl_ls_label(slicing_rate: float) -> str:
    return f"MTL-LS {slicing_rate:.2f}"


def method_name(mode: str, slicing_rate: float | None = None, *, continued: bool = False) -> str:
    """The label of a run: STL, MTL-XC, MTL-LS <rate>, or STL / MTL-XC continued (more training on an earlier run:
    the controls that separate slicing from extra training)."""
    if mode == "mtl-ls":
        return mtl_ls_label(slicing_rate)
    name = {"stl": STL, "mtl-xc": MTL_XC}[mode]
    return f"{name} continued" if continued else name


def method_order(label: str) -> tuple[int, float]:
    """Table order: STL, STL continued, MTL-XC, MTL-XC continued, then MTL-LS by rate."""
    if label.startswith("MTL-LS "):
        return len(BASELINES), float(label.split()[-1])
    return (BASELINES.index(label) if label in BASELINES else len(BASELINES) - 1), 0.0


# ---- Mean ± sd ----


def mean_sd(values: Sequence[float]) -> dict[str, float | None]:
    """Mean and sample standard deviation (n - 1); the sd of a single value is None (not 0: nothing varied)."""
    if not values:
        raise ValueError("mean_sd needs at least one value")
    return {"mean": statistics.fmean(values), "sd": statistics.stdev(values) if len(values) > 1 else None}


def format_mean_sd(value: Mapping[str, float | None] | None, *, scale: float = 100.0) -> str:
    """'83.19 ± 0.42' in percent, '83.19' without an sd, '–' for nothing."""
    if value is None:
        return "–"
    text = f"{scale * value['mean']:.2f}"
    return text + (f" ± {scale * value['sd']:.2f}" if value.get("sd") is not None else "")


# ---- Table rows ----

GROUP_TITLES = {"chemical": "Chemical", "disease": "Disease", "gene": "Gene and protein", "species": "Species"}
_ROW_POSITION = {row.key: index for index, row in enumerate(ROWS)}


@dataclass(frozen=True)
class RowIdentity:
    """Where a dataset goes in a table: the paper's rows first in the paper's order, then the others (a stable
    sort keeps their order of appearance); its group and the name shown."""

    position: int
    group: str
    dataset: str


def row_identity(key: str, user_corpora: Mapping[str, Mapping] | None = None, group: str | None = None) -> RowIdentity:
    """A paper row's identity, else a user corpus's as its corpora file described it (`RunConfig.user_corpora`), else
    `group` (or "other") and the key itself."""
    if key in _ROW_POSITION:
        row = ROWS[_ROW_POSITION[key]]
        return RowIdentity(_ROW_POSITION[key], row.group, row.dataset)
    described = (user_corpora or {}).get(key) or {}
    return RowIdentity(len(ROWS), described.get("group") or group or DEFAULT_GROUP, described.get("dataset") or key)


def group_title(group: str) -> str:
    return GROUP_TITLES.get(group, group)


# ---- Files of a run ----

RUN_CONFIG = "run_config.json"
RESULTS = "results.json"
PREDICTIONS_DIR = "predictions"
SENTENCE_COUNTS_DIR = "sentence_counts"
RESTORED = "restored.json"  # a run copied back from a published study: its results, not its model
TRAINER_STATE = "trainer_state.json"  # transformers' TRAINER_STATE_NAME
TOTAL_RUNTIME = "train_runtime_total"  # logged beside train_runtime: the seconds of every session of a resumed run
CURVES_FILE = "learning_curves.json"
CURVES_PLOT = "learning_curves.png"
PREDICTION_FIELDS = ("tokens", "gold", "pred")


def read_json(path: str | os.PathLike, what: str) -> Any:
    """A JSON file, or an error naming the file and what it should have been."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: expected the {what}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: not valid JSON ({error.msg}), expected the {what}") from None


@dataclass(frozen=True)
class RunConfig:
    """run_config.json: what one training run trained (mode, datasets and what each was trained with), from where,
    for how long and with which protocol; what model cards and the study read about a run."""

    mode: str
    datasets: list[str]
    method: str = ""
    train_sets: dict[str, list[str]] = field(default_factory=dict)
    slicing_rate: float | None = None
    data_dir: str | None = None
    corpora: str | None = None
    model_name_or_path: str | None = None
    base_model_id: str | None = None
    label_scheme: str = "first"
    seed: int | None = None
    num_train_epochs: float | None = None
    restarts: int = 0
    restart_epochs: float = 0.0
    last_checkpoints: int = 5
    best_on_validation: bool = False
    early_stopping_patience: int | None = None
    mtl_xc_checkpoint: str | None = None
    continue_from: str | None = None
    total_steps: int = 0
    steps: dict[str, int] = field(default_factory=dict)
    user_corpora: dict[str, dict] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if not self.method:  # written before runs named their method: derived as they were then
            continued = self.continue_from is not None or (
                self.mode == "mtl-xc" and self.mtl_xc_checkpoint is not None
            )
            object.__setattr__(self, "method", method_name(self.mode, self.slicing_rate, continued=continued))

    @property
    def starts_from(self) -> str | None:
        """The run this one's models start from: MTL-LS's MTL-XC run, or the run a continued control goes on with."""
        if self.mode == "mtl-ls":
            return self.mtl_xc_checkpoint
        return self.continue_from or self.mtl_xc_checkpoint

    def steps_of(self, dataset: str) -> int:
        """Optimizer updates behind `dataset`'s model (an STL run trains each dataset for its own count)."""
        return int(self.steps.get(dataset, self.total_steps))

    @classmethod
    def read(cls, folder: str | os.PathLike) -> RunConfig:
        values = read_json(Path(folder) / RUN_CONFIG, "run configuration of a training run")
        known = {item.name for item in fields(cls)}
        missing = [name for name in ("mode", "datasets") if name not in values]
        if missing:
            raise ValueError(f"{Path(folder) / RUN_CONFIG}: no {missing}, expected a run configuration")
        return cls(**{key: value for key, value in values.items() if key in known})

    def write(self, folder: str | os.PathLike) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / RUN_CONFIG).write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")


def find_run_config(path: str | os.PathLike) -> RunConfig | None:
    """The config of the run a path belongs to: a run folder or one of its exports (`<run>/export/<dataset>`)."""
    path = Path(path)
    for folder in (path, path.parent.parent):
        if (folder / RUN_CONFIG).is_file():
            return RunConfig.read(folder)
    return None


def read_results(folder: str | os.PathLike) -> dict[str, dict]:
    """results.json's rows: {dataset: {"group", "dataset", "results": {method: scores}}}."""
    document = read_json(Path(folder) / RESULTS, "results of a training run")
    if not isinstance(document, dict) or not isinstance(document.get("rows"), dict):
        raise ValueError(f"{Path(folder) / RESULTS}: expected an object with rows per dataset")
    return document["rows"]


def run_result(folder: str | os.PathLike, dataset: str, method: str) -> dict:
    """One dataset's scores under one method in a run's results.json; the error names what is missing."""
    result = read_results(folder).get(dataset, {}).get("results", {}).get(method)
    if result is None:
        raise ValueError(f"{Path(folder) / RESULTS}: no rows[{dataset!r}]['results'][{method!r}]")
    missing = [metric for metric in ("precision", "recall", "f1") if metric not in result]
    if missing:
        raise ValueError(f"{Path(folder) / RESULTS}: rows[{dataset!r}] {method} lacks {missing}")
    return result


def train_runtime(output_dir: str | os.PathLike) -> float | None:
    """Seconds Trainer spent in `train()` for the run in `output_dir` and its restarts (`restart-<k>/`), from the
    last `train_runtime` entry of `trainer_state.json`'s log history: its `train_runtime_total` (every session of a
    resumed run, `TrainingClock`) where logged, else its `train_runtime`; None when a state file lacks it.
    Checkpoint states never hold it: Trainer logs it after the last save."""
    total = 0.0
    for state_dir in [Path(output_dir), *sorted(Path(output_dir).glob("restart-*"))]:
        path = state_dir / TRAINER_STATE
        if not path.is_file():
            return None
        runtimes = [
            entry.get(TOTAL_RUNTIME, entry["train_runtime"])
            for entry in read_json(path, "trainer state").get("log_history", [])
            if "train_runtime" in entry
        ]
        if not runtimes:
            return None
        total += float(runtimes[-1])
    return total


def predictions_path(folder: str | os.PathLike, dataset: str) -> Path:
    return Path(folder) / PREDICTIONS_DIR / f"{dataset}.jsonl"


def sentence_counts_path(folder: str | os.PathLike, dataset: str) -> Path:
    """A published run's per-sentence entity counts of its test predictions (what the study's tests resample)."""
    return Path(folder) / SENTENCE_COUNTS_DIR / f"{dataset}.json"


def write_predictions(
    path: str | os.PathLike,
    tokens: Sequence[Sequence[str]],
    gold: Sequence[Sequence[str]],
    predicted: Sequence[Sequence[str]],
) -> None:
    """One JSON object per sentence, `{"tokens", "gold", "pred"}`, one word-level tag per token."""
    if not len(tokens) == len(gold) == len(predicted):
        raise ValueError(f"{len(tokens)} token sentences, {len(gold)} gold and {len(predicted)} predicted ones")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for index, sentence in enumerate(zip(tokens, gold, predicted)):
            if not len(sentence[0]) == len(sentence[1]) == len(sentence[2]):
                raise ValueError(
                    f"sentence {index}: {len(sentence[0])} tokens, {len(sentence[1])} gold and {len(sentence[2])} "
                    "predicted tags"
                )
            handle.write(json.dumps(dict(zip(PREDICTION_FIELDS, map(list, sentence)))) + "\n")


def read_predictions(path: str | os.PathLike) -> tuple[list[list[str]], list[list[str]], list[list[str]]]:
    """(tokens, gold, predicted) per sentence, as given to `write_predictions`; blank lines are skipped."""
    tokens, gold, predicted = [], [], []
    with open(path, encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{line_number}: not a JSON object ({error.msg})") from None
            missing = [name for name in PREDICTION_FIELDS if not isinstance(record, dict) or name not in record]
            if missing:
                raise ValueError(f"{path}:{line_number}: missing {missing}, expected {list(PREDICTION_FIELDS)}")
            if not len(record["tokens"]) == len(record["gold"]) == len(record["pred"]):
                raise ValueError(f"{path}:{line_number}: tokens, gold and pred differ in length")
            tokens.append(record["tokens"])
            gold.append(record["gold"])
            predicted.append(record["pred"])
    return tokens, gold, predicted


# ---- The file of a sweep ----

SWEEP_FILE = "sweep.json"


def read_sweep(folder: str | os.PathLike) -> tuple[dict, list[dict]]:
    """(arguments, planned runs) of the sweep in `folder`."""
    path = Path(folder) / SWEEP_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `python -m mtl_bioner.study.sweep` into this folder first")
    document = read_json(path, "plan of a sweep")
    return document["arguments"], document["runs"]


def write_sweep(folder: str | os.PathLike, arguments: dict, runs: Sequence[dict]) -> None:
    Path(folder).mkdir(parents=True, exist_ok=True)
    document = {"arguments": arguments, "runs": list(runs)}
    (Path(folder) / SWEEP_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


__all__ = [
    "BASELINES",
    "MTL_XC",
    "MTL_XC_CONTINUED",
    "MTL_XC_START",
    "STL",
    "STL_CONTINUED",
    "RowIdentity",
    "RunConfig",
    "find_run_config",
    "format_mean_sd",
    "group_title",
    "mean_sd",
    "method_name",
    "method_order",
    "mtl_ls_label",
    "predictions_path",
    "read_json",
    "read_predictions",
    "read_results",
    "read_sweep",
    "row_identity",
    "run_result",
    "sentence_counts_path",
    "train_runtime",
    "write_predictions",
    "write_sweep",
]
