from __future__ import annotations

import datasets
from transformers import AutoTokenizer, XLNetTokenizer
from utils import TINY_SENTENCES

from data_scripts.train_tokenizer import main, train_xlnet_tokenizer


XLNET_SPECIAL_IDS = {
    "<unk>": 0,
    "<s>": 1,
    "</s>": 2,
    "<cls>": 3,
    "<sep>": 4,
    "<pad>": 5,
    "<mask>": 6,
    "<eod>": 7,
    "<eop>": 8,
}


def test_xlnet_layout_and_reload(tiny_tokenizer, tmp_path):
    assert isinstance(tiny_tokenizer, XLNetTokenizer)
    assert {token: tiny_tokenizer.convert_tokens_to_ids(token) for token in XLNET_SPECIAL_IDS} == XLNET_SPECIAL_IDS
    assert tiny_tokenizer.padding_side == "left"
    ids = tiny_tokenizer("Naloxone reverses hypertension")["input_ids"]
    assert ids[-2:] == [4, 3] and 4 not in ids[:-2] and 3 not in ids[:-2]
    tiny_tokenizer.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(reloaded, XLNetTokenizer)
    assert reloaded.padding_side == "left"
    assert reloaded(TINY_SENTENCES)["input_ids"] == tiny_tokenizer(TINY_SENTENCES)["input_ids"]


def test_vocab_size_is_capped_by_the_text(tmp_path):
    tokenizer = train_xlnet_tokenizer(TINY_SENTENCES[:5], tmp_path, vocab_size=5000)
    assert 9 < len(tokenizer) < 5000
    assert (tmp_path / "tokenizer.json").is_file()


def test_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    folder = tmp_path / "data" / "NCBI-disease-IOB"
    folder.mkdir(parents=True)
    (folder / "train.tsv").write_text(
        "".join("\n".join(f"{word}\tO" for word in sentence.split()) + "\n\n" for sentence in TINY_SENTENCES)
    )
    main(["--rows", "NCBI-disease", "--vocab_size", "100", "--output_dir", str(tmp_path / "tok"),
          "--data_dir", str(tmp_path / "data")])  # fmt: skip
    assert "Saved XLNetTokenizer" in capsys.readouterr().out
    assert AutoTokenizer.from_pretrained(tmp_path / "tok").convert_tokens_to_ids("<cls>") == 3
