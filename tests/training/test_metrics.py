"""entity_scores: seqeval's default (conlleval) mode against strict IOB2, on cases counted by hand."""

import pytest

from mtl_bioner.training.metrics import entity_scores


def test_an_entity_starting_with_i_counts_in_default_mode_only():
    scores = entity_scores([["B-Disease", "I-Disease", "O"]], [["I-Disease", "I-Disease", "O"]])
    # conlleval reads I- after O as the start of a chunk: the prediction is the gold entity.
    assert (scores["precision"], scores["recall"], scores["f1"]) == (1.0, 1.0, 1.0)
    # Strict IOB2 has no entity without B-: nothing is predicted, nothing found.
    assert (scores["strict_precision"], scores["strict_recall"], scores["strict_f1"]) == (0.0, 0.0, 0.0)


def test_micro_average_over_sentences():
    gold = [["B-Disease", "O", "B-Chemical", "I-Chemical"], ["O", "B-Disease"]]
    predicted = [["B-Disease", "O", "B-Chemical", "O"], ["O", "B-Disease"]]
    # Gold: Disease(0), Chemical(2-3), Disease(1:1). Predicted: Disease(0), Chemical(2), Disease(1:1): 2 of 3 right.
    scores = entity_scores(gold, predicted)
    for prefix in ("", "strict_"):
        assert scores[f"{prefix}precision"] == pytest.approx(2 / 3)
        assert scores[f"{prefix}recall"] == pytest.approx(2 / 3)
        assert scores[f"{prefix}f1"] == pytest.approx(2 / 3)


def test_a_type_change_inside_a_chunk_splits_it():
    # B-Disease then I-Chemical is two chunks, Disease(0) and Chemical(1), neither of them the gold Disease(0-1):
    # 1 of 3 predicted chunks is right (Chemical(3)), 1 of 2 gold ones found.
    scores = entity_scores(
        [["B-Disease", "I-Disease", "O", "B-Chemical"]], [["B-Disease", "I-Chemical", "O", "B-Chemical"]]
    )
    assert scores["precision"] == pytest.approx(1 / 3) and scores["recall"] == pytest.approx(1 / 2)
    assert scores["f1"] == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))


def test_no_predicted_entity_scores_zero_as_conlleval_does():
    scores = entity_scores([["B-Disease", "O"]], [["O", "O"]])
    assert all(value == 0.0 for value in scores.values())
    assert set(scores) == {
        f"{prefix}{metric}" for prefix in ("", "strict_") for metric in ("precision", "recall", "f1")
    }


def test_mismatched_inputs_are_named():
    with pytest.raises(ValueError, match="2 gold sentences but 1 predicted ones"):
        entity_scores([["O"], ["O"]], [["O"]])
    with pytest.raises(ValueError, match="sentence 1: 2 gold tags but 1 predicted tags"):
        entity_scores([["O"], ["O", "O"]], [["O"], ["O"]])


def test_the_evaluate_metric_module_gives_the_trainers_scores():
    evaluate = pytest.importorskip("evaluate")
    from mtl_bioner.training.metrics import ENTITY_F1_METRIC

    gold = [["B-Disease", "I-Disease", "O", "B-Disease"], ["O", "B-Chemical"]]
    predicted = [["B-Disease", "I-Disease", "O", "O"], ["I-Chemical", "B-Chemical"]]
    metric = evaluate.load(str(ENTITY_F1_METRIC))
    assert metric.compute(predictions=predicted, references=gold) == entity_scores(gold, predicted)
    for gold_sentence, predicted_sentence in zip(gold, predicted):  # batches add up to the same scores
        metric.add(prediction=predicted_sentence, reference=gold_sentence)
    assert metric.compute() == entity_scores(gold, predicted)
