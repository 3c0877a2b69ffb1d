"""Small corpora in the Crichton layout and a tokenizer trained on them, for end-to-end training tests.

PYTEST_DONT_REWRITE
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from data_scripts.train_tokenizer import train_xlnet_tokenizer


DISEASES = ["breast cancer", "colorectal adenoma", "hypertension", "Wilms tumour", "cystic fibrosis", "anaemia"]
FILLERS = ["patients", "with", "the", "risk", "of", "was", "increased", "in", "mice", "treated", "by", "dose"]
FOLDERS = {"BC5CDR-disease": "BC5CDR-disease-IOB", "NCBI-disease": "NCBI-disease-IOB"}


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


SPLIT_SIZES = {"train": 24, "devel": 8, "test": 10}


def write_corpora(root: Path) -> Path:
    for offset, folder in enumerate(FOLDERS.values()):
        for split_index, (split, count) in enumerate(SPLIT_SIZES.items()):
            lines = []
            for sentence in synthetic_sentences(100 * offset + split_index, count):
                lines += [f"{word}\t{tag}" for word, tag in sentence] + [""]
            (root / folder).mkdir(parents=True, exist_ok=True)
            (root / folder / f"{split}.tsv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="session")
def fixture_corpora(tmp_path_factory) -> Path:
    return write_corpora(tmp_path_factory.mktemp("crichton_fixture"))


@pytest.fixture(scope="session")
def fixture_tokenizer_dir(tmp_path_factory) -> Path:
    text = [" ".join(w for w, _ in s) for s in synthetic_sentences(7, 200)]
    directory = tmp_path_factory.mktemp("fixture_tokenizer")
    train_xlnet_tokenizer(text, directory, vocab_size=60)
    return directory
