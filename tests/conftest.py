"""Pytest fixtures shared by the test modules; plain helpers are in `utils.py`.

Nothing is downloaded: models are built from configs, tokenizers trained on toy text, and the Hugging Face home is a
fresh temporary folder.
"""

import os
import sys
import tempfile
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Set before anything imports datasets or transformers (they read it at import): remote-code modules and dataset
# caches of the tests stay out of the user's ~/.cache, and every session starts cold.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="xlnet_crf_mtl_tests_hf_home_")

from utils import (  # noqa: E402
    TINY_SENTENCES,
    crichton_data_dir,
    raw_sentences,
    synthetic_sentences,
    tiny_crf_config,
    train_tiny_model,
    write_corpora,
)


@pytest.fixture(scope="session", autouse=True)
def _quiet_datasets():
    import datasets

    datasets.disable_progress_bars()


@pytest.fixture
def tiny_config():
    return tiny_crf_config


@pytest.fixture
def single_torch_thread():
    """One intra-op thread for the test: with tiny matrices on a shared 2-core machine, a second thread mostly waits
    for CPU time and made tagging 30x slower here."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---- Real corpora (skipped where they are absent) ----


@pytest.fixture(scope="session")
def crichton_dir() -> Path:
    """The corpus root, found as the Makefile finds it; the tests that need it are skipped when it is missing."""
    root = crichton_data_dir()
    if not root.is_dir():
        pytest.skip(f"No Crichton corpora: {root} does not exist (set $CRICHTON_DATA_DIR to the corpus root)")
    return root


@pytest.fixture(scope="session")
def present_folders(crichton_dir: Path) -> list[str]:
    """Declared folders with at least one split file under the corpus root."""
    from data_scripts.crichton import CORPUS_TYPES, SPLIT_FILES

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
def corpus_tokenizer(crichton_dir: Path, present_folders: list[str], tmp_path_factory: pytest.TempPathFactory):
    """An XLNetTokenizer (vocab ~2000) trained on every 20th training sentence of each present folder."""
    from data_scripts.train_tokenizer import train_xlnet_tokenizer

    def sample():
        for folder in present_folders:
            path = crichton_dir / folder / "train.tsv"
            if not path.is_file():
                continue
            for index, sentence in enumerate(raw_sentences(path)):
                if index % 20 == 0:
                    yield " ".join(token for token, _ in sentence)

    return train_xlnet_tokenizer(sample(), tmp_path_factory.mktemp("corpus_tokenizer"), vocab_size=2000)


# ---- Toy tokenizer and tagger ----


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory):
    """An XLNetTokenizer trained on a few hand-written sentences: needs no corpus."""
    from data_scripts.train_tokenizer import train_xlnet_tokenizer

    return train_xlnet_tokenizer(TINY_SENTENCES, tmp_path_factory.mktemp("tiny_tokenizer"), vocab_size=120)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_tokenizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder holding the trained tiny model (safetensors + config with auto_map) and its tokenizer."""
    folder = tmp_path_factory.mktemp("tiny_crf_model")
    train_tiny_model(tiny_tokenizer).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return folder


# ---- Synthetic corpora for end-to-end training ----


@pytest.fixture(scope="session")
def fixture_corpora(tmp_path_factory) -> Path:
    return write_corpora(tmp_path_factory.mktemp("crichton_fixture"))


@pytest.fixture(scope="session")
def fixture_tokenizer_dir(tmp_path_factory) -> Path:
    from data_scripts.train_tokenizer import train_xlnet_tokenizer

    text = [" ".join(w for w, _ in s) for s in synthetic_sentences(7, 200)]
    directory = tmp_path_factory.mktemp("fixture_tokenizer")
    train_xlnet_tokenizer(text, directory, vocab_size=60)
    return directory
