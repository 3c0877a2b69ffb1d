"""`data_scripts.schemes`: the span reader agrees with seqeval, conversions are lossless, bad sequences name a position."""

import random
import subprocess
import sys
import warnings

import pytest
from seqeval.metrics.sequence_labeling import get_entities
from utils import ROOT

from data_scripts.schemes import (
    SCHEMES,
    TagSchemeError,
    canonical_scheme,
    convert_tags,
    detect_scheme,
    entity_spans,
    label_names,
    repair_tags,
    spans_to_tags,
    validate_tags,
)


SCHEMES_FILE = ROOT / "data_scripts" / "schemes.py"


def seqeval_spans(tags):
    """seqeval's default-mode entities as (type, start, end-exclusive), after the two documented readings:
    X is O and BILOU's L-/U- are E-/S-; seqeval names the missing type of a bare prefix "_", we name it ""."""
    mapped = ["O" if tag == "X" else {"L": "E", "U": "S"}.get(tag[0], tag[0]) + tag[1:] for tag in tags]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        entities = get_entities(mapped)
    return [("" if entity_type == "_" else entity_type, start, end + 1) for entity_type, start, end in entities]


EDGE_CASES = {
    "iob2": ["B-Gene", "I-Gene", "O", "B-Gene"],
    "bare B and I": ["B", "I", "O", "I", "B", "B"],
    "bare after typed": ["B-Gene", "I", "B", "I-Gene"],
    "I after O opens": ["O", "I-Gene", "I-Gene", "O", "I-Gene"],
    "I at start opens": ["I-Gene", "B-Gene"],
    "B-X I-Y is two": ["B-Gene", "I-Chem", "I-Chem"],
    "B-X B-X is two": ["B-Gene", "B-Gene", "I-Gene"],
    "bioes": ["S-Gene", "B-Gene", "I-Gene", "E-Gene", "S-Chem", "O"],
    "E after O opens": ["O", "E-Gene", "E-Gene"],
    "I after E opens": ["B-Gene", "E-Gene", "I-Gene", "E-Gene"],
    "I after S opens": ["S-Gene", "I-Gene"],
    "B then S": ["B-Gene", "S-Gene"],
    "unclosed B at end": ["O", "B-Gene"],
    "bilou": ["U-Gene", "B-Gene", "I-Gene", "L-Gene", "U-Gene", "U-Gene"],
    "bare E and S": ["B", "E", "S", "E"],
    "X reads as O": ["B-Gene", "X", "I-Gene", "X"],
    "hyphenated type": ["B-Regulon-operon", "I-Regulon-operon", "I-Multi-tissue_structure"],
    "empty type after dash": ["B-", "I-", "I-Gene"],
    "all O": ["O", "O"],
    "empty": [],
}


@pytest.mark.parametrize("tags", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_entity_spans_equal_seqeval_on_edge_cases(tags):
    assert entity_spans(tags) == seqeval_spans(tags)


def test_entity_spans_documented_readings():
    assert entity_spans(["O", "I-Gene", "I-Gene"]) == [("Gene", 1, 3)]
    assert entity_spans(["B-Gene", "I-Chem"]) == [("Gene", 0, 1), ("Chem", 1, 2)]
    assert entity_spans(["B", "I"]) == [("", 0, 2)]
    assert entity_spans(["S-Gene", "E-Gene"]) == [("Gene", 0, 1), ("Gene", 1, 2)]
    assert entity_spans(["B-Gene", "X", "I-Gene"]) == [("Gene", 0, 1), ("Gene", 2, 3)]


def test_entity_spans_equal_seqeval_on_random_sequences():
    vocabulary = ["O", "X", "B", "I", "E", "S", "L", "U", "I-"] + [
        f"{prefix}-{entity_type}" for prefix in "BIESLU" for entity_type in ("Gene", "Chem", "Regulon-operon")
    ]
    rng = random.Random(20260101)
    for _ in range(4000):
        tags = rng.choices(vocabulary, k=rng.randint(0, 12))
        assert entity_spans(tags) == seqeval_spans(tags), tags


@pytest.mark.parametrize("label", ["Gene", "BX", "o", "O-Gene", "", "LABEL_0"])
def test_entity_spans_rejects_labels_that_are_not_tags(label):
    with pytest.raises(TagSchemeError, match=f"position 1: label {label!r} is not a tag") as raised:
        entity_spans(["O", label])
    assert raised.value.position == 1
    assert isinstance(raised.value, ValueError)


def random_spans(rng, length):
    spans, position = [], 0
    while position < length:
        if rng.random() < 0.5:
            end = rng.randint(position + 1, min(length, position + 4))
            spans.append((rng.choice(["Gene", "Chem"]), position, end))
            position = end
        else:
            position += 1
    return spans


def test_conversions_round_trip_losslessly_between_all_schemes():
    rng = random.Random(7)
    for _ in range(1500):
        length = rng.randint(0, 12)
        spans = random_spans(rng, length)
        renderings = {scheme: spans_to_tags(spans, length, scheme) for scheme in SCHEMES}
        for source, tags in renderings.items():
            validate_tags(tags, source)
            assert entity_spans(tags) == spans
            for target in SCHEMES:
                assert convert_tags(tags, source, target) == renderings[target], (source, target, tags)


def test_renderings_of_one_sentence():
    spans = [("Gene", 0, 1), ("Gene", 1, 3), ("Chem", 3, 4), ("Chem", 5, 6)]
    assert spans_to_tags(spans, 6, "IOB2") == ["B-Gene", "B-Gene", "I-Gene", "B-Chem", "O", "B-Chem"]
    assert spans_to_tags(spans, 6, "IOB1") == ["I-Gene", "B-Gene", "I-Gene", "I-Chem", "O", "I-Chem"]
    assert spans_to_tags(spans, 6, "BIOES") == ["S-Gene", "B-Gene", "E-Gene", "S-Chem", "O", "S-Chem"]
    assert spans_to_tags(spans, 6, "IOBES") == spans_to_tags(spans, 6, "BIOES")
    assert spans_to_tags(spans, 6, "BILOU") == ["U-Gene", "B-Gene", "L-Gene", "U-Chem", "O", "U-Chem"]
    with pytest.raises(ValueError, match="overlaps"):
        spans_to_tags([("Gene", 0, 2), ("Gene", 1, 3)], 3)
    with pytest.raises(ValueError, match="exceeds 2 words"):
        spans_to_tags([("Gene", 1, 3)], 2)


def test_scheme_names():
    assert canonical_scheme("iobes") == "BIOES"
    assert canonical_scheme("BIO") == "IOB2"
    with pytest.raises(ValueError, match="Unknown tagging scheme 'IOE2'"):
        canonical_scheme("IOE2")
    assert label_names(["Gene"], "BIOES") == ["O", "B-Gene", "I-Gene", "E-Gene", "S-Gene"]
    assert label_names(["B", "A"]) == ["O", "B-B", "I-B", "B-A", "I-A"]


@pytest.mark.parametrize(
    "sequences, scheme",
    [
        ([["O", "O"], []], "IOB2"),
        ([["B-Gene", "I-Gene", "O"]], "IOB2"),
        ([["B-Gene", "O"], ["O", "I-Gene"]], "IOB2"),  # an IOB2 file with a stray I-: IOB2, for validation to flag
        ([["I-Gene", "I-Gene", "B-Gene"], ["I-Chem"]], "IOB1"),
        ([["I-Gene", "O"]], "IOB1"),
        ([["B-Gene", "E-Gene"], ["O"]], "BIOES"),
        ([["S-Gene"]], "BIOES"),
        ([["U-Gene", "B-Gene", "L-Gene"]], "BILOU"),
    ],
)
def test_detect_scheme(sequences, scheme):
    assert detect_scheme(sequences) == scheme


@pytest.mark.parametrize(
    "sequences, sentence, position, message",
    [
        ([["B-Gene", "E-Gene"], ["O", "U-Gene"]], 1, 1, "U-Gene mixes schemes: BILOU tags next to BIOES tags"),
        ([["I-Gene", "O"], ["O", "S-Gene"]], 1, 1, "S-Gene mixes schemes: BIOES/BILOU tags next to entities opened"),
        ([["O"], ["B-Gene", "Gene"]], 1, 1, "'Gene' is not a tag"),
    ],
)
def test_detect_scheme_errors_name_sentence_and_position(sequences, sentence, position, message):
    with pytest.raises(TagSchemeError, match=message) as raised:
        detect_scheme(sequences)
    assert (raised.value.sentence, raised.value.position) == (sentence, position)


@pytest.mark.parametrize(
    "tags, scheme, position, message",
    [
        (["O", "I-Gene"], "IOB2", 1, "I-Gene follows O, expected B-Gene to open the entity"),
        (["B-Gene", "I-Chem"], "IOB2", 1, "I-Chem follows B-Gene, expected B-Chem"),
        (["B-Gene"], "IOB1", 0, "expected I-Gene: IOB1 uses B- only to separate two adjacent Gene entities"),
        (["I-Chem", "B-Gene"], "IOB1", 1, "B-Gene follows I-Chem, expected I-Gene"),
        (["O", "E-Gene"], "BIOES", 1, "E-Gene follows O with no opening tag, expected B-Gene"),
        (["O", "I-Gene", "E-Gene"], "BIOES", 1, "I-Gene follows O with no opening tag"),
        (["B-Gene", "O"], "BIOES", 1, "O follows B-Gene, expected I-Gene or E-Gene to close"),
        (["B-Gene", "I-Gene"], "BIOES", 1, "I-Gene ends the sentence, expected E-Gene to close it"),
        (["O", "L-Gene"], "BILOU", 1, "L-Gene follows O with no opening tag, expected B-Gene \\(or U-Gene"),
        (["B-Gene", "U-Gene"], "BILOU", 1, "U-Gene follows B-Gene, expected I-Gene or L-Gene"),
        (["O", "E-Gene"], "IOB2", 1, "'E-Gene' is not an IOB2 tag: expected O or B-/I-<type>"),
        (["S-Gene"], "BILOU", 0, "'S-Gene' is not a BILOU tag"),
        (["B"], "IOB2", 0, "'B' is not an IOB2 tag"),
        (["X"], "IOB2", 0, "'X' is not an IOB2 tag"),
    ],
)
def test_validate_tags_names_the_position(tags, scheme, position, message):
    with pytest.raises(TagSchemeError, match=message) as raised:
        validate_tags(tags, scheme)
    assert raised.value.position == position
    assert str(raised.value).startswith(f"position {position}: ")


def test_convert_tags_validates_its_input():
    with pytest.raises(TagSchemeError, match="E-Gene follows O"):
        convert_tags(["O", "E-Gene"], "BIOES", "IOB2")


def test_repair_tags():
    assert repair_tags(["O", "I-Gene", "I-Gene", "I-Chem"], "IOB2") == ["O", "B-Gene", "I-Gene", "B-Chem"]
    assert repair_tags(["B-Gene", "O", "E-Gene", "I-Gene"], "BIOES") == ["S-Gene", "O", "S-Gene", "S-Gene"]
    assert repair_tags(["B-Gene", "B-Chem"], "IOB1") == ["I-Gene", "I-Chem"]
    with pytest.raises(TagSchemeError, match="'E-Gene' is not an IOB2 tag"):
        repair_tags(["E-Gene"], "IOB2")


def test_schemes_module_imports_alone():
    """The remote code carries a copy of the file: it must run with nothing but the standard library."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('schemes_copy', {str(SCHEMES_FILE)!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "assert module.entity_spans(['B-Gene', 'E-Gene']) == [('Gene', 0, 2)]\n"
        "print(sorted({'datasets', 'torch', 'transformers', 'numpy', 'seqeval'} & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
