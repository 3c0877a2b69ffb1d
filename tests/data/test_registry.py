from __future__ import annotations

from collections import Counter

import pytest
from utils import raw_sentences

from data_scripts.crichton import CORPUS_TYPES, CorpusUnavailableError
from data_scripts.registry import (
    GROUPS,
    ROWS,
    UNIFIED_TYPE,
    get_row,
    load_group,
    load_row,
    row_label_names,
    rows_in_group,
)


PAPER_KEYS = [
    "BC4CHEMD", "BC5CDR-chem", "BioNLP11ID-chem", "BioNLP13CG-chem", "BioNLP13PC-chem", "CRAFT-chem",
    "BC5CDR-disease", "NCBI-disease",
    "BC2GM", "BioNLP09", "BioNLP11EPI", "BioNLP11ID-ggp", "BioNLP13CG-ggp", "BioNLP13GE", "BioNLP13PC-ggp",
    "CRAFT-ggp", "Ex-PTM", "JNLPBA",
    "BioNLP11ID-species", "BioNLP13CG-species", "CRAFT-species", "LINNAEUS",
]  # fmt: skip
# Section C of the research notes: the entity tag each row's files use.
NATIVE_TAG = {
    "BC5CDR-chem": "Chemical", "BioNLP11ID-chem": "Chemical", "BioNLP13CG-chem": "Simple_chemical",
    "BioNLP13PC-chem": "Simple_chemical", "CRAFT-chem": "CHEBI", "BC5CDR-disease": "Disease",
    "NCBI-disease": "Disease", "BC2GM": "GENE", "BioNLP09": "Protein", "BioNLP11EPI": "Protein",
    "BioNLP11ID-ggp": "Protein", "BioNLP13CG-ggp": "Gene_or_gene_product", "BioNLP13GE": "Protein",
    "BioNLP13PC-ggp": "Gene_or_gene_product", "CRAFT-ggp": "GGP", "Ex-PTM": "Protein",
    "BioNLP11ID-species": "Organism", "BioNLP13CG-species": "Organism", "CRAFT-species": "NCBITaxon",
    "LINNAEUS": "Species",
}  # fmt: skip


def test_rows_follow_the_paper_tables():
    assert [row.key for row in ROWS] == PAPER_KEYS
    assert [key for keys in GROUPS.values() for key in keys] == PAPER_KEYS
    assert {group: len(keys) for group, keys in GROUPS.items()} == {
        "chemical": 6,
        "disease": 2,
        "gene": 10,
        "species": 4,
    }
    assert UNIFIED_TYPE == {"chemical": "Chemical", "disease": "Disease", "gene": "Gene", "species": "Species"}
    assert len({row.dataset for row in ROWS}) == 14
    for row in ROWS:
        assert row.folder in CORPUS_TYPES
        assert row.citation and row.license
        if row.key in NATIVE_TAG:
            assert row.native_types == (NATIVE_TAG[row.key],)
    assert get_row("JNLPBA").native_types == ("DNA", "RNA", "cell_line", "cell_type", "protein")
    assert [row.key for row in rows_in_group("disease")] == ["BC5CDR-disease", "NCBI-disease"]


def test_licences():
    assert "CC BY-SA 3.0" in get_row("BioNLP13CG-ggp").license
    assert "KISTI" in get_row("BioNLP13PC-chem").attribution
    for key in ("BioNLP11ID-chem", "BioNLP11ID-ggp", "BioNLP11ID-species", "JNLPBA"):
        assert "CC BY 3.0" in get_row(key).license
        assert get_row(key).attribution == "Corpus annotations (c) GENIA Project"
    assert "CC BY 4.0" in get_row("NCBI-disease").license


def test_unknown_key_and_group_list_the_valid_ones():
    with pytest.raises(ValueError, match="Unknown row 'BC5CDR'.*BC5CDR-chem.*LINNAEUS"):
        get_row("BC5CDR")
    with pytest.raises(ValueError, match="Unknown group 'protein'.*chemical, disease, gene, species"):
        rows_in_group("protein")


def test_label_names():
    assert row_label_names("CRAFT-chem") == ["O", "B-Chemical", "I-Chemical"]
    assert row_label_names("CRAFT-chem", unify=False) == ["O", "B-CHEBI", "I-CHEBI"]
    assert row_label_names("JNLPBA", unify=False) == ["O", "B-protein", "I-protein"]
    assert len(row_label_names("JNLPBA", unify=False, jnlpba_all_types=True)) == 11
    with pytest.raises(ValueError, match="cannot be unified"):
        row_label_names("JNLPBA", jnlpba_all_types=True)


def test_unified_rows_keep_every_mention(crichton_dir, corpus_cache):
    corpus = load_row("CRAFT-species", crichton_dir, cache_dir=corpus_cache, splits=["test"])
    names = corpus["test"].features["ner_tags"].feature.names
    assert names == ["O", "B-Species", "I-Species"]
    raw = raw_sentences(crichton_dir / "CRAFT-species-IOB" / "test.tsv")
    assert [[names[tag] for tag in tags] for tags in corpus["test"]["ner_tags"]] == [
        [tag.replace("NCBITaxon", "Species") for _, tag in sentence] for sentence in raw
    ]


def test_jnlpba_keeps_protein_only(crichton_dir, corpus_cache):
    if not (crichton_dir / "JNLPBA" / "test.tsv").is_file():
        pytest.skip("JNLPBA/test.tsv is absent")
    raw = raw_sentences(crichton_dir / "JNLPBA" / "test.tsv")
    expected = [[tag.replace("protein", "Gene") if tag.endswith("-protein") else "O" for _, tag in s] for s in raw]
    corpus = load_row("JNLPBA", crichton_dir, cache_dir=corpus_cache, splits=["test"])
    names = corpus["test"].features["ner_tags"].feature.names
    assert [[names[tag] for tag in tags] for tags in corpus["test"]["ner_tags"]] == expected
    everything = load_row(
        "JNLPBA", crichton_dir, unify=False, jnlpba_all_types=True, cache_dir=corpus_cache, splits=["test"]
    )
    all_names = everything["test"].features["ner_tags"].feature.names
    counts = Counter(all_names[tag] for tags in everything["test"]["ner_tags"] for tag in tags)
    assert counts == Counter(tag for sentence in raw for _, tag in sentence)


def test_load_group_shares_one_vocabulary(crichton_dir, corpus_cache):
    loaded = load_group("disease", crichton_dir, cache_dir=corpus_cache)
    assert list(loaded) == ["BC5CDR-disease", "NCBI-disease"]
    assert {str(corpus["train"].features) for corpus in loaded.values()} == {
        str(loaded["NCBI-disease"]["train"].features)
    }


def test_load_group_unavailable(crichton_dir, corpus_cache, caplog):
    if (crichton_dir / "BC4CHEMD" / "train.tsv").is_file():
        pytest.skip("BC4CHEMD is present here")
    with pytest.raises(CorpusUnavailableError, match="BC4CHEMD"):
        load_group(["BC4CHEMD", "NCBI-disease"], crichton_dir, cache_dir=corpus_cache)
    loaded = load_group(["BC4CHEMD", "NCBI-disease"], crichton_dir, cache_dir=corpus_cache, skip_unavailable=True)
    assert list(loaded) == ["NCBI-disease"]
    assert "Skipping row BC4CHEMD" in caplog.text
