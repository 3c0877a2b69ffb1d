"""Helpers shared by the tests: tiny configs and models, toy and synthetic corpora, where the real corpora are.

Pytest fixtures live in `conftest.py`; this module holds plain functions and constants that tests import. It imports
no transformers or datasets at module level, so `conftest.py` can set the Hugging Face environment first.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import torch


ROOT = Path(__file__).resolve().parents[1]

DISEASE_LABELS = ["O", "B-Disease", "I-Disease"]


def crichton_data_dir() -> Path:
    """The corpus root as the Makefile finds it: $CRICHTON_DATA_DIR, else `<repo>/../shared/data/crichton`."""
    return Path(os.environ.get("CRICHTON_DATA_DIR") or ROOT.parent / "shared" / "data" / "crichton")


def tiny_crf_config(labels=DISEASE_LABELS, **overrides):
    """A 2-layer, 32-wide XLNet-CRF config: fast enough to run dozens of forward passes in a test."""
    from modeling_xlnet_crf import XLNetCRFConfig

    values = dict(
        vocab_size=64,
        d_model=32,
        n_layer=2,
        n_head=2,
        d_inner=64,
        dropout=0.0,
        id2label=dict(enumerate(labels)),
        label2id={label: index for index, label in enumerate(labels)},
    )
    values.update(overrides)
    return XLNetCRFConfig(**values)


def toy_batch(seed: int = 0, batch: int = 3, length: int = 9, vocab: tuple[int, int] = (10, 60)) -> dict:
    """Random ids and labels (0-2) with two trailing special positions, one word per piece."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(*vocab, (batch, length), generator=generator)
    labels = torch.randint(0, 3, (batch, length), generator=generator)
    labels[:, -2:] = -100
    word_ids = torch.arange(length).expand(batch, length).clone()
    word_ids[:, -2:] = -1
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels, "word_ids": word_ids}


def sliced(rate: float = 0.5, n_layer: int = 4, tasks: tuple[str, ...] = ("A", "B")):
    """An MTL-LS container of tiny XLNet-CRFs sharing round(rate * n_layer) layers, and the MTL-XC model it copied."""
    from modeling_xlnet_crf import XLNetForTokenClassificationCRF
    from mtl_bioner.training.multitask import layer_sliced

    torch.manual_seed(0)
    xc = XLNetForTokenClassificationCRF(tiny_crf_config(n_layer=n_layer))
    container = layer_sliced(
        list(tasks), lambda task: XLNetForTokenClassificationCRF(tiny_crf_config(n_layer=n_layer)), rate, xc
    )
    return container, xc


# ---- Real corpora ----


def raw_sentences(path: Path) -> list[list[tuple[str, str]]]:
    """Sentences of a corpus file as (token, tag) pairs, by plain line splitting (independent of the loader)."""
    sentences, current = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            continue
        if not line.strip():
            if current:
                sentences.append(current)
            current = []
        else:
            token, tag = line.split("\t")
            current.append((token, tag))
    if current:
        sentences.append(current)
    return sentences


# ---- Toy sentences and a tiny trained tagger ----

TINY_SENTENCES = [
    "Naloxone reverses the antihypertensive effect of clonidine .",
    "In unanesthetized , spontaneously hypertensive rats the decrease in blood pressure was blocked .",
    "Identification of APC2 , a homologue of the adenomatous polyposis coli tumour suppressor .",
    "The BRCA1 gene is mutated in familial breast and ovarian cancer .",
    "Escherichia coli and Saccharomyces cerevisiae were grown at 37 degrees .",
] * 4

# Words tagged as diseases in the toy training data: single words and two-word mentions.
DISEASE_WORDS = {"cancer": "B", "polyposis": "B", "tumour": "B", "hypertensive": "B"}
DISEASE_BIGRAMS = {
    ("breast", "and"): None,
    ("ovarian", "cancer"): ("B", "I"),
    ("polyposis", "coli"): ("B", "I"),
}
TOY_TEXT = (
    "The BRCA1 gene is mutated in familial breast and ovarian cancer. Naloxone reverses the antihypertensive "
    "effect of clonidine.\n\nIdentification of APC2, a homologue of the adenomatous polyposis coli tumour suppressor."
)


def toy_tags(words: list[str]) -> list[str]:
    tags = [f"{DISEASE_WORDS[w]}-Disease" if w in DISEASE_WORDS else "O" for w in words]
    for index in range(len(words) - 1):
        pair = DISEASE_BIGRAMS.get((words[index], words[index + 1]))
        if pair:
            tags[index], tags[index + 1] = (f"{p}-Disease" for p in pair)
    return tags


def train_tiny_model(tokenizer, steps: int = 25, seed: int = 0, **config_overrides):
    """A 2-layer XLNet-CRF fitted to `toy_tags` on `TINY_SENTENCES`, so that it finds real multi-word entities in
    new text and agreement tests between the tagger, the pipeline and a pushed copy compare non-empty outputs."""
    from modeling_xlnet_crf import XLNetForTokenClassificationCRF
    from mtl_bioner.tagging.alignment import encode_sentence
    from mtl_bioner.tagging.collator import DataCollatorForWordCRF

    torch.manual_seed(seed)
    config = tiny_crf_config(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        use_mems_eval=False,
        **config_overrides,
    )
    model = XLNetForTokenClassificationCRF(config)
    windows = []
    for index, sentence in enumerate(dict.fromkeys(TINY_SENTENCES)):
        words = sentence.split()
        tags = [config.label2id[tag] for tag in toy_tags(words)]
        windows += encode_sentence(words, tokenizer, tags, sentence_id=index, max_seq_length=64, stride=8)
    batch = DataCollatorForWordCRF(tokenizer)(windows)
    batch.pop("sentence_id")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: extra threads only add contention on a shared machine
    try:
        for _ in range(steps):
            optimizer.zero_grad()
            model(**batch).loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return model.eval()


# ---- Synthetic corpora in the Crichton layout, for end-to-end training ----

DISEASES = ["breast cancer", "colorectal adenoma", "hypertension", "Wilms tumour", "cystic fibrosis", "anaemia"]
FILLERS = ["patients", "with", "the", "risk", "of", "was", "increased", "in", "mice", "treated", "by", "dose"]
FOLDERS = {"BC5CDR-disease": "BC5CDR-disease-IOB", "NCBI-disease": "NCBI-disease-IOB"}
SPLIT_SIZES = {"train": 24, "devel": 8, "test": 10}


def synthetic_sentences(seed: int, count: int) -> list[list[tuple[str, str]]]:
    """Sentences of filler words with one or two Disease mentions, tagged IOB2."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        words: list[tuple[str, str]] = []
        for _ in range(rng.randint(1, 2)):
            words += [(w, "O") for w in rng.sample(FILLERS, rng.randint(1, 5))]
            mention = rng.choice(DISEASES).split()
            words += [(w, ("B-" if i == 0 else "I-") + "Disease") for i, w in enumerate(mention)]
        words.append((".", "O"))
        sentences.append(words)
    return sentences


def write_corpora(root: Path) -> Path:
    """The two disease rows of `FOLDERS` as synthetic train/devel/test TSV files under `root`."""
    for offset, folder in enumerate(FOLDERS.values()):
        for split_index, (split, count) in enumerate(SPLIT_SIZES.items()):
            lines = []
            for sentence in synthetic_sentences(100 * offset + split_index, count):
                lines += [f"{word}\t{tag}" for word, tag in sentence] + [""]
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return root


# ---- Tiny end-to-end training runs on the synthetic corpora ----

FIXTURE_TASKS = list(FOLDERS)


def tiny_run_arguments(output_dir, corpora, tokenizer_dir, mode, *extra) -> list[str]:
    """The training command's flags for a 2-layer, 32-wide XLNet-CRF on `write_corpora`'s two datasets; `extra`
    flags come last, so they override these."""
    return [
        *("--mode", mode, "--datasets", ",".join(FIXTURE_TASKS), "--data_dir", str(corpora)),
        *("--tokenizer_name", str(tokenizer_dir), "--config_overrides", "n_layer=2,d_model=32,n_head=2,d_inner=64"),
        *("--max_seq_length", "24", "--stride", "6", "--output_dir", str(output_dir), "--num_train_epochs", "2"),
        *("--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8", "--save_steps", "4"),
        *("--learning_rate", "2e-3", "--use_cpu", "--report_to", "none", "--disable_tqdm", "true", "--seed", "3"),
        *extra,
    ]


def run_training(arguments: list[str], callbacks=None) -> dict:
    """The training command (`run_ner_mtl.py`'s), in this process, with extra trainer callbacks."""
    from mtl_bioner.training import experiment

    return experiment.main(arguments, callbacks)


def read_safetensors(folder: Path) -> dict:
    import safetensors.torch

    return safetensors.torch.load_file(str(folder / "model.safetensors"))


def predict_with_export(export_dir: Path, sentences: list[list[str]]) -> list[list[str]]:
    """Tags of an exported checkpoint loaded the way users load it (Auto classes), independent of the run's code."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from mtl_bioner.tagging.alignment import encode_sentence, reassemble
    from mtl_bioner.tagging.collator import DataCollatorForWordCRF

    model = AutoModelForTokenClassification.from_pretrained(export_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(export_dir)
    windows = [
        window
        for index, tokens in enumerate(sentences)
        for window in encode_sentence(tokens, tokenizer, max_seq_length=24, stride=6, sentence_id=index)
    ]
    batch = DataCollatorForWordCRF(tokenizer)(windows)
    sentence_ids = batch.pop("sentence_id").tolist()
    with torch.no_grad():
        predictions = model(**batch).predictions
    words = reassemble(batch["word_ids"], predictions, sentence_ids, [len(s) for s in sentences])
    return [[model.config.id2label[tag] for tag in sentence] for sentence in words]
