"""`data_scripts.load_files`: any scheme and format loads to the same IOB2 dataset; bad input names file and line."""

import json
import os
import re
from pathlib import Path

import pytest
from utils import ROOT

from data_scripts import load_files
from data_scripts.crichton import CorpusFormatError, read_conll
from data_scripts.schemes import convert_tags


REPO_ROOT = ROOT


def corpus_root() -> Path:
    return Path(os.environ.get("CRICHTON_DATA_DIR") or REPO_ROOT.parent / "shared" / "data" / "crichton")


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def tag_names(split) -> list[list[str]]:
    names = split.features["ner_tags"].feature.names
    return [[names[tag] for tag in tags] for tags in split["ner_tags"]]


# ---------------------------------------------------------------------------------------------------------------
# Acceptance: the renderings of a real corpus in every scheme load to the IOB folder's dataset
# ---------------------------------------------------------------------------------------------------------------

SPLIT_FILES = {"train": "train.tsv", "validation": "devel.tsv", "test": "test.tsv"}


@pytest.fixture(scope="module")
def ncbi_folder() -> Path:
    folder = corpus_root() / "NCBI-disease-IOB"
    if not all((folder / name).is_file() for name in SPLIT_FILES.values()):
        pytest.skip(f"NCBI-disease-IOB not found under $CRICHTON_DATA_DIR or {corpus_root()}")
    return folder


@pytest.fixture(scope="module")
def ncbi_iob(ncbi_folder):
    return load_files({split: str(ncbi_folder / name) for split, name in SPLIT_FILES.items()})


@pytest.mark.parametrize("scheme", ["BIOES", "IOB1", "BILOU"])
def test_every_rendering_of_a_real_corpus_loads_identically(ncbi_folder, ncbi_iob, tmp_path, scheme):
    data_files = {}
    for split, name in SPLIT_FILES.items():
        lines = []
        for sentence in read_conll(ncbi_folder / name):
            tags = convert_tags(sentence.tags, "IOB2", scheme)
            lines += [f"{token}\t{tag}" for token, tag in zip(sentence.tokens, tags)] + [""]
        data_files[split] = str(write(tmp_path / f"{split}.{scheme.lower()}.tsv", "\n".join(lines)))
    loaded = load_files(data_files, scheme="auto")
    assert loaded["train"].features["ner_tags"].feature.names == ["O", "B-Disease", "I-Disease"]
    for split in SPLIT_FILES:
        assert loaded[split]["tokens"] == ncbi_iob[split]["tokens"]
        assert loaded[split]["ner_tags"] == ncbi_iob[split]["ner_tags"]
    assert len(ncbi_iob["test"]) == 940  # the research notes' sentence count: nothing dropped


def test_real_corpus_to_bioes_keeps_s_and_e_names(ncbi_folder, ncbi_iob):
    bioes = load_files(str(ncbi_folder / "test.tsv"), output_scheme="BIOES")
    assert bioes["train"].features["ner_tags"].feature.names == [
        "O",
        "B-Disease",
        "I-Disease",
        "E-Disease",
        "S-Disease",
    ]
    iob2_tags = tag_names(ncbi_iob["test"])
    assert tag_names(bioes["train"]) == [convert_tags(tags, "IOB2", "BIOES") for tags in iob2_tags]
    assert any("S-Disease" in tags for tags in tag_names(bioes["train"]))


# ---------------------------------------------------------------------------------------------------------------
# Shapes, formats, label sets
# ---------------------------------------------------------------------------------------------------------------


def test_data_files_forms_and_label_order_shared_by_splits(tmp_path):
    train = write(tmp_path / "a.tsv", "x\tB-Gene\ny\tO\n\nz\tB-Chem\n")
    test = write(tmp_path / "b.tsv", "w\tB-Anatomy\nv\tI-Anatomy\n")
    both = load_files({"train": str(train), "test": [test]})
    names = ["O", "B-Anatomy", "I-Anatomy", "B-Chem", "I-Chem", "B-Gene", "I-Gene"]
    assert both["train"].features["ner_tags"].feature.names == names
    assert both["test"].features["ner_tags"].feature.names == names
    assert both["train"]["tokens"] == [["x", "y"], ["z"]]
    assert tag_names(both["test"]) == [["B-Anatomy", "I-Anatomy"]]
    assert list(load_files(str(train))) == ["train"]
    assert load_files([train, test])["train"]["tokens"] == [["x", "y"], ["z"], ["w", "v"]]


def test_columns_whitespace_comments_and_docstart(tmp_path):
    text = (
        "# newdoc id = 1\n-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n#  NN I-NP O\n\n"
        "# sent_id = 2\n#  NN B-NP O\nPeter NNP B-NP B-PER\n"
    )
    loaded = load_files({"test": str(write(tmp_path / "conll03.txt", text))}, tag_column=3)
    assert loaded["test"]["tokens"] == [["EU", "rejects", "#"], ["#", "Peter"]]
    assert tag_names(loaded["test"]) == [["B-ORG", "O", "O"], ["O", "B-PER"]]
    by_index = load_files(
        str(write(tmp_path / "tag_first.tsv", "B-Gene\tBRCA1\nO\tis\n")), token_column=1, tag_column=0
    )
    assert by_index["train"]["tokens"] == [["BRCA1", "is"]]


def test_json_array_and_json_lines(tmp_path):
    records = [{"tokens": ["a", "b"], "ner_tags": ["I-Gene", "I-Gene"]}, {"tokens": ["c"], "ner_tags": ["O"]}]
    array = write(tmp_path / "data.json", json.dumps(records, indent=2))
    lines = write(
        tmp_path / "data.jsonl", "\n".join(json.dumps({"words": r["tokens"], "tags": r["ner_tags"]}) for r in records)
    )
    from_array = load_files(str(array))
    from_lines = load_files(str(lines), token_field="words")
    for loaded in (from_array, from_lines):
        assert loaded["train"]["tokens"] == [["a", "b"], ["c"]]
        assert tag_names(loaded["train"]) == [["B-Gene", "I-Gene"], ["O"]]  # IOB1 detected, read as one entity
    as_conll = write(tmp_path / "data.data", "a\tB-Gene\n")
    assert load_files(str(as_conll), format="conll")["train"]["tokens"] == [["a"]]


def test_type_map_renames_merges_and_drops(tmp_path):
    path = write(tmp_path / "d.tsv", "a\tB-SpecificDisease\nb\tB-Modifier\nc\tB-Composite\nd\tB-DiseaseClass\n")
    loaded = load_files(
        str(path),
        type_map={"SpecificDisease": "Disease", "Modifier": "Disease", "Composite": None, "DiseaseClass": "O"},
    )
    assert loaded["train"].features["ner_tags"].feature.names == ["O", "B-Disease", "I-Disease"]
    assert tag_names(loaded["train"]) == [["B-Disease", "B-Disease", "O", "O"]]  # adjacent entities stay two
    iob1 = write(tmp_path / "iob1.tsv", "a\tI-SpecificDisease\nb\tI-Modifier\n")
    merged_types = load_files(str(iob1), "IOB1", type_map={"SpecificDisease": "Disease", "Modifier": "Disease"})
    assert tag_names(merged_types["train"]) == [["B-Disease", "B-Disease"]]


def test_type_map_lists_every_unmapped_type(tmp_path):
    path = write(tmp_path / "d.tsv", "a\tB-Gene\nb\tB-Chem\n\nc\tB-Species\n")
    with pytest.raises(
        CorpusFormatError, match=r"2 entity type\(s\) unmapped: 'Chem' \(first at .*d\.tsv:2\), 'Species'"
    ):
        load_files(str(path), type_map={"Gene": "Gene"})


def test_repair_fixes_order_only_when_asked(tmp_path):
    path = write(tmp_path / "d.tsv", "a\tB-Gene\nb\tE-Gene\n\nc\tO\nd\tE-Gene\ne\tB-Gene\n")
    with pytest.raises(CorpusFormatError, match=r"d\.tsv:5: E-Gene follows O with no opening tag.*pass repair=True"):
        load_files(str(path))
    repaired = load_files(str(path), repair=True, output_scheme="BIOES")
    assert tag_names(repaired["train"]) == [["B-Gene", "E-Gene"], ["O", "S-Gene", "S-Gene"]]


# ---------------------------------------------------------------------------------------------------------------
# Errors name the file and the line
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, content, options, message",
    [
        ("d.tsv", b"a\tO\n\nb\tB-Gene\n\xe9t\xe9\tO\n", {}, r"d\.tsv:4: byte 0xe9 at column 1 is not valid UTF-8"),
        ("d.json", b'[\n {"tokens": ["a"],\n  "ner_tags": ["\xff"]}]', {}, r"d\.json:3: byte 0xff is not valid UTF-8"),
        ("d.tsv", "a\tB-Gene\nb\tE-Gene\n\nc\tU-Gene\n", {}, r"d\.tsv:4: U-Gene mixes schemes: BILOU tags next to"),
        ("d.tsv", "a\tI-Gene\nb\tO\n\nc\tS-Gene\n", {}, r"d\.tsv:4: S-Gene mixes schemes: BIOES/BILOU tags next to"),
        ("d.tsv", "a\tS-Gene\n\nb\tL-Gene\n", {"scheme": "BILOU"}, r"d\.tsv:1: 'S-Gene' is not a BILOU tag"),
        ("d.tsv", "a\tB-Gene\n\nb\tO\nc\tI-Gene\n", {}, r"d\.tsv:4: I-Gene follows O, expected B-Gene"),
        ("d.tsv", "a\tB-Gene\nb\tL-Gene\nc\tL-Gene\n", {}, r"d\.tsv:3: L-Gene follows L-Gene with no opening tag"),
        ("d.tsv", "a\tO\n", {"tag_column": 2}, r"d\.tsv:1: tag column 2 is out of range for the 2 tab-separated"),
        ("d.tsv", "a\tO\nb\tO\tx\n", {}, r"d\.tsv:2: found 3 tab-separated field\(s\) in 'b\\tO\\tx', expected 2"),
        ("d.txt", "a O\nb\n", {}, r"d\.txt:2: found 1 whitespace-separated field\(s\)"),
        ("d.tsv", "a\tO\nb\tGene\n", {}, r"d\.tsv:2: 'Gene' is not a tag: expected O or B-/I-/E-/S-/L-/U-<type>"),
        ("d.tsv", "a\tB-Gene\nb\tB\n", {}, r"d\.tsv:2: 'B' is not a tag"),
        ("d.tsv", "", {}, r"d\.tsv:1: empty file"),
        ("d.jsonl", '{"tokens": ["a"], "ner_tags": ["O"]}\n{"tokens": ["a"]\n', {}, r"d\.jsonl:2: invalid JSON line"),
        ("d.jsonl", '{"tokens": ["a", "b"], "ner_tags": ["O"]}\n', {}, r"d\.jsonl:1: 2 tokens but 1 ner_tags"),
        (
            "d.jsonl",
            '{"tokens": ["a"], "labels": ["O"]}\n',
            {},
            r"d\.jsonl:1: field 'ner_tags' is None, expected a list",
        ),
        (
            "d.json",
            '[{"tokens": ["a"], "ner_tags": ["O"]},\n {"tokens": ["a"], "ner_tags": [1]}]',
            {},
            r"d\.json:2: field",
        ),
        (
            "d.json",
            '[{"tokens": ["a"], "ner_tags": ["O"]}\n {}]',
            {},
            r"d\.json:2: invalid JSON \(Expecting ',' or ']'",
        ),
        (
            "d.json",
            '[{"tokens": ["a", "b"], "ner_tags": ["O", "I-Gene"]},\n{"tokens": ["a"], "ner_tags": ["B-Gene"]}]',
            {},
            r"d\.json:1 \(word 2 of the record\): I-Gene follows O",
        ),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, name, content, options, message):
    path = write(tmp_path / name, content)
    with pytest.raises(CorpusFormatError, match=re.escape(str(tmp_path)) + "/" + message):
        load_files(str(path), **options)


def test_missing_file_names_its_split(tmp_path):
    present = write(tmp_path / "train.tsv", "a\tO\n")
    with pytest.raises(FileNotFoundError, match=r"split 'validation': file .*devel\.tsv not found"):
        load_files({"train": str(present), "validation": str(tmp_path / "devel.tsv")})


def test_bad_arguments(tmp_path):
    path = write(tmp_path / "d.tsv", "a\tO\n")
    with pytest.raises(ValueError, match="Unknown tagging scheme 'IOE'"):
        load_files(str(path), scheme="IOE")
    with pytest.raises(ValueError, match="Unknown format 'csv'"):
        load_files(str(path), format="csv")
    with pytest.raises(ValueError, match=r"cannot tell the format from the extension '\.xyz'"):
        load_files(str(write(tmp_path / "d.xyz", "a\tO\n")))
    with pytest.raises(ValueError, match="split 'train': no file given"):
        load_files({"train": []})
