"""End-to-end runs of the training script: every mode, two processes, configs and bad flags, label schemes, the Hub,
pretrained XLNet weights, bf16."""

import json
import os
import socket
import subprocess
import sys
from collections import Counter

import pytest
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer
from utils import FIXTURE_TASKS as TASKS
from utils import ROOT, predict_with_export, read_safetensors, run_training, tiny_run_arguments

from data_scripts.corpora import resolve_datasets
from modeling_xlnet_crf import XLNetForTokenClassificationCRF
from mtl_bioner.training import arguments as training_arguments
from mtl_bioner.training import experiment
from mtl_bioner.training.trainer import MultiTaskTrainer


def test_every_mode_end_to_end(tmp_path, mtl_xc_run, fixture_corpora, fixture_tokenizer_dir):
    results_dir = tmp_path / "results"
    run_training(
        tiny_run_arguments(
            tmp_path / "stl", fixture_corpora, fixture_tokenizer_dir, "stl", "--results_dir", str(results_dir)
        )
    )
    run_training(
        tiny_run_arguments(
            tmp_path / "ls",
            fixture_corpora,
            fixture_tokenizer_dir,
            "mtl-ls",
            "--slicing_rate",
            "0.5",
            "--mtl_xc_checkpoint",
            str(mtl_xc_run),
            "--results_dir",
            str(results_dir),
            "--do_analysis",
        )
    )
    # The MTL-XC run wrote its results to its own folder; merge them in as a user running into one folder would.
    xc = json.loads((mtl_xc_run / "results.json").read_text())
    from mtl_bioner.training.results import merge_results
    from mtl_bioner.vocabulary import row_identity

    scores = {key: row["results"]["MTL-XC"] for key, row in xc["rows"].items()}
    document = merge_results(results_dir, "MTL-XC", scores, {key: row_identity(key) for key in scores})
    assert set(document["rows"]) == set(TASKS)
    for row in document["rows"].values():
        assert set(row["results"]) == {"STL", "MTL-XC", "MTL-LS 0.50"}
        for scores in row["results"].values():
            assert 0.0 <= scores["f1"] <= 1.0 and scores["n_checkpoints"] == 5
    table = (results_dir / "results.md").read_text()
    assert "| Disease | BC5CDR |" in table and "MTL-LS 0.50 F1" in table and "**" in table
    for run_dir in (tmp_path / "stl", tmp_path / "ls", mtl_xc_run):
        config = json.loads((run_dir / "run_config.json").read_text())
        for task in TASKS:
            lines = [json.loads(line) for line in (run_dir / "predictions" / f"{task}.jsonl").read_text().splitlines()]
            assert len(lines) == 10
            # The standalone export predicts exactly what the multi-task model predicted for that dataset.
            assert predict_with_export(run_dir / "export" / task, [line["tokens"] for line in lines]) == [
                line["pred"] for line in lines
            ]
            assert config["train_sets"][task] == ([task] if config["mode"] == "stl" else TASKS)
    own = json.loads((tmp_path / "ls" / "results.json").read_text())  # each run folder keeps its own scores too
    assert set(own["rows"]) == set(TASKS) and all(set(r["results"]) == {"MTL-LS 0.50"} for r in own["rows"].values())
    analysis = json.loads((tmp_path / "ls" / "analysis.json").read_text())
    assert set(analysis["datasets"]) == set(TASKS)
    assert (tmp_path / "ls" / "radar.png").stat().st_size > 5000


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("mode", ["mtl-ls", "mtl-xc"])
def test_two_processes_on_cpu_keep_ranks_identical(mode, tmp_path, mtl_xc_run, fixture_corpora, fixture_tokenizer_dir):
    output = tmp_path / "ddp"
    extra = ("--slicing_rate", "0.5", "--mtl_xc_checkpoint", str(mtl_xc_run)) if mode == "mtl-ls" else ()
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(free_port()),
        str(ROOT / "tests" / "ddp_worker.py"),
        *tiny_run_arguments(output, fixture_corpora, fixture_tokenizer_dir, mode, *extra),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    reports = [json.loads((output / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    assert [r["world_size"] for r in reports] == [2, 2]
    # Whole batches are dealt to ranks: both ranks trained, on batches of both tasks.
    assert all(r["tasks_seen"] for r in reports)
    assert set(reports[0]["tasks_seen"]) | set(reports[1]["tasks_seen"]) == set(TASKS)
    assert reports[0]["parameters"].keys() == reports[1]["parameters"].keys()
    for name, value in reports[0]["parameters"].items():
        assert reports[1]["parameters"][name] == pytest.approx(value, rel=1e-6, abs=1e-6), name
    assert (output / "results.md").exists() and (output / "export" / TASKS[0] / "model.safetensors").exists()


def test_a_yaml_config_file_replaces_the_flags_and_paper_defaults_apply(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "mode: mtl-ls\nslicing_rate: 0.25\nmtl_xc_checkpoint: runs/xc\ngroup: disease\noutput_dir: out\nlearning_rate: 5.0e-5\n"
    )
    model_args, data_args, mt_args, training_args = training_arguments.parse_arguments([str(config)])
    assert (mt_args.mode, mt_args.slicing_rate, data_args.group) == ("mtl-ls", 0.25, "disease")
    assert training_args.learning_rate == 5e-5  # the file wins over the paper's default
    assert (
        training_args.adam_epsilon == 1e-6 and training_args.save_total_limit == 5 and training_args.warmup_steps == 0
    )
    flags = training_arguments.parse_arguments(["--mode", "stl", "--group", "disease", "--output_dir", "out"])[3]
    assert flags.learning_rate == 3e-5 and flags.adam_epsilon == 1e-6


def test_bad_arguments_say_what_is_wrong():
    model_args, data_args, mt_args, _ = training_arguments.parse_arguments(
        ["--mode", "mtl-ls", "--group", "disease", "--output_dir", "o"]
    )
    with pytest.raises(ValueError, match="needs --slicing_rate and --mtl_xc_checkpoint"):
        training_arguments.check_arguments(model_args, mt_args)
    with pytest.raises(ValueError, match="exactly one of --datasets"):
        resolve_datasets("disease", "NCBI-disease")
    with pytest.raises(ValueError, match="not one of"):
        resolve_datasets("proteins", None)


def test_x_label_scheme_with_constraints_end_to_end(tmp_path, fixture_corpora, fixture_tokenizer_dir, monkeypatch):
    # 24-piece windows: some training windows start inside an entity (I- first), which BIO must accept.
    output = tmp_path / "x"
    predicted_splits = Counter()
    predict_words = MultiTaskTrainer.predict_words

    def counting_predict_words(self, task, split):
        predicted_splits[task, split] += 1
        return predict_words(self, task, split)

    monkeypatch.setattr(MultiTaskTrainer, "predict_words", counting_predict_words)
    run_training(
        tiny_run_arguments(
            output, fixture_corpora, fixture_tokenizer_dir, "mtl-xc", "--label_scheme", "x", "--crf_constraints", "BIO"
        )
    )
    config = json.loads((output / "export" / TASKS[0] / "config.json").read_text())
    assert config["label_scheme"] == "x" and config["crf_constraints"] == "BIO" and "X" in config["label2id"]
    for task in TASKS:
        lines = [json.loads(line) for line in (output / "predictions" / f"{task}.jsonl").read_text().splitlines()]
        predicted = [tag for line in lines for tag in line["pred"]]
        assert set(predicted) <= {"O", "B-Disease", "I-Disease"}  # X never reaches word level
        assert predict_with_export(output / "export" / task, [line["tokens"] for line in lines]) == [
            line["pred"] for line in lines
        ]
        # The last scored checkpoint is the final model: the export reuses its test predictions, no extra pass.
        scored = json.loads((output / "results.json").read_text())["rows"][task]["results"]["MTL-XC"]["n_checkpoints"]
        assert predicted_splits[task, "test"] == scored


def test_push_to_hub_publishes_each_dataset_and_never_prints_the_token(
    tmp_path, fixture_corpora, fixture_tokenizer_dir
):
    from fake_hub import FakeHub

    token = "hf_secret_push_token_123"
    output = tmp_path / "pushed"
    arguments = tiny_run_arguments(
        output,
        fixture_corpora,
        fixture_tokenizer_dir,
        "mtl-xc",
        "--num_train_epochs",
        "1",
        "--push_to_hub",
        "--hub_model_id",
        "org/demo",
        "--hub_private_repo",
        "true",
        "--hub_token",
        token,
        "--last_checkpoints",
        "1",
    )
    with FakeHub(tmp_path / "hub") as hub:
        env = {
            **os.environ,
            "HF_ENDPOINT": hub.endpoint,
            "HF_HUB_OFFLINE": "0",
            "HF_HOME": str(tmp_path / "hf_home"),
            "OMP_NUM_THREADS": "1",
            "PYTHONPATH": str(ROOT),
        }
        env.pop("HF_TOKEN", None)
        result = subprocess.run(
            [sys.executable, str(ROOT / "run_ner_mtl.py"), *arguments],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            cwd=ROOT,
        )
    assert result.returncode == 0, result.stderr[-4000:]
    assert token not in result.stdout + result.stderr
    assert set(hub.repos) == {f"org/demo-{task}" for task in TASKS}
    assert all(request.get("visibility") == "private" or request.get("private") for request in hub.repos.values())


def test_a_pretrained_xlnet_checkpoint_initialises_the_encoder(tmp_path, fixture_corpora, fixture_tokenizer_dir):
    """The online path (--model_name_or_path xlnet-base-cased), offline: a plain XLNetLMHeadModel folder."""
    from transformers import XLNetConfig, XLNetLMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(fixture_tokenizer_dir)
    plain = XLNetLMHeadModel(XLNetConfig(vocab_size=len(tokenizer), d_model=32, n_layer=2, n_head=2, d_inner=64))
    plain.save_pretrained(tmp_path / "xlnet")
    tokenizer.save_pretrained(tmp_path / "xlnet")
    arguments = [
        "--mode",
        "stl",
        "--datasets",
        "NCBI-disease",
        "--data_dir",
        str(fixture_corpora),
        "--model_name_or_path",
        str(tmp_path / "xlnet"),
        "--output_dir",
        str(tmp_path / "out"),
        "--use_cpu",
    ]
    model_args, data_args, mt_args, training_args = training_arguments.parse_arguments(arguments)
    training_arguments.check_arguments(model_args, mt_args)
    run_setup = experiment.Experiment(model_args, data_args, mt_args, training_args)
    model = run_setup.recipe.initial_model(run_setup.tasks["NCBI-disease"].label_names)
    assert model.config.id2label == {0: "O", 1: "B-Disease", 2: "I-Disease"}
    for name, parameter in plain.transformer.state_dict().items():
        torch.testing.assert_close(model.transformer.state_dict()[name], parameter, rtol=0, atol=0, msg=name)
    model.save_pretrained(tmp_path / "saved")
    saved = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert saved["model_type"] == "xlnet-crf" and "AutoModelForTokenClassification" in saved["auto_map"]
    assert type(AutoModelForTokenClassification.from_pretrained(tmp_path / "saved")) is XLNetForTokenClassificationCRF


def test_bf16_mixed_precision_trains_on_the_cpu_with_an_fp32_crf(tmp_path, fixture_corpora, fixture_tokenizer_dir):
    """`--bf16` (as on a GPU) runs under bfloat16 autocast on the CPU: the encoder computes in bf16, the weights, the
    CRF and its loss stay fp32, and the export reloads as a normal fp32 checkpoint."""
    output = tmp_path / "bf16"
    document = run_training(tiny_run_arguments(output, fixture_corpora, fixture_tokenizer_dir, "mtl-xc", "--bf16"))
    assert all(0.0 <= row["results"]["MTL-XC"]["f1"] <= 1.0 for row in document["rows"].values())
    config = json.loads((output / "run_config.json").read_text())
    assert config["hyperparameters"]["bf16"] is True
    exported = read_safetensors(output / "export" / TASKS[0])
    assert {tensor.dtype for tensor in exported.values()} == {torch.float32}
