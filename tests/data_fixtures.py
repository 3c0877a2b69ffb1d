"""Fixtures for the data-layer tests, loaded with `pytest_plugins = ["data_fixtures"]` so each is built once per session.

PYTEST_DONT_REWRITE: test modules import helpers from here before pytest registers it as a plugin.
"""

from __future__ import annotations

import os
from pathlib import Path

import datasets
import pytest

from data_scripts.crichton import CORPUS_TYPES, SPLIT_FILES
from data_scripts.train_tokenizer import train_xlnet_tokenizer


DEFAULT_DATA_DIR = Path("/work/shared/data/crichton")

TINY_SENTENCES = [
    "Naloxone reverses the antihypertensive effect of clonidine .",
    "In unanesthetized , spontaneously hypertensive rats the decrease in blood pressure was blocked .",
    "Identification of APC2 , a homologue of the adenomatous polyposis coli tumour suppressor .",
    "The BRCA1 gene is mutated in familial breast and ovarian cancer .",
    "Escherichia coli and Saccharomyces cerevisiae were grown at 37 degrees .",
] * 4


@pytest.fixture(scope="session", autouse=True)
def _quiet_datasets():
    datasets.disable_progress_bars()


@pytest.fixture(scope="session")
def crichton_dir() -> Path:
    """The corpus root: $CRICHTON_DATA_DIR, else the shared mirror; skipped when neither exists."""
    root = Path(os.environ.get("CRICHTON_DATA_DIR", DEFAULT_DATA_DIR))
    if not root.is_dir():
        pytest.skip(
            f"No Crichton corpora: $CRICHTON_DATA_DIR is unset or missing and {DEFAULT_DATA_DIR} does not exist"
        )
    return root


@pytest.fixture(scope="session")
def present_folders(crichton_dir: Path) -> list[str]:
    """Declared folders with at least one split file under the corpus root."""
    return [
        folder
        for folder in CORPUS_TYPES
        if any((crichton_dir / folder / file_name).is_file() for file_name in SPLIT_FILES.values())
    ]


@pytest.fixture(scope="session")
def corpus_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `datasets` cache for the session, so each corpus is built once."""
    return tmp_path_factory.mktemp("hf_datasets_cache")


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory):
    """An XLNetTokenizer trained on a few hand-written sentences: needs no corpus."""
    return train_xlnet_tokenizer(TINY_SENTENCES, tmp_path_factory.mktemp("tiny_tokenizer"), vocab_size=120)


@pytest.fixture(scope="session")
def corpus_tokenizer(crichton_dir: Path, present_folders: list[str], tmp_path_factory: pytest.TempPathFactory):
    """An XLNetTokenizer (vocab ~2000) trained on every 20th training sentence of each present folder."""

    def sample():
        for folder in present_folders:
            path = crichton_dir / folder / "train.tsv"
            if not path.is_file():
                continue
            for index, sentence in enumerate(raw_sentences(path)):
                if index % 20 == 0:
                    yield " ".join(token for token, _ in sentence)

    return train_xlnet_tokenizer(sample(), tmp_path_factory.mktemp("corpus_tokenizer"), vocab_size=2000)


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
