"""A tiny XLNet-CRF trained for a few steps on toy sentences, saved once per session, for the inference tests.

Loaded with `pytest_plugins = ["data_fixtures", "tagger_fixtures"]`. Training (rather than a biased random head) makes
the tagger find real multi-word entities in new text, so agreement tests between the tagger, the pipeline and the
pushed copy compare non-empty outputs.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import tiny_crf_config
from data_fixtures import TINY_SENTENCES


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
    """A 2-layer XLNet-CRF fitted to `toy_tags` on the tiny tokenizer's sentences (well under a second on one CPU thread)."""
    from modeling_xlnet_crf import XLNetForTokenClassificationCRF
    from mtl_bioner.alignment import encode_sentence
    from mtl_bioner.collator import DataCollatorForWordCRF

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


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder holding the trained tiny model (safetensors + config with auto_map) and its tokenizer."""
    folder = tmp_path_factory.mktemp("tiny_crf_model")
    train_tiny_model(tiny_tokenizer).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture
def single_torch_thread():
    """One intra-op thread for the test: with tiny matrices on a shared 2-core machine, a second thread mostly waits
    for CPU time and made tagging 30x slower here."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
