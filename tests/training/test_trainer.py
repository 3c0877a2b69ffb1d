"""MultiTaskTrainer: optimizer groups, the training DataLoader, mixed batches, gradient accumulation, evaluate and
predict. End-to-end runs of the training script are in test_run_ner_mtl.py."""

from __future__ import annotations

import copy

import datasets
import pytest
import torch
from transformers import AutoTokenizer, Trainer, TrainerCallback, TrainingArguments
from transformers.optimization import Adafactor
from transformers.trainer_utils import PredictionOutput, seed_worker
from utils import DISEASE_LABELS, sliced, synthetic_sentences, tiny_crf_config

from modeling_xlnet_crf import XLNetForTokenClassificationCRF
from mtl_bioner.tagging.alignment import tokenize_dataset
from mtl_bioner.training.metrics import entity_scores
from mtl_bioner.training.multitask import layer_sliced, single_model
from mtl_bioner.training.tasks import TaskData
from mtl_bioner.training.trainer import MultiTaskTrainer, layerwise_parameter_groups


TASKS = ("A", "B")
FEATURES = datasets.Features(
    {
        "tokens": datasets.List(datasets.Value("string")),
        "ner_tags": datasets.List(datasets.ClassLabel(names=DISEASE_LABELS)),
    }
)


def sentences(seed: int, count: int) -> datasets.Dataset:
    rows = synthetic_sentences(seed, count)
    return datasets.Dataset.from_dict(
        {
            "tokens": [[word for word, _ in row] for row in rows],
            "ner_tags": [[DISEASE_LABELS.index(tag) for _, tag in row] for row in rows],
        },
        features=FEATURES,
    )


@pytest.fixture(scope="module")
def tokenizer(fixture_tokenizer_dir):
    return AutoTokenizer.from_pretrained(fixture_tokenizer_dir)


@pytest.fixture(scope="module")
def tasks(tokenizer) -> dict[str, TaskData]:
    """Two small datasets; windows hold whole sentences (64 pieces), 12 training windows each."""
    data = {}
    for offset, name in enumerate(TASKS):
        task = TaskData(name=name, label_names=list(DISEASE_LABELS))
        task.train = tokenize_dataset(sentences(10 * offset, 12), tokenizer, max_seq_length=64, stride=8)
        task.train = task.train.remove_columns(["sentence_id"])
        for index, split in enumerate(("validation", "test")):
            words = sentences(10 * offset + index + 1, 5)
            task.words[split] = words
            task.windows[split] = tokenize_dataset(words, tokenizer, max_seq_length=64, stride=8)
        data[name] = task
    return data


def tiny_model(tokenizer, seed: int = 0, n_layer: int = 2) -> XLNetForTokenClassificationCRF:
    torch.manual_seed(seed)
    config = tiny_crf_config(
        vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, use_mems_eval=False, n_layer=n_layer
    )
    return XLNetForTokenClassificationCRF(config)


def arguments(tmp_path, **overrides) -> TrainingArguments:
    values = dict(
        output_dir=str(tmp_path),
        use_cpu=True,
        report_to=[],
        disable_tqdm=True,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=4,
        learning_rate=1e-3,
        save_strategy="no",
        seed=0,
    )
    values.update(overrides)
    return TrainingArguments(**values)


def mtl_xc(tokenizer, tasks, tmp_path, names=TASKS, **options) -> MultiTaskTrainer:
    args = options.pop("args", None) or arguments(tmp_path)
    model = single_model(list(names), tiny_model(tokenizer))
    selected = {name: tasks[name] for name in names}
    return MultiTaskTrainer(model, args, selected, processing_class=tokenizer, **options)


def mtl_ls(tokenizer, tasks, tmp_path, **options) -> MultiTaskTrainer:
    args = options.pop("args", None) or arguments(tmp_path)
    model = layer_sliced(list(TASKS), lambda task: tiny_model(tokenizer, n_layer=4), 0.5, tiny_model(tokenizer, 1, 4))
    return MultiTaskTrainer(model, args, tasks, processing_class=tokenizer, **options)


# ---- Optimizer ----


def test_layerwise_learning_rates_follow_depth_from_the_top():
    model = XLNetForTokenClassificationCRF(tiny_crf_config(n_layer=4))
    groups = layerwise_parameter_groups(model, 1e-3, 0.5)
    rate_of = {id(p): group["lr"] for group in groups for p in group["params"]}
    layers = model.transformer.layer
    assert rate_of[id(layers[3].ff.layer_1.weight)] == pytest.approx(1e-3)
    assert rate_of[id(layers[2].rel_attn.q)] == pytest.approx(5e-4)
    assert rate_of[id(layers[0].rel_attn.r_w_bias)] == pytest.approx(1.25e-4)
    assert rate_of[id(model.transformer.word_embedding.weight)] == pytest.approx(6.25e-5)
    assert rate_of[id(model.transformer.mask_emb)] == pytest.approx(6.25e-5)
    assert rate_of[id(model.classifier.weight)] == pytest.approx(1e-3)
    assert rate_of[id(model.crf.transitions)] == pytest.approx(1e-3)
    assert len(rate_of) == len(list(model.parameters()))
    assert [group["lr"] for group in groups] == sorted((group["lr"] for group in groups), reverse=True)


def test_shared_layers_get_one_rate_and_appear_once():
    container, _ = sliced(0.5)
    groups = layerwise_parameter_groups(container, 1e-3, 0.5)
    rate_of = {id(p): group["lr"] for group in groups for p in group["params"]}
    assert sum(len(g["params"]) for g in groups) == len(rate_of) == len(list(container.parameters()))
    for task in TASKS:
        layers = container.models[task].transformer.layer
        assert rate_of[id(layers[0].ff.layer_1.weight)] == pytest.approx(1e-3 * 0.5**3)  # shared
        assert rate_of[id(layers[3].ff.layer_1.weight)] == pytest.approx(1e-3)  # the task's own top layer
        assert rate_of[id(container.models[task].classifier.weight)] == pytest.approx(1e-3)


def test_create_optimizer_splits_weight_decay_and_layer_rates(tokenizer, tasks, tmp_path):
    args = arguments(tmp_path, weight_decay=0.01, optim="adamw_torch")
    trainer = mtl_ls(tokenizer, tasks, tmp_path, args=args, layerwise_lr_decay=0.5)
    optimizer = trainer.create_optimizer()
    assert type(optimizer) is torch.optim.AdamW
    setting = {
        id(p): (group["lr"], group["weight_decay"]) for group in optimizer.param_groups for p in group["params"]
    }
    assert len(setting) == len(list(trainer.model.parameters()))
    model = trainer.model.models["A"]
    top, bottom = model.transformer.layer[3], model.transformer.layer[0]
    assert setting[id(top.ff.layer_1.weight)] == (pytest.approx(1e-3), 0.01)
    assert setting[id(bottom.rel_attn.q)] == (pytest.approx(1e-3 * 0.5**3), 0.01)
    assert setting[id(model.transformer.word_embedding.weight)] == (pytest.approx(1e-3 * 0.5**4), 0.01)
    assert setting[id(model.classifier.weight)] == (pytest.approx(1e-3), 0.01)
    # LayerNorm weights and biases get no weight decay, at their layer's rate.
    for parameter in (top.ff.layer_norm.weight, top.rel_attn.layer_norm.bias, top.ff.layer_1.bias):
        assert setting[id(parameter)] == (pytest.approx(1e-3), 0.0)
    assert setting[id(bottom.rel_attn.layer_norm.weight)] == (pytest.approx(1e-3 * 0.5**3), 0.0)
    assert setting[id(model.classifier.bias)] == (pytest.approx(1e-3), 0.0)


def test_without_layer_decay_the_groups_are_trainers_own(tokenizer, tasks, tmp_path):
    args = arguments(tmp_path, weight_decay=0.01, optim="adamw_torch")
    trainer = mtl_xc(tokenizer, tasks, tmp_path, args=args, layerwise_lr_decay=1.0)
    ours = trainer.create_optimizer()
    plain = Trainer(model=trainer.model, args=args).create_optimizer()
    assert [(group["lr"], group["weight_decay"]) for group in ours.param_groups] == [(1e-3, 0.01), (1e-3, 0.0)]
    for own, trainers in zip(ours.param_groups, plain.param_groups, strict=True):
        assert {id(p) for p in own["params"]} == {id(p) for p in trainers["params"]}


@pytest.mark.parametrize(("optim", "expected"), [("sgd", torch.optim.SGD), ("adafactor", Adafactor)])
def test_optim_chooses_the_optimizer_and_keeps_the_groups(tokenizer, tasks, tmp_path, optim, expected):
    trainer = mtl_xc(tokenizer, tasks, tmp_path, args=arguments(tmp_path, optim=optim), layerwise_lr_decay=0.5)
    optimizer = trainer.create_optimizer()
    assert type(optimizer) is expected
    # Two encoder layers and the embeddings: rates lr, lr/2, lr/4, each split into decay and no-decay groups.
    assert sorted({group["lr"] for group in optimizer.param_groups}) == pytest.approx([2.5e-4, 5e-4, 1e-3])


def test_an_optimizer_that_builds_its_own_groups_is_refused(tokenizer, tasks, tmp_path):
    trainer = mtl_xc(tokenizer, tasks, tmp_path)
    trainer.optimizer_cls_and_kwargs = (torch.optim.AdamW, {"params": list(trainer.model.parameters()), "lr": 1e-3})
    with pytest.raises(ValueError, match="builds its own parameter groups"):
        trainer.create_optimizer()


# ---- Training data ----


def batch_tasks(trainer, loader) -> list[set[str]]:
    """The tasks of the examples in each batch the loader's sampler forms."""
    names = trainer.train_dataset["task"]
    return [{names[index] for index in batch} for batch in loader.batch_sampler]


def test_train_dataloader_keeps_trainers_settings(tokenizer, tasks, tmp_path):
    args = arguments(
        tmp_path,
        dataloader_num_workers=1,
        dataloader_prefetch_factor=3,
        dataloader_persistent_workers=True,
        dataloader_pin_memory=False,
    )
    trainer = mtl_ls(tokenizer, tasks, tmp_path, args=args)
    loader = trainer.get_train_dataloader()
    assert (loader.num_workers, loader.prefetch_factor, loader.persistent_workers) == (1, 3, True)
    assert loader.pin_memory is False and loader.worker_init_fn.func is seed_worker
    assert len(loader) == 3 + 3  # 12 windows per task, batches of 4
    assert all(len(names) == 1 for names in batch_tasks(trainer, loader))
    batches = list(loader)  # collated in the worker process
    assert len(batches) == 6 and all(batch["input_ids"].shape[0] == 4 for batch in batches)
    assert {batch["task"] for batch in batches} == set(TASKS)


def test_length_grouping_and_unsupported_strategies(tokenizer, tasks, tmp_path):
    grouped = mtl_xc(tokenizer, tasks, tmp_path, args=arguments(tmp_path, train_sampling_strategy="group_by_length"))
    sampler = grouped.get_train_dataloader().batch_sampler.sampler.batch_sampler
    assert sampler.lengths == [len(ids) for ids in grouped.train_dataset["input_ids"]]
    sequential = mtl_xc(tokenizer, tasks, tmp_path, args=arguments(tmp_path, train_sampling_strategy="sequential"))
    with pytest.raises(ValueError, match="train_sampling_strategy='sequential' is not supported"):
        sequential.get_train_dataloader()


def test_mixed_batches_draw_from_every_task_of_one_model(tokenizer, tasks, tmp_path):
    trainer = mtl_xc(tokenizer, tasks, tmp_path, args=arguments(tmp_path, max_steps=2), mix_tasks=True)
    loader = trainer.get_train_dataloader()
    assert len(loader) == 6
    mixed = batch_tasks(trainer, loader)
    assert any(len(names) == 2 for names in mixed)
    assert all(batch["input_ids"].shape[0] == 4 and batch["task"] in TASKS for batch in loader)
    trainer.train()  # the collator's routing task sends every mixed batch to the one model
    assert trainer.state.global_step == 2


def test_mixed_batches_need_one_model(tokenizer, tasks, tmp_path):
    with pytest.raises(ValueError, match=r"needs every dataset on one model .* route to models \['A', 'B'\]"):
        mtl_ls(tokenizer, tasks, tmp_path, mix_tasks=True)
    with pytest.raises(ValueError, match="sampling_temperature=2.0 weighs datasets per batch"):
        mtl_xc(tokenizer, tasks, tmp_path, mix_tasks=True, sampling_temperature=2.0)
    with pytest.raises(ValueError, match=r"tasks \['B'\] have no model"):
        MultiTaskTrainer(single_model(["A"], tiny_model(tokenizer)), arguments(tmp_path), tasks)


# ---- Gradient accumulation ----


def test_two_accumulated_batches_make_the_step_of_one_batch_twice_their_size(tokenizer, tasks, tmp_path):
    """SGD, no clipping: a step is lr * gradient, so a loss not divided by the accumulation steps would show."""
    one_task = {"A": copy.copy(tasks["A"])}
    one_task["A"].train = tasks["A"].train.select(range(8))

    def trained(batch_size, accumulation):
        args = arguments(
            tmp_path / f"{batch_size}x{accumulation}",
            per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=accumulation,
            max_steps=1,
            optim="sgd",
            learning_rate=0.5,
            max_grad_norm=0.0,
            weight_decay=0.0,
        )
        model = single_model(["A"], tiny_model(tokenizer, seed=4))
        trainer = MultiTaskTrainer(model, args, one_task, processing_class=tokenizer, layerwise_lr_decay=1.0)
        trainer.train()
        return {name: value.detach().clone() for name, value in model.state_dict().items()}

    initial = single_model(["A"], tiny_model(tokenizer, seed=4)).state_dict()
    whole, accumulated = trained(8, 1), trained(4, 2)
    moved = [name for name in whole if not torch.equal(whole[name], initial[name])]
    assert "models.shared.classifier.weight" in moved and len(moved) > 10
    for name in whole:
        torch.testing.assert_close(accumulated[name], whole[name], rtol=1e-5, atol=1e-6, msg=name)


# ---- Evaluation and prediction ----


class Recorder(TrainerCallback):
    def __init__(self):
        self.events = []

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.events.append(("evaluate", dict(metrics)))

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        self.events.append(("predict", dict(metrics)))


SPEED = ("runtime", "samples_per_second", "steps_per_second")
SCORES = ("precision", "recall", "f1", "strict_precision", "strict_recall", "strict_f1")


def test_evaluate_scores_the_selected_tasks_under_the_prefix(tokenizer, tasks, tmp_path):
    recorder = Recorder()
    trainer = mtl_ls(tokenizer, tasks, tmp_path, callbacks=[recorder])
    with torch.no_grad():  # every word B-Disease: the one-word gold mentions are found, the longer ones not
        for model in trainer.model.models.values():
            model.classifier.bias[DISEASE_LABELS.index("B-Disease")] = 5.0
    metrics = trainer.evaluate()
    assert set(metrics) == {f"eval_{t}_{s}" for t in TASKS for s in SCORES} | {"eval_f1", "epoch"} | {
        f"eval_{s}" for s in SPEED
    }
    assert 0 < metrics["eval_A_precision"] < metrics["eval_A_recall"] < 1 and metrics["eval_B_f1"] > 0
    assert metrics["eval_f1"] == pytest.approx((metrics["eval_A_f1"] + metrics["eval_B_f1"]) / 2)
    expected = entity_scores(trainer.gold_words("B", "validation"), trainer.predict_words("B", "validation"))
    assert {s: metrics[f"eval_B_{s}"] for s in SCORES} == expected
    assert metrics["eval_samples_per_second"] > 0 and metrics["eval_steps_per_second"] > 0
    assert recorder.events == [("evaluate", metrics)]
    assert trainer.state.log_history[-1] == {**metrics, "step": 0}

    one = trainer.evaluate("B", metric_key_prefix="dev", split="test")
    assert set(one) == {f"dev_B_{s}" for s in SCORES} | {"dev_f1", "epoch"} | {f"dev_{s}" for s in SPEED}
    assert one["dev_f1"] == one["dev_B_f1"]
    test_b = entity_scores(trainer.gold_words("B", "test"), trainer.predict_words("B", "test"))
    assert one["dev_B_f1"] == test_b["f1"]
    both = trainer.evaluate(["B", "A"], ignore_keys=["logits"])
    assert {key for key in both if key.endswith("_f1")} == {key for key in metrics if key.endswith("_f1")}


def test_evaluate_refuses_what_it_cannot_score(tokenizer, tasks, tmp_path):
    trainer = mtl_xc(tokenizer, tasks, tmp_path)
    with pytest.raises(KeyError, match=r"unknown or no tasks \['C'\]"):
        trainer.evaluate(["A", "C"])
    with pytest.raises(KeyError, match="unknown or no tasks"):
        trainer.evaluate([])
    with pytest.raises(ValueError, match="ignore_keys names 'predictions'"):
        trainer.evaluate(ignore_keys=["predictions"])
    with pytest.raises(KeyError, match="no 'train' split loaded"):
        trainer.evaluate(split="train")


def test_predict_returns_word_level_tags_per_task_and_test_metrics(tokenizer, tasks, tmp_path):
    recorder = Recorder()
    trainer = mtl_ls(tokenizer, tasks, tmp_path, args=arguments(tmp_path, max_steps=3), callbacks=[recorder])
    trainer.train()
    output = trainer.predict()
    assert isinstance(output, PredictionOutput)
    assert set(output.predictions) == set(output.label_ids) == set(TASKS)
    for task in TASKS:
        words = tasks[task].words["test"]
        assert [len(tags) for tags in output.predictions[task]] == [len(tokens) for tokens in words["tokens"]]
        assert output.predictions[task] == trainer.predict_words(task, "test")
        assert output.label_ids[task] == [[DISEASE_LABELS[t] for t in tags] for tags in words["ner_tags"]]
        assert set().union(*map(set, output.predictions[task])) <= set(DISEASE_LABELS)
        assert (
            output.metrics[f"test_{task}_f1"] == entity_scores(output.label_ids[task], output.predictions[task])["f1"]
        )
    assert {f"test_{s}" for s in SPEED} <= set(output.metrics)
    assert recorder.events[-1] == ("predict", output.metrics)
    assert not any("test_f1" in entry for entry in trainer.state.log_history)  # predict does not log, as in Trainer

    dev = trainer.predict("A", split="validation", metric_key_prefix="dev")
    assert set(dev.predictions) == {"A"} and len(dev.predictions["A"]) == 5 and "dev_A_strict_f1" in dev.metrics
