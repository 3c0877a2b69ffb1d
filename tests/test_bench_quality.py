"""benchmarks/bench_quality.py: the feature CRF's features, and reading scores and training times from run folders."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from utils import ROOT


_spec = importlib.util.spec_from_file_location("bench_quality", ROOT / "benchmarks" / "bench_quality.py")
bench_quality = importlib.util.module_from_spec(_spec)
sys.modules["bench_quality"] = bench_quality  # dataclasses look their module up there
_spec.loader.exec_module(bench_quality)

DATASETS = ["NCBI-disease", "BC5CDR-disease"]


@pytest.mark.parametrize(
    "word, shape",
    [("IL-2", "X-d"), ("Smith", "Xx"), ("BRCA1", "Xd"), ("ataxia", "x"), ("1998", "d"), ("p53-/-", "xd-/-")],
)
def test_word_shape_collapses_runs_of_one_character_class(word, shape):
    assert bench_quality.word_shape(word) == shape


def test_sentence_features_describe_each_word_and_two_neighbours_on_each_side():
    words = ["Familial", "BRCA1", "-", "linked", "cancer"]
    features = bench_quality.sentence_features(words)
    assert len(features) == len(words)
    first, middle, last = features[0], features[2], features[4]
    assert first["BOS"] and "EOS" not in first and last["EOS"] and "BOS" not in last
    assert "-1:lower" not in first and first["+2:lower"] == "-" and "+3:lower" not in first
    assert [middle[f"{offset}:lower"] for offset in ("-2", "-1", "+1", "+2")] == [
        "familial",
        "brca1",
        "linked",
        "cancer",
    ]
    assert middle["lower"] == "-" and middle["has_hyphen"] and not middle["has_digit"]
    assert features[1]["-1:is_title"] and features[1]["is_upper"] and features[1]["has_digit"]
    assert features[1]["shape"] == "Xd" and features[1]["prefix4"] == "BRCA" and features[1]["suffix2"] == "A1"
    assert first["suffix4"] == "lial" and first["prefix1"] == "F" and first["+1:suffix1"] == "1"
    assert not any(features[3][name] for name in ("is_upper", "is_title", "is_digit", "has_hyphen", "has_digit"))


def _write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))


def _scores(method: str, f1: float) -> dict:
    return {"rows": {name: {"results": {method: {"precision": 0.5, "recall": f1, "f1": f1}}} for name in DATASETS}}


def _state(runtime: float | None) -> dict:
    history = [{"loss": 3.0, "step": 4}] + ([{"train_runtime": runtime, "step": 4}] if runtime is not None else [])
    return {"global_step": 4, "log_history": history}


@pytest.fixture
def run_dir(tmp_path) -> Path:
    """What `make demo` leaves, in small: three run folders, each with results, run config, states and exports."""
    runs = {"stl": ("STL", 0.6), "mtl-xc": ("MTL-XC", 0.7), "mtl-ls-0.5": ("MTL-LS 0.50", 0.8)}
    for folder, (method, f1) in runs.items():
        _write_json(tmp_path / folder / "results.json", _scores(method, f1))
        # As written when training ran from the repository root: relative to that folder, not to the benchmark's.
        source = "runs/demo/mtl-xc" if folder.startswith("mtl-ls") else None
        config = {"mode": folder[:6], "datasets": DATASETS, "mtl_xc_checkpoint": source}
        _write_json(tmp_path / folder / "run_config.json", {**config, "slicing_rate": 0.5 if source else None})
        for name in DATASETS:
            _write_json(tmp_path / folder / "export" / name / "config.json", {"model_type": "encoder-crf"})
    _write_json(tmp_path / "stl" / "NCBI-disease" / "trainer_state.json", _state(100.0))
    _write_json(tmp_path / "stl" / "BC5CDR-disease" / "trainer_state.json", _state(80.0))
    _write_json(tmp_path / "stl" / "BC5CDR-disease" / "restart-1" / "trainer_state.json", _state(20.0))
    _write_json(tmp_path / "mtl-xc" / "trainer_state.json", _state(150.0))
    _write_json(tmp_path / "mtl-ls-0.5" / "trainer_state.json", _state(60.0))
    # A checkpoint's state is saved before Trainer logs train_runtime: it must not be mistaken for the run's.
    _write_json(tmp_path / "mtl-ls-0.5" / "checkpoint-4" / "trainer_state.json", _state(None))
    return tmp_path


def test_encoder_rows_read_scores_training_times_and_the_run_an_mtl_ls_run_continues(run_dir):
    rows = bench_quality.encoder_rows(run_dir, DATASETS)
    found = {(row.dataset, row.method): (row, export) for row, export in rows}
    assert [(row.method, row.dataset) for row, _ in rows] == [
        (method, name) for method in ("STL", "MTL-XC", "MTL-LS 0.50") for name in DATASETS
    ]
    stl, export = found["NCBI-disease", "STL"]
    assert export == run_dir / "stl" / "export" / "NCBI-disease"
    assert (stl.precision, stl.recall, stl.f1, stl.train_seconds, stl.shared) == (0.5, 0.6, 0.6, 100.0, False)
    assert found["BC5CDR-disease", "STL"][0].train_seconds == 100.0  # 80 s plus its 20 s restart
    xc = found["BC5CDR-disease", "MTL-XC"][0]
    assert (xc.f1, xc.train_seconds, xc.shared, xc.continues) == (0.7, 150.0, True, None)
    ls = found["NCBI-disease", "MTL-LS 0.50"][0]
    assert (ls.f1, ls.train_seconds, ls.continues, ls.prior_seconds) == (0.8, 60.0, "mtl-xc", 150.0)
    assert [bench_quality.format_seconds(row) for row in (stl, xc, ls)] == [
        "100.0 s",
        "150.0 s, shared",
        "60.0 s + 150.0 s in mtl-xc = 210.0 s",
    ]


def test_a_run_without_a_recorded_train_runtime_says_so(run_dir):
    (run_dir / "mtl-xc" / "trainer_state.json").unlink()
    _write_json(run_dir / "mtl-ls-0.5" / "trainer_state.json", _state(None))
    found = {(row.dataset, row.method): row for row, _ in bench_quality.encoder_rows(run_dir, DATASETS)}
    assert bench_quality.format_seconds(found["NCBI-disease", "MTL-XC"]) == "not recorded, shared"
    assert (
        bench_quality.format_seconds(found["NCBI-disease", "MTL-LS 0.50"]) == "not recorded + not recorded in mtl-xc"
    )


def test_the_report_table_prints_percent_and_bolds_the_best_f1_of_each_dataset(run_dir):
    rows = [row for row, _ in bench_quality.encoder_rows(run_dir, DATASETS)]
    rows.append(bench_quality.Row("NCBI-disease", "feature CRF", 0.83, 0.76, 0.793, 12.5, words_per_second=18546.2))
    table = bench_quality.report_table(rows)
    assert table[0].startswith("| dataset | method | P | R | F1 |") and len(table) == 2 + len(rows)
    assert "| NCBI-disease | MTL-LS 0.50 | 50.0 | 80.0 | **80.0** |" in table[6]
    assert "| NCBI-disease | STL | 50.0 | 60.0 | 60.0 | 100.0 s | – |" == table[2]
    assert table[-1] == "| NCBI-disease | feature CRF | 83.0 | 76.0 | 79.3 | 12.5 s | 18,546 |"


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda run: _write_json(run / "stl" / "results.json", {"rows": {}}), r"results\.json: no row 'NCBI-disease'"),
        (
            lambda run: _write_json(
                run / "mtl-xc" / "results.json",
                {"rows": {name: {"results": {"MTL-XC": {}, "MTL-XC continued": {}}} for name in DATASETS}},
            ),
            r"mtl-xc/results\.json: row 'NCBI-disease' has methods \['MTL-XC', 'MTL-XC continued'\]",
        ),
        (
            lambda run: (run / "mtl-xc" / "export" / "BC5CDR-disease" / "config.json").unlink(),
            "no exported checkpoint",
        ),
        (lambda run: (run / "mtl-ls-0.5" / "run_config.json").write_text("{"), r"run_config\.json:1: not valid JSON"),
        (lambda run: (run / "stl" / "results.json").unlink(), r"stl/results\.json is missing"),
    ],
)
def test_a_damaged_run_folder_is_named(run_dir, damage, message):
    damage(run_dir)
    with pytest.raises((KeyError, ValueError, FileNotFoundError), match=message):
        bench_quality.encoder_rows(run_dir, DATASETS)


def test_a_folder_without_run_folders_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="holds no run folder"):
        bench_quality.encoder_rows(tmp_path, DATASETS)


def test_the_feature_crf_learns_the_fixture_corpus(fixture_corpora):
    pytest.importorskip("sklearn_crfsuite", reason="sklearn-crfsuite is the optional `bench` extra")
    from data_scripts.registry import load_row

    corpus = load_row("NCBI-disease", fixture_corpora, splits=["train", "test"])
    words, tags = bench_quality.labelled_split(corpus, "test")
    assert words[0][-1] == "." and set(tag for sentence in tags for tag in sentence) == {"O", "B-Disease", "I-Disease"}
    row = bench_quality.crf_row("NCBI-disease", corpus, words, rounds=1)
    assert (row.dataset, row.method) == ("NCBI-disease", "feature CRF")
    assert row.f1 > 0.9 and row.words_per_second > 0
