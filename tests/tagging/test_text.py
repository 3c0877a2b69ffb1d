"""Rule-based words and sentences with exact offsets (`mtl_bioner.tagging.text`)."""

import pytest

from mtl_bioner.tagging.text import Word, model_form, split_sentences, tokenize


def forms(text: str) -> list[str]:
    return [word.form for word in tokenize(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11q22 RING1 A-T", ["11q22", "RING1", "A", "-", "T"]),  # letters and digits stay together
        ("2.5 mg/kg (ref. 3)", ["2", ".", "5", "mg", "/", "kg", "(", "ref", ".", "3", ")"]),
        ("naïve Café ἀρχή", ["naïve", "Café", "ἀρχή"]),  # combining marks and other scripts
        ("e\u0301tude", ["e\u0301tude"]),  # a combining mark never starts a word
        ("tu\u00admour \u200bcell", ["tumour", "cell"]),  # soft hyphen and zero-width space join, leave the form
        ("👩\u200d🔬 rocks", ["👩🔬", "rocks"]),  # after a zero-width joiner the next character joins
        ("a\tb\u00a0c\n\nd", ["a", "b", "c", "d"]),  # every kind of whitespace separates
        ("", []),
    ],
)
def test_words_follow_the_corpus_tokenization(text, expected):
    assert forms(text) == expected


def test_offsets_are_exact_and_cover_every_visible_character():
    text = "  Ｗｉｌｍｓ\u200b tumour\tin   ÅNGSTRÖM-treated\u00a0mice (n=3) – naïve\u00ad CD4+ cells.  "
    words = tokenize(text)
    assert all(isinstance(word, Word) and word.form == model_form(text[word.start : word.end]) for word in words)
    assert all(a.end <= b.start for a, b in zip(words, words[1:]))
    visible = "".join(char for char in text if not char.isspace() and char not in "\u200b\u00ad")
    assert "".join(word.form for word in words) == visible


def test_tokenize_a_slice_keeps_document_offsets():
    text = "skip this. Keep BRCA1 here"
    words = tokenize(text, start=11, end=21)
    assert [(word.start, word.end, word.form) for word in words] == [(11, 15, "Keep"), (16, 21, "BRCA1")]
    with pytest.raises(TypeError, match="must be a str"):
        tokenize(b"bytes")


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("BRCA1 is a gene. It causes cancer.", 2),
        ("Mutations (e.g. in APC) cause FAP. Patients et al. Smith reported it.", 2),  # abbreviations
        ("See J. Smith and Fig. 3 for details. Then stop.", 2),  # a single letter or fig. before the full stop
        ("Doses were 2.5 mg. 10 patients responded.", 2),  # a digit starts a sentence
        ("first line\n\nsecond line", 2),  # a blank line always ends a sentence
        ("It was lowercase. then it continued.", 1),  # a lowercase word does not start a sentence
        ("", 0),
    ],
)
def test_sentence_boundaries(text, count):
    sentences = split_sentences(text)
    assert len(sentences) == count
    assert [word for sentence in sentences for word in sentence] == tokenize(text)  # nothing lost or repeated
