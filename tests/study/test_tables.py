"""The tables of a sweep: mean ± sd over seeds, best rates, paper values, the summary over sweeps."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import study_helpers
from study_helpers import TASKS, fake_run, write_corpora_file

from mtl_bioner.study import plan as sweep_plan
from mtl_bioner.study import sweep
from mtl_bioner.study.aggregate import write_sentence_counts
from mtl_bioner.study.paper import PAPER_TABLE1, PAPER_TABLE2
from mtl_bioner.study.tables import write_tables
from mtl_bioner.vocabulary import sentence_counts_path


def test_tables_give_mean_sd_over_seeds_best_rates_and_paper_values(tmp_path, fake_runner):
    out = tmp_path / "sweep"
    sweep.main(["--datasets", ",".join(TASKS), "--rates", "0.5,1.0", "--seeds", "2", "--output_dir", str(out)])
    document = json.loads((out / "results.json").read_text())
    row = document["rows"]["NCBI-disease"]  # index 1 in the runs' dataset list: +0.001, except STL (alone)
    ls = row["methods"]["MTL-LS 0.50"]
    assert ls["seeds"] == [0, 1]
    assert ls["f1"]["mean"] == pytest.approx(0.83 + 0.005 + 0.001)
    assert ls["f1"]["sd"] == pytest.approx(0.01 / np.sqrt(2))
    assert row["methods"]["STL"]["f1"]["mean"] == pytest.approx(0.805)
    # Test F1 picks 0.50; validation F1 (1 - F1 in the stand-in) picks 1.00, whose test F1 is reported.
    assert row["best_rate"]["test"] == 0.5 and row["best_rate"]["validation"] == 1.0
    assert row["best_rate"]["test_f1_at_validation_rate"]["mean"] == pytest.approx(0.796)
    assert row["paper"]["table2"] == PAPER_TABLE2["NCBI-disease"]
    table2 = (out / "table2.md").read_text()
    assert "Protocol: the paper's protocol" in table2 and "2 seeds (42, 43)" in table2
    assert "| Disease | BC5CDR | 80.50 ± 0.71 (86.44) | 78.50 ± 0.71 (86.87) | **83.50 ± 0.71** (87.04) |" in table2
    assert "| 0.50 | 1.00 → 79.60 ± 0.71 |" in table2
    table1 = (out / "table1.md").read_text()
    assert "| Disease | BC5CDR | 80.50 ± 0.71 (84.83) | 80.50 ± 0.71 (88.11) | **80.50 ± 0.71** (86.44) |" in table1
    assert "Updates seen per model, as the runs report them: STL n/a; MTL-XC n/a." in table1
    # Table 1's own question, MTL-XC against STL, with the same tests and its own Holm family.
    (line,) = [line for line in table1.splitlines() if line.startswith("| BC5CDR (BC5CDR-disease) | -2.00 | [")]
    xc_vs_stl = [r["mtl_xc_vs_stl"] for r in document["rows"].values()]
    assert all(c["against"] == "STL" and c["seeds_test"]["n_seeds"] == 2 for c in xc_vs_stl)
    assert all(c["bootstrap"]["p_holm"] >= c["bootstrap"]["p_value"] for c in xc_vs_stl)
    bc5cdr_xc = document["rows"]["BC5CDR-disease"]["mtl_xc_vs_stl"]
    assert line.endswith(
        f"| {bc5cdr_xc['bootstrap']['p_holm']:.4f} | {bc5cdr_xc['sentences']['p_value']:.4f} | 0.5000 |"
    )
    assert (out / "f1_vs_slicing_rate_disease.png").stat().st_size > 10_000
    # Significance of the validation-chosen rate (1.00) against STL: the F1 difference is the same in both seeds,
    # so over seeds only the all-plus and all-minus sign patterns are as extreme: p = 2 / 4.
    comparisons = {c["against"]: c for c in row["significance"]["comparisons"]}
    assert row["significance"]["chosen_on"] == "validation" and set(comparisons) == {"STL", "MTL-XC"}
    assert comparisons["STL"]["seeds_test"]["p_value"] == pytest.approx(0.5)
    prefix = "| NCBI-disease (NCBI-disease) | 1.00 (validation) | STL | -0.90 | ["
    (line,) = [line for line in table2.splitlines() if line.startswith(prefix)]
    assert line.endswith("| 0.5000 | 0.5000 |")  # the secondary tests: over sentences, over seeds
    bootstrap = comparisons["STL"]["bootstrap"]  # from the predictions files, which the stand-in writes apart
    assert bootstrap["ci_low"] <= bootstrap["delta_f1"] <= bootstrap["ci_high"] and bootstrap["seeds"] == 2
    tested = [c["bootstrap"] for r in document["rows"].values() for c in r["significance"]["comparisons"]]
    assert len(tested) == 4 and all(result["p_holm"] >= result["p_value"] for result in tested)
    # Over sentences, BC5CDR (compared with its own STL run): MTL-LS 1.00 gets the first 4 then 5 of 10 one-entity
    # sentences right, STL 5 then 6. Pooled over seeds, sentences 4 and 5 hold one more true positive for STL, the
    # other 8 agree: F1 18/29 vs 22/31. Swapping sentence 4 or 5 alone ties (20/30 each); swapping both reverses
    # the difference: 2 of 4 patterns (x 2**8 identical ones) are as extreme.
    bc5cdr = {c["against"]: c for c in document["rows"]["BC5CDR-disease"]["significance"]["comparisons"]}
    assert bc5cdr["STL"]["sentences"]["delta_f1"] == pytest.approx(18 / 29 - 22 / 31)
    assert (bc5cdr["STL"]["sentences"]["p_value"], bc5cdr["STL"]["sentences"]["samples"]) == (0.5, 1024)


def test_missing_validation_scores_fall_back_to_the_test_choice(tmp_path, fake_runner):
    out = tmp_path / "sweep"
    arguments = ["--datasets", "NCBI-disease", "--rates", "0.5,1.0", "--output_dir", str(out)]
    for run in sweep_plan.plan_sweep(*sweep.parse_arguments(arguments)):
        document = fake_run(list(run.argv))
        for row in document["rows"].values():
            for result in row["results"].values():
                del result["validation"]
        (Path(run.folder) / "results.json").write_text(json.dumps(document))
    sweep.main(arguments)
    row = json.loads((out / "results.json").read_text())["rows"]["NCBI-disease"]
    assert row["best_rate"] == {"test": 0.5, "validation": None, "test_f1_at_validation_rate": None}
    assert row["significance"]["chosen_on"] == "test" and row["significance"]["rate"] == 0.5
    assert all(c["seeds_test"] is None for c in row["significance"]["comparisons"])  # one seed: no test over seeds
    assert "n/a (no validation scores)" in (out / "table2.md").read_text()
    # A run without test predictions: the sentence-level test says so instead of vanishing.
    (out / "seed-0" / "stl" / "NCBI-disease" / "predictions" / "NCBI-disease.jsonl").unlink()
    row = write_tables(out)["rows"]["NCBI-disease"]
    stl = next(c for c in row["significance"]["comparisons"] if c["against"] == "STL")
    assert stl["sentences"] is None and stl["missing_predictions"][0].endswith("NCBI-disease.jsonl")
    assert stl["missing_seeds"] == [42]
    assert "| STL | +3.00 | n/a (seed 42: no predictions) | n/a |" in (out / "table2.md").read_text()


def test_runs_off_the_update_budget_are_flagged_and_tied_bests_all_bold(tmp_path, fake_runner, monkeypatch):
    # This stand-in reports only its own updates, forgetting the MTL-XC part MTL-LS started from.
    monkeypatch.setattr(study_helpers, "SCORES", dict.fromkeys(study_helpers.SCORES, 0.8))
    out = tmp_path / "sweep"
    sweep.main(
        ["--datasets", "NCBI-disease", "--rates", "1", "--output_dir", str(out), "--equal_compute", "--updates", "6"]
    )
    document = json.loads((out / "results.json").read_text())
    assert document["off_budget_runs"] == ["seed-0/mtl-ls-1.00 (NCBI-disease: 3 updates, planned 6)"]
    table2 = (out / "table2.md").read_text()
    assert "Warning, runs off the planned update budget: seed-0/mtl-ls-1.00" in table2
    assert "| Disease | NCBI-disease | **80.00** (88.26) | **80.00** (88.75) | **80.00** (88.97) |" in table2
    assert (
        "MTL-XC start" not in table2 and "Updates seen per model, as the runs report them: STL 6; MTL-XC 6;" in table2
    )


def comparison(against, delta_f1, p_value, seeds=(0, 1, 2)):
    sentences = None if p_value is None else {"p_value": p_value}
    return {"against": against, "delta_f1": delta_f1, "sentences": sentences, "seeds": list(seeds)}


def test_the_summary_counts_wins_and_significant_wins_per_protocol():
    from mtl_bioner.study.tables import summary_markdown

    def row(rate, *comparisons):
        significance = {"rate": rate, "chosen_on": "validation", "comparisons": list(comparisons)} if rate else {}
        return {"group": "disease", "significance": significance}

    equal = {
        "protocol": {"equal_compute": True, "updates": 300},
        "rows": {
            "NCBI-disease": row(1.0, comparison("STL", -0.03, 0.001), comparison("MTL-XC", 0.01, 0.2)),
            "BC5CDR-disease": row(0.5, comparison("STL", -0.02, 0.05), comparison("MTL-XC", 0.02, 0.01)),
        },
    }
    paper = {
        "protocol": {"equal_compute": False},
        "rows": {
            "NCBI-disease": row(
                1.0, comparison("STL", 0.004, 0.03, [0]), comparison("MTL-XC continued", -0.001, None, [0])
            ),
            "BC5CDR-disease": row(None),  # no MTL-LS run finished: no line, nothing counted
        },
    }
    lines = summary_markdown([equal, paper]).splitlines()
    # Paper rows in the paper's order (BC5CDR-disease first), a dash where a comparison was not made.
    assert (
        lines[2]
        == "| equal compute (300 updates) | BC5CDR-disease | 3 | 0.50 (validation) | -2.00 (p 0.0500) | +2.00 (p 0.0100) | – |"
    )
    assert (
        lines[3]
        == "| equal compute (300 updates) | NCBI-disease | 3 | 1.00 (validation) | -3.00 (p 0.0010) | +1.00 (p 0.2000) | – |"
    )
    assert lines[4] == "| the paper's protocol | NCBI-disease | 1 | 1.00 (validation) | +0.40 (p 0.0300) | – | -0.10 |"
    assert len([line for line in lines if line.startswith("| ")]) == 4  # the header and three datasets
    # p = 0.05 is not below the level; a comparison without predictions counts as behind, never as significant.
    assert (
        "- equal compute (300 updates): MTL-LS is ahead of STL on 0 of 2 datasets (0 with p < 0.05), behind on 2 (1); "
        "ahead of MTL-XC on 2 of 2 datasets (1 with p < 0.05), behind on 0 (0)." in lines
    )
    assert (
        "- the paper's protocol: MTL-LS is ahead of STL on 1 of 1 datasets (1 with p < 0.05), behind on 0 (0); "
        "ahead of MTL-XC continued on 0 of 1 datasets (0 with p < 0.05), behind on 1 (0)." in lines
    )


def test_the_tables_command_rewrites_each_folder_or_summarises_their_results(tmp_path, fake_runner):
    from mtl_bioner.study.tables import main

    folders = []
    for extra in ([], ["--equal_compute", "--updates", "8"]):
        folders.append(tmp_path / ("equal" if extra else "paper"))
        sweep.main(["--datasets", ",".join(TASKS), "--rates", "0.5,1.0", "--output_dir", str(folders[-1]), *extra])
        (folders[-1] / "table2.md").unlink()
    main(list(map(str, folders)))
    assert all((folder / "table2.md").is_file() for folder in folders)
    # The summary needs only results.json: what a published copy of a sweep keeps, without runs or predictions.
    for folder in folders:
        for run in [path for path in folder.iterdir() if path.is_dir()]:
            shutil.rmtree(run)
    main(["--summary", str(tmp_path / "summary.md"), *map(str, folders)])
    summary = (tmp_path / "summary.md").read_text()
    for protocol in ("the paper's protocol", "equal compute (8 updates)"):
        assert all(f"| {protocol} | {task} | " in summary for task in TASKS)
        assert f"- {protocol}: MTL-LS is ahead of STL on " in summary


def test_paper_values_are_transcribed_for_every_row():
    from data_scripts.registry import ROWS

    assert set(PAPER_TABLE1) == set(PAPER_TABLE2) == {row.key for row in ROWS}
    assert PAPER_TABLE1["BioNLP13GE"]["MTL-XC"] == (77.62, 90.55, 83.59)
    assert PAPER_TABLE2["BC4CHEMD"]["MTL-LS 1.00"] == 92.47
    assert all(PAPER_TABLE1[key]["STL"][2] == PAPER_TABLE2[key]["STL"] for key in PAPER_TABLE1)


def test_tables_of_a_corpora_file_sweep_list_paper_rows_then_the_corpora(tmp_path, corpora_runner):
    corpora = write_corpora_file(tmp_path)
    out = tmp_path / "sweep"
    arguments = ["--corpora", str(corpora), "--group", "my-group", "--rates", "0.5", "--output_dir", str(out)]
    assert sweep.main(arguments) == 0
    assert len(corpora_runner) == 5 and all(
        call[call.index("--corpora") + 1] == str(corpora) for call in corpora_runner
    )
    document = json.loads((out / "results.json").read_text())
    assert list(document["rows"]) == ["your-notes", "NCBI-disease", "my-notes"]  # sweep order
    mine = document["rows"]["my-notes"]
    assert (mine["group"], mine["dataset"], mine["paper"]) == (
        "my-group",
        "my-notes",
        {"table1": None, "table2": None},
    )
    assert document["rows"]["NCBI-disease"]["group"] == "disease"
    assert document["protocol"]["corpora"] == str(corpora)
    # Paper row first (with the paper's values), then the corpora in the sweep's order (your-notes before my-notes).
    # MTL-XC and MTL-LS train all three: your-notes, NCBI-disease, my-notes get +0.000, +0.001, +0.002.
    table2 = (out / "table2.md").read_text()
    lines = [line for line in table2.splitlines() if "-notes |" in line or "| Disease |" in line]
    assert lines == [
        "| Disease | NCBI-disease | 80.00 (88.26) | 78.10 (88.75) | **83.10** (86.79) | 0.50 | 0.50 → 83.10 |",
        "| my-group | your-notes | 80.00 | 78.00 | **83.00** | 0.50 | 0.50 → 83.00 |",
        "|  | my-notes | 80.00 | 78.20 | **83.20** | 0.50 | 0.50 → 83.20 |",
    ]
    assert f"corpora file: `{corpora}`" in table2
    assert (
        "| my-group | your-notes | 80.00 | 80.00 | **80.00** | 78.00 | 78.00 | 78.00 |"
        in (out / "table1.md").read_text()
    )
    assert (out / "f1_vs_slicing_rate_my-group.png").is_file() and (out / "f1_vs_slicing_rate_disease.png").is_file()
    # The corpora file is one of the sweep's arguments: the same corpora under another path is another sweep.
    copy = tmp_path / "copy.yaml"
    copy.write_text(corpora.read_text())
    with pytest.raises(sweep.SweepMismatchError, match=r"corpora: was .*corpora\.yaml', now .*copy\.yaml'"):
        sweep.main(["--corpora", str(copy), *arguments[2:]])
    # Corpora swept by --datasets belong to no group the sweep names: they go under "other".
    other = tmp_path / "other"
    sweep.main(
        ["--corpora", str(corpora), "--datasets", "my-notes,NCBI-disease", "--rates", "1", "--output_dir", str(other)]
    )
    rows = json.loads((other / "results.json").read_text())["rows"]
    assert (rows["my-notes"]["group"], rows["NCBI-disease"]["group"]) == ("other", "disease")
    table2 = (other / "table2.md").read_text()
    assert table2.index("| Disease | NCBI-disease | **80.00** (88.26) |") < table2.index(
        "| other | my-notes | **80.00** |"
    )


def test_published_sentence_counts_stand_in_for_predictions_and_bad_ones_are_named(tmp_path, fake_runner):
    """Seed 0 as a published folder holds it (sentence counts, no predictions) beside seed 1's predictions: the same
    tables; a counts file of other sentences or with a wrong field is refused, naming the file."""
    out = tmp_path / "sweep"
    sweep.main(["--datasets", ",".join(TASKS), "--rates", "0.5", "--seeds", "2", "--output_dir", str(out)])
    before = json.loads((out / "results.json").read_text())
    for predictions in sorted(out.glob("seed-0/**/predictions/*.jsonl")):
        write_sentence_counts(predictions, sentence_counts_path(predictions.parent.parent, predictions.stem))
        predictions.unlink()
    assert not list(out.glob("seed-0/**/predictions/*.jsonl"))
    assert json.loads(json.dumps(write_tables(out)["rows"])) == before["rows"]
    counts_file = sentence_counts_path(out / "seed-0" / "stl" / "NCBI-disease", "NCBI-disease")
    document = json.loads(counts_file.read_text())
    counts_file.write_text(json.dumps({**document, "test_sentences_sha256": "0" * 64}))
    with pytest.raises(ValueError, match="the NCBI-disease test sentences differ from seed 0's"):
        write_tables(out)
    for bad, message in (
        ({**document, "counts": [[2, 1, 1]]}, "'counts' row 0 has more true positives"),
        ({**document, "counts": [[1, 1]]}, "'counts' must be a list"),
        ({**document, "columns": ["tp"]}, "expected 'columns'"),
        ({**document, "test_sentences_sha256": None}, "'test_sentences_sha256' must be"),
    ):
        counts_file.write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=message) as error:
            write_tables(out)
        assert str(counts_file) in str(error.value)
    # A seed restored from before sentence counts were published: the tests over sentences name it and wait; the
    # mean over seeds and the test over seeds stay.
    counts_file.unlink()
    row = write_tables(out)["rows"]["NCBI-disease"]
    stl = next(c for c in row["significance"]["comparisons"] if c["against"] == "STL")
    assert stl["missing_seeds"] == [42] and stl["bootstrap"] is None and stl["seeds_test"] is not None
    assert stl["delta_f1"] == before["rows"]["NCBI-disease"]["significance"]["comparisons"][0]["delta_f1"]
    assert (
        "| STL | +3.10 | n/a (seed 42: no predictions) | n/a | n/a | n/a | 0.5000 |" in (out / "table2.md").read_text()
    )
