"""Entity-level precision, recall and F1 as an `evaluate` metric: the scores the trainer reports, for pipelines that
compute metrics through `evaluate`. Load it offline from the installed package:

    import evaluate
    from mtl_bioner.training.metrics import ENTITY_F1_METRIC

    metric = evaluate.load(str(ENTITY_F1_METRIC))
    metric.compute(predictions=[["B-Disease", "I-Disease", "O"]], references=[["B-Disease", "I-Disease", "O"]])

It wraps `mtl_bioner.training.metrics.entity_scores` (seqeval's default and strict modes, every tagging scheme read
as IOB2), so the numbers are the trainer's to the last digit.
"""

import datasets
import evaluate

from mtl_bioner.training.metrics import entity_scores


_DESCRIPTION = __doc__
_KWARGS_DESCRIPTION = """
Args:
    predictions: one list of tag strings per sentence.
    references: the gold tags, one list per sentence, of the same lengths.
    scheme: the tagging scheme (IOB1, IOB2, BIOES, BILOU); by default BIOES when E-/S- tags occur, BILOU for L-/U-.
Returns:
    precision, recall, f1 (seqeval's default mode, conlleval-compatible) and strict_precision, strict_recall,
    strict_f1 (each entity well-formed in its scheme).
"""


class EntityF1(evaluate.Metric):
    def _info(self):
        sequence = datasets.Sequence(datasets.Value("string", id="label"), id="sequence")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"predictions": sequence, "references": sequence}),
        )

    def _compute(self, predictions, references, scheme=None):
        return entity_scores(references, predictions, scheme=scheme)
