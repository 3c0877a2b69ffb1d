import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread
from utils import ROOT

from mtl_bioner.training.analysis import (
    EULER_REGIONS,
    RATIO_NAMES,
    analyze_run,
    entities_from_iob,
    entity_set,
    entity_set_ratios,
    euler_counts,
    gold_only_analysis,
    main,
    normalize_entity,
    plot_euler,
    plot_radar,
)


REPO_ROOT = ROOT


# ---------------------------------------------------------------------------------------------------------------
# entities_from_iob / normalize_entity / entity_set
# ---------------------------------------------------------------------------------------------------------------


def test_entities_from_iob_basic_and_sentence_end():
    tokens = ["lung", "cancer", "and", "type", "2", "diabetes"]
    tags = ["B-Disease", "I-Disease", "O", "B-Disease", "I-Disease", "I-Disease"]
    assert entities_from_iob(tokens, tags) == ["lung cancer", "type 2 diabetes"]
    assert entities_from_iob(tokens, tags, typed=True) == [("Disease", "lung cancer"), ("Disease", "type 2 diabetes")]


def test_entities_from_iob_i_after_o_starts_mention():
    # conlleval: an I-X with no open X mention starts one.
    assert entities_from_iob(["a", "b", "c"], ["O", "I-Gene", "I-Gene"]) == ["b c"]
    assert entities_from_iob(["a"], ["I-Gene"]) == ["a"]


def test_entities_from_iob_type_switch_and_adjacent_b():
    tokens = ["a", "b", "c", "d"]
    # I-Chem after a Disease mention starts a Chem mention; the following I-Chem continues it.
    assert entities_from_iob(tokens, ["B-Disease", "I-Chem", "I-Chem", "O"], typed=True) == [
        ("Disease", "a"),
        ("Chem", "b c"),
    ]
    # B-X right after an X mention starts a new mention.
    tags = ["B-X", "B-X", "I-X", "B-Y"]
    assert entities_from_iob(tokens, tags, typed=True) == [("X", "a"), ("X", "b c"), ("Y", "d")]


def test_entities_from_iob_bare_tags_duplicates_and_errors():
    tags = ["B", "I", "O", "B", "I"]
    assert entities_from_iob(["x", "y", "z", "x", "y"], tags, typed=True) == [("", "x y"), ("", "x y")]
    assert entities_from_iob([], []) == []
    with pytest.raises(ValueError, match="tokens but"):
        entities_from_iob(["a"], [])
    with pytest.raises(ValueError, match="label 'Gene' is not a tag"):
        entities_from_iob(["a"], ["Gene"])


def test_entities_from_iob_reads_every_scheme_like_seqeval():
    # Formerly S-/E- raised "Not an IOB2 tag"; now every scheme reads as seqeval reads it, and X reads as O.
    tokens = ["a", "b", "c", "d", "e"]
    assert entities_from_iob(tokens, ["S-Gene", "B-Gene", "E-Gene", "X", "U-Chem"], typed=True) == [
        ("Gene", "a"),
        ("Gene", "b c"),
        ("Chem", "e"),
    ]
    assert entities_from_iob(tokens, ["I-Gene", "B-Gene", "O", "B-Gene", "L-Gene"]) == ["a", "b", "d e"]


def test_normalize_entity():
    assert normalize_entity("  Lung \t cancer ") == "Lung cancer"
    assert normalize_entity("Lung  cancer", collapse_whitespace=False) == "Lung  cancer"
    assert normalize_entity("Lung Cancer", casefold=True) == "lung cancer"


def test_entity_set_distinct_typed_casefold():
    sentences = [
        (["Asthma", "and", "asthma"], ["B-Disease", "O", "B-Disease"]),
        (["asthma", "drug"], ["B-Chem", "O"]),
    ]
    assert entity_set(sentences) == {"Asthma", "asthma"}
    assert entity_set(sentences, casefold=True) == {"asthma"}
    assert entity_set(sentences, typed=True, casefold=True) == {("Disease", "asthma"), ("Chem", "asthma")}


# ---------------------------------------------------------------------------------------------------------------
# Ratios and Euler counts
# ---------------------------------------------------------------------------------------------------------------

T = {"a", "b", "c", "d", "e"}
L = {"c", "d", "e", "f", "g", "h"}
P = {"b", "d", "e", "g", "x", "y", "z"}


def test_entity_set_ratios_by_hand():
    ratios = entity_set_ratios(T, L, P)
    assert list(ratios) == list(RATIO_NAMES)
    # L\T = {f,g,h}; (L\T)∩P = {g}                      -> 1/3
    assert ratios["generalization"] == pytest.approx(1 / 3)
    # T∩L = {c,d,e}; |L| = 6                             -> 3/6
    assert ratios["coverage"] == pytest.approx(0.5)
    # (T∩L)\P = {c}                                      -> 1/3
    assert ratios["forgetting"] == pytest.approx(1 / 3)
    # P\L = {b,x,y,z}; (P\L)∩T = {b}                     -> 1/4
    assert ratios["inherited_errors"] == pytest.approx(1 / 4)
    # (|P| - |L|) / |L| = (7 - 6) / 6                    -> 1/6
    assert ratios["over_prediction"] == pytest.approx(1 / 6)


def test_entity_set_ratios_negative_over_prediction():
    # P = {c}: (1 - 6) / 6
    assert entity_set_ratios(T, L, {"c"})["over_prediction"] == pytest.approx(-5 / 6)


def test_entity_set_ratios_empty_denominators_are_none():
    assert entity_set_ratios(set(), set(), set()) == dict.fromkeys(RATIO_NAMES)
    # T empty, nothing predicted: L\T = {a} -> generalization 0/1; T∩L empty -> forgetting undefined;
    # P\L empty -> inherited errors undefined; over-prediction (0 - 1) / 1.
    assert entity_set_ratios(set(), {"a"}, set()) == {
        "generalization": 0.0,
        "coverage": 0.0,
        "forgetting": None,
        "inherited_errors": None,
        "over_prediction": -1.0,
    }
    # Everything seen and found: L\T empty -> generalization undefined.
    assert entity_set_ratios({"a"}, {"a"}, {"a"})["generalization"] is None


def test_euler_counts_by_hand():
    counts = euler_counts(T, L, P)
    assert counts == {
        "T_only": 1,  # a
        "L_only": 2,  # f, h
        "P_only": 3,  # x, y, z
        "TL_only": 1,  # c
        "TP_only": 1,  # b
        "LP_only": 1,  # g
        "TLP": 2,  # d, e
    }
    assert sum(counts.values()) == len(T | L | P) == 11


def test_euler_counts_consistent_with_ratios():
    rng = np.random.default_rng(0)
    for _ in range(20):
        T_, L_, P_ = ({int(x) for x in rng.integers(0, 30, size=rng.integers(0, 25))} for _ in range(3))
        c = euler_counts(T_, L_, P_)
        assert set(c) == set(EULER_REGIONS)
        assert sum(c.values()) == len(T_ | L_ | P_)
        r = entity_set_ratios(T_, L_, P_)
        unseen = c["L_only"] + c["LP_only"]
        assert r["generalization"] == (c["LP_only"] / unseen if unseen else None)
        seen = c["TL_only"] + c["TLP"]
        assert r["forgetting"] == (c["TL_only"] / seen if seen else None)


# ---------------------------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------------------------


def assert_nontrivial_png(path: Path):
    assert path.is_file() and path.stat().st_size > 5_000
    image = imread(path)
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 1


def test_plots_handle_negative_and_undefined_values(tmp_path):
    radar = plot_radar(
        {
            "full": entity_set_ratios(T, L, {"c"}),  # negative over-prediction
            "partial": entity_set_ratios(set(), {"a"}, set()),
            "empty": entity_set_ratios(set(), set(), set()),
        },
        tmp_path / "radar.png",
    )
    assert_nontrivial_png(radar)
    assert_nontrivial_png(plot_euler(euler_counts(T, L, P), tmp_path / "euler.png", title="toy"))
    assert_nontrivial_png(plot_euler(euler_counts(set(), set(), set()), tmp_path / "empty.png", title="empty"))


# ---------------------------------------------------------------------------------------------------------------
# Run folders
# ---------------------------------------------------------------------------------------------------------------

TRAIN = {
    "A": [(["lung", "cancer", "and", "asthma"], ["B-Disease", "I-Disease", "O", "B-Disease"])],
    "B": [(["flu", "kills"], ["B-Disease", "O"])],
}
TEST = {
    "A": [
        {
            "tokens": ["asthma", "and", "lung", "cancer", "and", "gout"],
            "gold": ["B-Disease", "O", "B-Disease", "I-Disease", "O", "B-Disease"],
            "pred": ["B-Disease", "O", "B-Disease", "O", "O", "B-Disease"],
        },
        {"tokens": ["Flu", "rash"], "gold": ["O", "B-Disease"], "pred": ["B-Disease", "O"]},
    ],
    "B": [{"tokens": ["nothing", "here"], "gold": ["O", "O"], "pred": ["O", "O"]}],
}
# Row A, trained on A and B: T = {lung cancer, asthma, flu}; L = {asthma, lung cancer, gout, rash};
# P = {asthma, lung, gout, Flu}.
#   generalization: L\T = {gout, rash}, found {gout}          -> 1/2
#   coverage: T∩L = {asthma, lung cancer} of 4                -> 1/2
#   forgetting: {lung cancer} missed of T∩L                   -> 1/2
#   inherited errors: P\L = {lung, Flu}, in T: none           -> 0   (casefold: Flu = flu -> 1/2)
#   over-prediction: (4 - 4) / 4                              -> 0
# Row B, trained on B only: T = {flu}; L = P = {} -> every ratio undefined.
EXPECTED_A = dict(generalization=0.5, coverage=0.5, forgetting=0.5, inherited_errors=0.0, over_prediction=0.0)


def make_run(run_dir: Path) -> Path:
    (run_dir / "predictions").mkdir(parents=True)
    config = {
        "mode": "mtl-ls",
        "slicing_rate": 0.5,
        "datasets": ["A", "B"],
        "train_sets": {"A": ["A", "B"], "B": ["B"]},
        "data_dir": None,
    }
    (run_dir / "run_config.json").write_text(json.dumps(config))
    for key, records in TEST.items():
        lines = "".join(json.dumps(record) + "\n" for record in records)
        (run_dir / "predictions" / f"{key}.jsonl").write_text(lines)
    return run_dir


class CountingLoader:
    def __init__(self, data):
        self.data = data
        self.calls = []

    def __call__(self, key):
        self.calls.append(key)
        return self.data[key]


def test_analyze_run(tmp_path):
    run_dir = make_run(tmp_path / "run")
    loader = CountingLoader(TRAIN)
    result = analyze_run(run_dir, train_loader=loader)
    assert sorted(loader.calls) == ["A", "B"]  # each training set loaded once

    written = json.loads((run_dir / "analysis.json").read_text())
    assert written == json.loads(json.dumps(result))
    assert written["mode"] == "mtl-ls" and written["slicing_rate"] == 0.5
    assert written["options"] == {"casefold": False, "typed": False, "collapse_whitespace": True}
    a, b = written["datasets"]["A"], written["datasets"]["B"]
    assert a["train_sets"] == ["A", "B"]
    assert a["sizes"] == {"T": 3, "L": 4, "P": 4}
    assert a["ratios"] == pytest.approx(EXPECTED_A)
    assert a["euler"] == {"T_only": 1, "L_only": 1, "P_only": 2, "TL_only": 1, "TP_only": 0, "LP_only": 1, "TLP": 1}
    assert b["sizes"] == {"T": 1, "L": 0, "P": 0}
    assert b["ratios"] == dict.fromkeys(RATIO_NAMES)

    table = (run_dir / "analysis.md").read_text()
    assert "| A | A, B | 3 | 4 | 4 | 50.00 | 50.00 | 50.00 | 0.00 | 0.00 |" in table
    assert "| B | B | 1 | 0 | 0 | n/a | n/a | n/a | n/a | n/a |" in table
    for name in ("radar.png", "euler_A.png", "euler_B.png"):
        assert_nontrivial_png(run_dir / name)


def test_analyze_run_casefold(tmp_path):
    run_dir = make_run(tmp_path / "run")
    result = analyze_run(run_dir, casefold=True, train_loader=TRAIN.__getitem__)
    assert result["datasets"]["A"]["ratios"]["inherited_errors"] == pytest.approx(0.5)


def test_analyze_run_errors(tmp_path):
    run_dir = make_run(tmp_path / "run")
    (run_dir / "predictions" / "B.jsonl").unlink()
    with pytest.raises(FileNotFoundError, match="No predictions for B"):
        analyze_run(run_dir, train_loader=TRAIN.__getitem__)
    (run_dir / "predictions" / "B.jsonl").write_text(json.dumps({"tokens": ["a"], "gold": ["O"], "pred": []}) + "\n")
    with pytest.raises(ValueError, match="differ in length"):
        analyze_run(run_dir, train_loader=TRAIN.__getitem__)


def test_gold_only_analysis(tmp_path):
    test_sets = {key: [(r["tokens"], r["gold"]) for r in records] for key, records in TEST.items()}
    result = gold_only_analysis(["A", "B"], train_loader=TRAIN.__getitem__, test_loader=test_sets.__getitem__)
    assert not any(tmp_path.iterdir())
    # A alone: T = {lung cancer, asthma} covers 2 of L = {asthma, lung cancer, gout, rash}.
    assert result["datasets"]["A"] == {
        "train_sets": ["A"],
        "sizes": {"T": 2, "L": 4, "T_and_L": 2, "L_minus_T": 2},
        "coverage": 0.5,
    }
    assert result["datasets"]["B"]["coverage"] is None

    result = gold_only_analysis(
        ["A"],
        train_sets={"A": ["A", "B"]},
        train_loader=TRAIN.__getitem__,
        test_loader=test_sets.__getitem__,
        output_dir=tmp_path / "out",
    )
    assert result["datasets"]["A"]["sizes"]["T"] == 3
    assert json.loads((tmp_path / "out" / "gold_only.json").read_text()) == result
    assert "| A | A, B | 3 | 4 | 2 | 2 | 50.00 |" in (tmp_path / "out" / "gold_only.md").read_text()


# ---------------------------------------------------------------------------------------------------------------
# Command line: the default loader goes through data_scripts.registry, replaced here by a stand-in module
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def corpora_run(tmp_path):
    """A run folder whose run_config.json names a corpora file holding the corpora A and B."""
    corpora = write_corpora_file(tmp_path)
    run_dir = make_run(tmp_path / "run")
    config = json.loads((run_dir / "run_config.json").read_text())
    (run_dir / "run_config.json").write_text(json.dumps({**config, "corpora": str(corpora)}))
    return run_dir, corpora


def run_cli(args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "mtl_bioner.training.analysis", *args],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout


def test_cli_run_dir(tmp_path, corpora_run):
    run_dir, _ = corpora_run
    stdout = run_cli([str(run_dir)], tmp_path)
    assert "| A | A, B | 3 | 4 | 4 | 50.00 | 50.00 | 50.00 | 0.00 | 0.00 |" in stdout
    assert stdout == (run_dir / "analysis.md").read_text()
    stdout = run_cli([str(run_dir), "--casefold"], tmp_path)
    assert "| A | A, B | 3 | 4 | 4 | 50.00 | 50.00 | 50.00 | 50.00 | 0.00 |" in stdout
    assert json.loads((run_dir / "analysis.json").read_text())["options"]["casefold"] is True
    assert_nontrivial_png(run_dir / "radar.png")


def test_cli_gold_only(tmp_path, corpora_run):
    _, corpora = corpora_run
    arguments = ["--gold-only", "--corpora", str(corpora), "--rows", "A,B", "--union", "--output_dir", "out"]
    stdout = run_cli(arguments, tmp_path)
    assert "| A | A, B | 3 | 4 | 2 | 2 | 50.00 |" in stdout
    assert "| B | A, B | 3 | 0 | 0 | 0 | n/a |" in stdout
    assert (tmp_path / "out" / "gold_only.md").read_text() == stdout


def test_cli_usage_errors(capsys):
    with pytest.raises(SystemExit):
        main(["--gold-only"])
    with pytest.raises(SystemExit):
        main([])
    assert "--gold-only" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------------------------
# A run trained on a corpora file (--corpora) reads its training sentences through that file
# ---------------------------------------------------------------------------------------------------------------


def write_corpora_file(folder: Path) -> Path:
    """Corpora A and B of this file's TRAIN and TEST sentences as tagged files, named by a corpora file."""
    splits = {"train": TRAIN, "test": {key: [(r["tokens"], r["gold"]) for r in rows] for key, rows in TEST.items()}}
    for split, sentences in splits.items():
        for key, rows in sentences.items():
            blocks = ["".join(f"{token}\t{tag}\n" for token, tag in zip(tokens, tags)) for tokens, tags in rows]
            (folder / f"{key}-{split}.tsv").write_text("\n".join(blocks))
    path = folder / "corpora.yaml"
    path.write_text(
        "corpora:\n" + "".join(f"  {k}: {{files: {{train: {k}-train.tsv, test: {k}-test.tsv}}}}\n" for k in TRAIN)
    )
    return path


def test_a_corpora_file_run_is_analysed_through_its_file(corpora_run):
    run_dir, corpora = corpora_run
    result = analyze_run(run_dir)
    assert result["datasets"]["A"]["sizes"] == {"T": 3, "L": 4, "P": 4}
    assert result["datasets"]["A"]["ratios"] == pytest.approx(EXPECTED_A)
    assert result["datasets"]["B"]["sizes"] == {"T": 1, "L": 0, "P": 0}
    gold_only = gold_only_analysis(["A", "B"], corpora=str(corpora))
    assert gold_only["datasets"]["A"]["sizes"] == {"T": 2, "L": 4, "T_and_L": 2, "L_minus_T": 2}
    # Without the file the registry is asked, which knows no corpus A.
    config = json.loads((run_dir / "run_config.json").read_text())
    (run_dir / "run_config.json").write_text(json.dumps({**config, "corpora": None}))
    with pytest.raises(ValueError, match="Unknown row 'A'"):
        analyze_run(run_dir)
    with pytest.raises(SystemExit):
        main([str(run_dir), "--corpora", str(corpora)])
