"""End-to-end runs that stop and resume or choose checkpoints: a kill mid-run, evaluation during training, restarts,
each dataset's best validation checkpoint, early stopping, the continued controls."""

import json

import pytest
import torch
from transformers import TrainerCallback
from utils import FIXTURE_TASKS as TASKS
from utils import predict_with_export, read_safetensors, run_training, tiny_run_arguments

from mtl_bioner.training import arguments as training_arguments
from mtl_bioner.vocabulary import train_runtime


class KillAfterStep(TrainerCallback):
    """Stands in for a crash right after the checkpoint of `step` was written."""

    def __init__(self, step):
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt(f"killed after step {self.step}")


def test_resume_after_a_kill_ends_with_the_same_weights(tmp_path, fixture_corpora, fixture_tokenizer_dir):
    extra = ("--config_overrides", "n_layer=2,d_model=32,n_head=2,d_inner=64,dropout=0.2")
    run_training(tiny_run_arguments(tmp_path / "straight", fixture_corpora, fixture_tokenizer_dir, "mtl-xc", *extra))
    killed = tiny_run_arguments(tmp_path / "killed", fixture_corpora, fixture_tokenizer_dir, "mtl-xc", *extra)
    with pytest.raises(KeyboardInterrupt):
        run_training(killed, callbacks=[KillAfterStep(8)])
    assert (tmp_path / "killed" / "checkpoint-8").is_dir() and not (tmp_path / "killed" / "export").exists()
    before_the_kill = json.loads((tmp_path / "killed" / "checkpoint-8" / "trainer_state.json").read_text())
    seconds_before = before_the_kill["stateful_callbacks"]["TrainingClock"]["attributes"]["seconds"]
    run_training([*killed, "--resume_from_checkpoint", "True"])
    # The training time counts the session before the kill too: Trainer's own train_runtime only the resumed one.
    for run, earlier in (("straight", 0.0), ("killed", seconds_before)):
        history = json.loads((tmp_path / run / "trainer_state.json").read_text())["log_history"]
        final = next(entry for entry in reversed(history) if "train_runtime" in entry)
        assert final["train_runtime_total"] == round(earlier + final["train_runtime"], 4)
        assert train_runtime(tmp_path / run) == final["train_runtime_total"]
    assert seconds_before > 0
    for task in TASKS:
        straight = read_safetensors(tmp_path / "straight" / "export" / task)
        resumed = read_safetensors(tmp_path / "killed" / "export" / task)
        assert straight.keys() == resumed.keys()
        for key in straight:
            torch.testing.assert_close(resumed[key], straight[key], rtol=0, atol=0, msg=key)


def test_a_checkpoint_saved_without_the_training_clock_resumes_and_times_the_resumed_session(
    tmp_path, fixture_corpora, fixture_tokenizer_dir
):
    killed = tiny_run_arguments(tmp_path / "killed", fixture_corpora, fixture_tokenizer_dir, "mtl-xc")
    with pytest.raises(KeyboardInterrupt):
        run_training(killed, callbacks=[KillAfterStep(8)])
    state_file = tmp_path / "killed" / "checkpoint-8" / "trainer_state.json"
    state = json.loads(state_file.read_text())
    del state["stateful_callbacks"]["TrainingClock"]  # as a checkpoint of a release without the clock
    state_file.write_text(json.dumps(state))
    run_training([*killed, "--resume_from_checkpoint", "True"])
    history = json.loads((tmp_path / "killed" / "trainer_state.json").read_text())["log_history"]
    final = next(entry for entry in reversed(history) if "train_runtime" in entry)
    assert final["train_runtime_total"] == round(final["train_runtime"], 4)


def test_evaluation_during_training_selects_the_best_checkpoint(tmp_path, fixture_corpora, fixture_tokenizer_dir):
    output = tmp_path / "eval"
    run_training(
        tiny_run_arguments(
            output,
            fixture_corpora,
            fixture_tokenizer_dir,
            "mtl-xc",
            "--eval_strategy",
            "epoch",
            "--save_strategy",
            "epoch",
            "--load_best_model_at_end",
            "--metric_for_best_model",
            "eval_f1",
        )
    )
    state = json.loads((sorted(output.glob("checkpoint-*"))[-1] / "trainer_state.json").read_text())
    evaluations = [entry for entry in state["log_history"] if "eval_f1" in entry]
    assert len(evaluations) == 2
    for entry in evaluations:
        assert {f"eval_{task}_{metric}" for task in TASKS for metric in ("f1", "strict_f1", "precision")} <= set(entry)
        assert entry["eval_f1"] == pytest.approx(sum(entry[f"eval_{task}_f1"] for task in TASKS) / 2)
    assert state["best_metric"] == max(entry["eval_f1"] for entry in evaluations)


def test_restarts_pool_the_last_checkpoints_of_every_continuation(tmp_path, fixture_corpora, fixture_tokenizer_dir):
    output = tmp_path / "restarts"
    document = run_training(
        tiny_run_arguments(
            output,
            fixture_corpora,
            fixture_tokenizer_dir,
            "stl",
            "--datasets",
            "NCBI-disease",
            "--restarts",
            "2",
            "--restart_epochs",
            "1",
            "--last_checkpoints",
            "3",
        )
    )
    scores = document["rows"]["NCBI-disease"]["results"]["STL"]
    assert scores["n_checkpoints"] == 3 * 3  # the first run and two continuations, three checkpoints each
    assert (output / "NCBI-disease" / "restart-1").is_dir() and (output / "NCBI-disease" / "restart-2").is_dir()


def test_best_on_validation_exports_and_scores_each_dataset_at_its_own_best(
    tmp_path, mtl_xc_run, fixture_corpora, fixture_tokenizer_dir
):
    output = tmp_path / "best"
    # MTL-LS: loading one dataset's best weights overwrites the layers it shares, the hard case for selection.
    extra = ("--slicing_rate", "0.5", "--mtl_xc_checkpoint", str(mtl_xc_run), "--best_on_validation")
    extra += ("--num_train_epochs", "8", "--save_strategy", "epoch", "--learning_rate", "2e-2")
    document = run_training(tiny_run_arguments(output, fixture_corpora, fixture_tokenizer_dir, "mtl-ls", *extra))
    curves = json.loads((output / "learning_curves.json").read_text())
    assert (output / "learning_curves.png").stat().st_size > 5000
    final_step = max(point["step"] for points in curves.values() for point in points)
    chosen_before_the_end = 0
    for task in TASKS:
        points = curves[task]
        assert [round(point["epoch"]) for point in points] == list(range(1, 9))
        best = max(points, key=lambda point: point["f1"])  # the first of equal scores
        scores = document["rows"][task]["results"]["MTL-LS 0.50"]
        assert scores["selected"] == {"step": best["step"], "epoch": best["epoch"], "validation_f1": best["f1"]}
        # Re-scored after training, the exported model gives exactly the validation F1 it was chosen for.
        assert scores["validation"]["f1"] == best["f1"] and scores["n_checkpoints"] == 1
        export = read_safetensors(output / "export" / task)
        kept = read_safetensors(output / "best" / task)
        assert export.keys() == kept.keys() and all(torch.equal(export[k], kept[k]) for k in export)
        lines = [json.loads(line) for line in (output / "predictions" / f"{task}.jsonl").read_text().splitlines()]
        assert predict_with_export(output / "export" / task, [line["tokens"] for line in lines]) == [
            line["pred"] for line in lines
        ]
        chosen_before_the_end += best["step"] < final_step
    assert chosen_before_the_end  # otherwise the final weights would pass this test too


def test_a_resumed_run_keeps_the_best_checkpoints_of_before_the_crash(
    tmp_path, fixture_corpora, fixture_tokenizer_dir
):
    extra = ("--best_on_validation", "--num_train_epochs", "4", "--save_strategy", "epoch")
    extra += ("--learning_rate", "2e-2", "--early_stopping_patience", "3")
    straight = run_training(
        tiny_run_arguments(tmp_path / "straight", fixture_corpora, fixture_tokenizer_dir, "mtl-xc", *extra)
    )
    steps_per_epoch = json.loads((tmp_path / "straight" / "learning_curves.json").read_text())[TASKS[0]][0]["step"]
    killed = tiny_run_arguments(tmp_path / "killed", fixture_corpora, fixture_tokenizer_dir, "mtl-xc", *extra)
    with pytest.raises(KeyboardInterrupt):
        run_training(killed, callbacks=[KillAfterStep(3 * steps_per_epoch)])
    resumed = run_training([*killed, "--resume_from_checkpoint", "True"])
    for task in TASKS:
        assert resumed["rows"][task]["results"]["MTL-XC"] == straight["rows"][task]["results"]["MTL-XC"]
        assert read_safetensors(tmp_path / "killed" / "export" / task).keys()


def test_early_stopping_ends_training_after_patience_evaluations_without_a_rise(
    tmp_path, fixture_corpora, fixture_tokenizer_dir
):
    output = tmp_path / "stopped"
    # Learning rate 0: the validation F1 never rises after the first evaluation, so patience 2 stops at the third.
    extra = ("--early_stopping_patience", "2", "--num_train_epochs", "6", "--save_strategy", "epoch")
    run_training(
        tiny_run_arguments(output, fixture_corpora, fixture_tokenizer_dir, "mtl-xc", *extra, "--learning_rate", "0")
    )
    state = json.loads((output / "trainer_state.json").read_text())
    evaluations = [entry for entry in state["log_history"] if "eval_f1" in entry]
    assert [round(entry["epoch"]) for entry in evaluations] == [1, 2, 3]
    assert state["global_step"] == evaluations[-1]["step"] < state["max_steps"]


def test_stl_continued_starts_from_each_datasets_own_stl_model(tmp_path, fixture_corpora, fixture_tokenizer_dir):
    first = run_training(
        tiny_run_arguments(tmp_path / "stl", fixture_corpora, fixture_tokenizer_dir, "stl", "--num_train_epochs", "1")
    )
    # Learning rate 0: the continued models stay exactly where they started.
    extra = ("--num_train_epochs", "1", "--learning_rate", "0", "--continue_from", str(tmp_path / "stl"))
    continued = run_training(
        tiny_run_arguments(tmp_path / "more", fixture_corpora, fixture_tokenizer_dir, "stl", *extra)
    )
    for task in TASKS:
        before = first["rows"][task]["results"]["STL"]
        after = continued["rows"][task]["results"]["STL continued"]
        assert after["total_steps"] == before["total_steps"] + after["train_steps"]
        start = read_safetensors(tmp_path / "stl" / "export" / task)
        end = read_safetensors(tmp_path / "more" / "export" / task)
        assert all(torch.equal(start[key], end[key]) for key in start)
    config = json.loads((tmp_path / "more" / "run_config.json").read_text())
    assert config["method"] == "STL continued" and config["continue_from"] == str(tmp_path / "stl")


def test_selection_flags_that_cannot_work_are_refused():
    def check(*flags):
        model_args, _, mt_args, _ = training_arguments.parse_arguments(
            ["--group", "disease", "--output_dir", "o", *flags]
        )
        training_arguments.check_arguments(model_args, mt_args)

    with pytest.raises(ValueError, match="to train an earlier mtl-xc run on, use --continue_from"):
        check("--mode", "mtl-xc", "--mtl_xc_checkpoint", "runs/xc")
    with pytest.raises(ValueError, match="does not combine with --best_on_validation"):
        check("--best_on_validation", "--restarts", "1", "--restart_epochs", "1")
    with pytest.raises(ValueError, match="at least 1"):
        check("--early_stopping_patience", "0")
