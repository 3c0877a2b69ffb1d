from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest
from utils import raw_sentences

from data_scripts import crichton
from data_scripts.crichton import (
    CORPUS_TYPES,
    SHA256,
    SPLIT_FILES,
    CorpusChecksumError,
    CorpusUnavailableError,
    CrichtonFormatError,
    load_corpus,
)
from data_scripts.schemes import convert_tags, entity_spans, label_names


def write_corpus(root: Path, folder: str, text: str | bytes, splits=("train",)) -> Path:
    (root / folder).mkdir(parents=True, exist_ok=True)
    for split in splits:
        path = root / folder / SPLIT_FILES[split]
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return root


def test_every_present_folder_matches_raw_counts(crichton_dir, present_folders, corpus_cache):
    """Sentence and per-type mention counts equal a plain line count of the raw files; declared types equal found ones."""
    assert present_folders
    for folder in present_folders:
        splits = [split for split, name in SPLIT_FILES.items() if (crichton_dir / folder / name).is_file()]
        corpus = load_corpus(folder, crichton_dir, cache_dir=corpus_cache, splits=splits)
        names = corpus[splits[0]].features["ner_tags"].feature.names
        assert names == label_names(CORPUS_TYPES[folder])
        found_types = set()
        for split in splits:
            raw = raw_sentences(crichton_dir / folder / SPLIT_FILES[split])
            found_types |= {tag[2:] for sentence in raw for _, tag in sentence if tag != "O"}
            raw_mentions = Counter(tag[2:] for sentence in raw for _, tag in sentence if tag.startswith("B-"))
            loaded_mentions = Counter(
                names[tag][2:] for tags in corpus[split]["ner_tags"] for tag in tags if names[tag].startswith("B-")
            )
            assert len(corpus[split]) == len(raw), (folder, split)
            assert loaded_mentions == raw_mentions, (folder, split)
            assert corpus[split][0]["tokens"] == [token for token, _ in raw[0]]
        assert found_types == set(CORPUS_TYPES[folder]), folder


def test_sha256_table_matches_present_files(crichton_dir, present_folders):
    for folder in present_folders:
        for name in SPLIT_FILES.values():
            path = crichton_dir / folder / name
            if path.is_file():
                assert SHA256[f"{folder}/{name}"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_jnlpba_without_train(crichton_dir, corpus_cache):
    if (crichton_dir / "JNLPBA" / "train.tsv").is_file():
        pytest.skip("JNLPBA/train.tsv is present here")
    with pytest.raises(CorpusUnavailableError, match=r"JNLPBA train split: .*train\.tsv.*CRICHTON_DATA_DIR"):
        load_corpus("JNLPBA", crichton_dir, cache_dir=corpus_cache)
    corpus = load_corpus("JNLPBA", crichton_dir, cache_dir=corpus_cache, splits=["validation", "test"])
    assert set(corpus) == {"validation", "test"}
    assert all(token != "-DOCSTART-" for tokens in corpus["test"]["tokens"] for token in tokens)


def test_unavailable_error_is_file_not_found(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"BC4CHEMD test split: .*BC4CHEMD/test\.tsv does not exist.*go online"
    ):
        load_corpus("BC4CHEMD", tmp_path, cache_dir=tmp_path / "cache", splits=["test"])


def test_env_var_is_used(tmp_path, monkeypatch):
    write_corpus(tmp_path / "root", "NCBI-disease-IOB", "A\tO\nB\tB-Disease\n\n", splits=("test",))
    monkeypatch.setenv("CRICHTON_DATA_DIR", str(tmp_path / "root"))
    corpus = load_corpus("NCBI-disease-IOB", cache_dir=tmp_path / "cache", splits=["test"])
    assert corpus["test"][0] == {"id": "0", "tokens": ["A", "B"], "ner_tags": [0, 1]}


def test_download_is_checked_against_sha256(tmp_path, monkeypatch):
    served = write_corpus(tmp_path / "served", "NCBI-disease-IOB", "A\tO\n\n", splits=("test",))
    monkeypatch.delenv("CRICHTON_DATA_DIR", raising=False)
    monkeypatch.setattr(crichton, "URL_TEMPLATE", f"file://{served}/{{folder}}/{{file}}")
    with pytest.raises(CorpusChecksumError, match="has sha256 .*expected"):
        load_corpus("NCBI-disease-IOB", cache_dir=tmp_path / "cache", splits=["test"])
    monkeypatch.setitem(SHA256, "NCBI-disease-IOB/test.tsv", hashlib.sha256(b"A\tO\n\n").hexdigest())
    corpus = load_corpus("NCBI-disease-IOB", cache_dir=tmp_path / "cache2", splits=["test"])
    assert corpus["test"]["tokens"] == [["A"]]


def test_failed_download_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.delenv("CRICHTON_DATA_DIR", raising=False)
    monkeypatch.setattr(crichton, "URL_TEMPLATE", f"file://{tmp_path}/nowhere/{{folder}}/{{file}}")
    with pytest.raises(CorpusUnavailableError, match="BC4CHEMD test split: could not download"):
        load_corpus("BC4CHEMD", cache_dir=tmp_path / "cache", splits=["test"])


def test_cache_follows_source_changes(tmp_path):
    root = write_corpus(tmp_path / "root", "NCBI-disease-IOB", "A\tO\n\n", splits=("test",))
    first = load_corpus("NCBI-disease-IOB", root, cache_dir=tmp_path / "cache", splits=["test"])
    assert first["test"]["tokens"] == [["A"]]
    write_corpus(root, "NCBI-disease-IOB", "A\tO\nB\tO\n\nC\tB-Disease\n\n", splits=("test",))
    second = load_corpus("NCBI-disease-IOB", root, cache_dir=tmp_path / "cache", splits=["test"])
    assert second["test"]["tokens"] == [["A", "B"], ["C"]]


@pytest.mark.parametrize(
    "text, message",
    [
        ("A\tO\nB\tO\textra\n\n", r":2: found 3 tab-separated field\(s\) .* expected 2"),
        ("A\tO\nB\n\n", r":2: found 1 tab-separated field\(s\) .* expected 2"),
        (
            "A\tO\n\nB\tB-Chemical\n",
            r":3: tag 'B-Chemical' is not in the label set, expected one of O, B-Disease, I-Disease",
        ),
        (
            "A\tO\nB\tI-Disease\n\n",
            r":2: I-Disease follows O, expected B-Disease to open the entity \(IOB2\); pass repair_iob=True",
        ),
        ("A\tI-Disease\n\n", r":1: I-Disease follows the sentence start, expected B-Disease"),
        (b"A\tO\nB\tB-Disease\n\xff\tO\n", r":3: byte 0xff at column 1 is not valid UTF-8, expected UTF-8 text"),
        ("", r":1: empty file, expected at least one token<TAB>tag line"),
        ("\n\n", r":1: empty file"),
        ("\tO\n\n", r":1: empty token"),
    ],
)
def test_format_errors_name_file_and_line(tmp_path, text, message):
    root = write_corpus(tmp_path / "root", "NCBI-disease-IOB", text)
    path = re.escape(str((root / "NCBI-disease-IOB" / "train.tsv").resolve()))
    with pytest.raises(CrichtonFormatError, match=path + message):
        load_corpus("NCBI-disease-IOB", root, cache_dir=tmp_path / "cache", splits=["train"])


def test_format_error_is_a_value_error():
    assert issubclass(CrichtonFormatError, ValueError)
    assert issubclass(CorpusUnavailableError, FileNotFoundError)


def test_repair_iob(tmp_path):
    root = write_corpus(tmp_path / "root", "NCBI-disease-IOB", "A\tO\nB\tI-Disease\nC\tI-Disease\n\n")
    corpus = load_corpus("NCBI-disease-IOB", root, cache_dir=tmp_path / "cache", splits=["train"], repair_iob=True)
    assert corpus["train"][0]["ner_tags"] == [0, 1, 2]


def test_crlf_bom_and_docstart_are_tolerated(tmp_path):
    text = "\ufeff-DOCSTART-\tO\r\n\r\nA\tB-protein\r\nB\tI-protein\r\n\r\n-DOCSTART-\tO\r\n\r\nC\tO\r\n"
    root = write_corpus(tmp_path / "root", "JNLPBA", text, splits=("test",))
    corpus = load_corpus("JNLPBA", root, cache_dir=tmp_path / "cache", splits=["test"])
    names = corpus["test"].features["ner_tags"].feature.names
    assert corpus["test"]["tokens"] == [["A", "B"], ["C"]]
    assert [names[tag] for tag in corpus["test"][0]["ner_tags"]] == ["B-protein", "I-protein"]


def test_docstart_inside_sentence_is_an_error(tmp_path):
    root = write_corpus(tmp_path / "root", "JNLPBA", "A\tO\n-DOCSTART-\tO\n\n", splits=("test",))
    with pytest.raises(CrichtonFormatError, match=r"test\.tsv:2: -DOCSTART- inside a sentence"):
        load_corpus("JNLPBA", root, cache_dir=tmp_path / "cache", splits=["test"])


def test_unknown_corpus_and_split(tmp_path):
    with pytest.raises(ValueError, match="Unknown Crichton corpus 'BC2GM'.*BC2GM-IOB"):
        load_corpus("BC2GM", tmp_path)
    with pytest.raises(ValueError, match="expected a subset of"):
        load_corpus("BC2GM-IOB", tmp_path, splits=["dev"])


def test_iobes_twins_are_configs():
    names = {config.name: config for config in crichton.Crichton.BUILDER_CONFIGS}
    assert crichton.iobes_twin("NCBI-disease-IOB") == "NCBI-disease-IOBES"
    assert crichton.iobes_twin("BC4CHEMD") == "BC4CHEMD-IOBES"
    for folder, entity_types in CORPUS_TYPES.items():
        twin = names[crichton.iobes_twin(folder)]
        assert (twin.entity_types, twin.scheme, names[folder].scheme) == (entity_types, "BIOES", "IOB2")


def test_iobes_twin_loads_the_same_spans(crichton_dir, corpus_cache, tmp_path):
    """The shared folder has no IOBES twins: write the BIOES rendering of a real split and load it as the twin."""
    source = crichton_dir / "NCBI-disease-IOB" / "test.tsv"
    if not source.is_file():
        pytest.skip("NCBI-disease-IOB/test.tsv is not present")
    lines = []
    for sentence in crichton.read_conll(source):
        tags = convert_tags(sentence.tags, "IOB2", "BIOES")
        lines += [f"{token}\t{tag}" for token, tag in zip(sentence.tokens, tags)] + [""]
    root = write_corpus(tmp_path / "root", "NCBI-disease-IOBES", "\n".join(lines[:-1]), splits=("test",))
    twin = load_corpus("NCBI-disease-IOBES", root, cache_dir=tmp_path / "cache", splits=["test"])["test"]
    iob = load_corpus("NCBI-disease-IOB", crichton_dir, cache_dir=corpus_cache, splits=["test"])["test"]
    twin_names = twin.features["ner_tags"].feature.names
    iob_names = iob.features["ner_tags"].feature.names
    assert twin_names == label_names(["Disease"], "BIOES")
    assert twin["tokens"] == iob["tokens"]
    assert [entity_spans([twin_names[tag] for tag in tags]) for tags in twin["ner_tags"]] == [
        entity_spans([iob_names[tag] for tag in tags]) for tags in iob["ner_tags"]
    ]


def test_iobes_twin_order_errors_and_repair(tmp_path):
    root = write_corpus(tmp_path / "root", "NCBI-disease-IOBES", "A\tB-Disease\nB\tO\n\nC\tS-Disease\n")
    with pytest.raises(
        CrichtonFormatError, match=r"train\.tsv:2: O follows B-Disease, expected I-Disease or E-Disease"
    ):
        load_corpus("NCBI-disease-IOBES", root, cache_dir=tmp_path / "cache", splits=["train"])
    corpus = load_corpus("NCBI-disease-IOBES", root, cache_dir=tmp_path / "cache", splits=["train"], repair_iob=True)
    names = corpus["train"].features["ner_tags"].feature.names
    assert [[names[tag] for tag in tags] for tags in corpus["train"]["ner_tags"]] == [
        ["S-Disease", "O"],
        ["S-Disease"],
    ]


def test_iobes_twin_download_is_used_unchecked_with_a_warning(tmp_path, monkeypatch, caplog):
    served = write_corpus(tmp_path / "served", "NCBI-disease-IOBES", "A\tB-Disease\nB\tE-Disease\n", splits=("test",))
    monkeypatch.delenv("CRICHTON_DATA_DIR", raising=False)
    monkeypatch.setattr(crichton, "URL_TEMPLATE", f"file://{served}/{{folder}}/{{file}}")
    with caplog.at_level("WARNING", logger="data_scripts.crichton"):
        corpus = load_corpus("NCBI-disease-IOBES", cache_dir=tmp_path / "cache", splits=["test"])
    assert corpus["test"]["ner_tags"] == [[1, 3]]
    assert "no recorded sha256 for NCBI-disease-IOBES/test.tsv" in caplog.text
