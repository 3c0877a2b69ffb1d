"""`data_scripts/stats.py`: mentions read by `entity_spans`, piece counts, markdown rows and the command line."""

import datasets
import pytest

from data_scripts import stats


def split_of(sentences, names):
    features = datasets.Features(
        {
            "tokens": datasets.List(datasets.Value("string")),
            "ner_tags": datasets.List(datasets.ClassLabel(names=names)),
        }
    )
    return datasets.Dataset.from_dict(
        {
            "tokens": [tokens for tokens, _ in sentences],
            "ner_tags": [[names.index(t) for t in tags] for _, tags in sentences],
        },
        features=features,
    )


IOB2 = ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"]


def test_mentions_follow_seqeval_reading():
    split = split_of(
        [
            (["lung", "cancer", "and", "aspirin"], ["B-Disease", "I-Disease", "O", "B-Chemical"]),
            # Formerly a stray I- was not counted at all and B-X I-Y ran into one mention of type X.
            (["a", "b", "c", "d"], ["O", "I-Disease", "B-Chemical", "I-Disease"]),
        ],
        IOB2,
    )
    assert stats.mentions(split) == [
        ("Disease", "lung cancer"),
        ("Chemical", "aspirin"),
        ("Disease", "b"),
        ("Chemical", "c"),
        ("Disease", "d"),
    ]


def test_mentions_of_bioes_labels():
    names = ["O", "B-Gene", "I-Gene", "E-Gene", "S-Gene"]
    split = split_of([(["p53", "BRCA", "1", "gene"], ["S-Gene", "B-Gene", "E-Gene", "O"])], names)
    assert stats.mentions(split) == [("Gene", "p53"), ("Gene", "BRCA 1")]


def test_percentiles_by_nearest_rank():
    assert stats.percentiles([5, 1, 3, 2, 4]) == "3/5/5/5"
    assert stats.percentiles(list(range(1, 101))) == "50/90/99/100"


def test_piece_counts_match_the_tokenizer(tiny_tokenizer):
    sentences = [["Naloxone", "reverses", "clonidine", "."], ["BRCA1"]]
    counts = stats.piece_counts(sentences, tiny_tokenizer)
    expected = [
        sum(max(1, len(tiny_tokenizer(word, add_special_tokens=False)["input_ids"])) for word in sentence)
        for sentence in sentences
    ]
    assert counts == expected
    assert all(count >= len(sentence) for count, sentence in zip(counts, sentences))


def test_corpus_rows_count_types_lengths_and_train_overlap():
    corpus = datasets.DatasetDict(
        {
            "train": split_of([(["lung", "cancer"], ["B-Disease", "I-Disease"])], IOB2),
            "test": split_of(
                [(["lung", "cancer", "and", "gout"], ["B-Disease", "I-Disease", "O", "B-Disease"]), (["x"], ["O"])],
                IOB2,
            ),
        }
    )
    rows = stats.corpus_rows("toy", corpus)
    assert rows == [
        "| toy | train | 1 | 2 | Disease 1 | 2/2/2/2 |  |  |",
        "| toy | test | 2 | 5 | Disease 2 | 1/4/4/4 |  | 50.0 |",
    ]


def test_main_prints_a_table_for_a_folder(tmp_path, capsys):
    folder = tmp_path / "NCBI-disease-IOB"
    folder.mkdir()
    (folder / "test.tsv").write_text("Gout\tB-Disease\nhurts\tO\n\n")
    stats.main(["--folders", "NCBI-disease-IOB", "--data_dir", str(tmp_path)])
    output = capsys.readouterr().out.splitlines()
    assert output[0].startswith("| corpus | split | sentences |")
    assert output[2:] == ["| NCBI-disease-IOB | test | 1 | 2 | Disease 1 | 2/2/2/2 |  |  |"]


def test_stats_does_not_import_mtl_bioner():
    source = open(stats.__file__, encoding="utf-8").read()
    assert "mtl_bioner" not in source
    with pytest.raises(AttributeError):
        stats.word_pieces  # noqa: B018
