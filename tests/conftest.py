"""Shared fixtures: tiny models built from configs (nothing is downloaded) and an offline Hugging Face home."""

import os
import sys
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True, scope="session")
def _isolated_hf_home(tmp_path_factory):
    """Keep remote-code modules and caches of the tests out of the user's ~/.cache."""
    home = tmp_path_factory.mktemp("hf_home")
    previous = os.environ.get("HF_HOME")
    os.environ["HF_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("HF_HOME", None)
    else:
        os.environ["HF_HOME"] = previous


DISEASE_LABELS = ["O", "B-Disease", "I-Disease"]


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


@pytest.fixture
def tiny_config():
    return tiny_crf_config
