"""The CRF against brute-force enumeration, pytorch-crf, and its own contracts."""

import itertools
import math
import warnings

import pytest
import torch

from modeling_xlnet_crf import ConditionalRandomField, allowed_transitions


def random_mask(generator, batch, length):
    """Rows that are right-padded, left-padded, holey, empty and full, in turn."""
    mask = torch.zeros(batch, length, dtype=torch.bool)
    for row in range(batch):
        kind = row % 5
        n = int(torch.randint(1, length + 1, (1,), generator=generator))
        if kind == 0:
            mask[row, :n] = True
        elif kind == 1:
            mask[row, length - n :] = True
        elif kind == 2:
            mask[row] = torch.rand(length, generator=generator) < 0.6
        elif kind == 4:
            mask[row] = True
    return mask


def make_crf(num_tags, generator, constraints=None):
    crf = ConditionalRandomField(num_tags, constraints)
    with torch.no_grad():
        for parameter in crf.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator))
    return crf


def enumerate_paths(crf, emissions, mask):
    """All (path, score) pairs of each row, in float64, by brute force over the unmasked positions."""
    start, transitions, end = (x.double() for x in crf._scores())
    rows = []
    for row in range(emissions.shape[0]):
        positions = mask[row].nonzero().flatten().tolist()
        paths = []
        for tags in itertools.product(range(crf.num_tags), repeat=len(positions)):
            if not positions:
                paths.append(((), 0.0))
                continue
            score = start[tags[0]] + end[tags[-1]]
            score = score + sum(emissions[row, p, k].double() for p, k in zip(positions, tags))
            score = score + sum(transitions[a, b] for a, b in zip(tags, tags[1:]))
            paths.append((tags, float(score.detach())))
        rows.append((positions, paths))
    return rows


def logsumexp(values):
    top = max(values)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


CASES = [(seed, num_tags) for seed in range(6) for num_tags in (1, 2, 3)]


@pytest.mark.parametrize("seed,num_tags", CASES)
@pytest.mark.parametrize("constraint", [None, "BIO"])
def test_nll_marginals_and_viterbi_equal_brute_force(seed, num_tags, constraint):
    generator = torch.Generator().manual_seed(seed)
    constraints = None
    if constraint and num_tags == 3:
        constraints = allowed_transitions("BIO", {0: "O", 1: "B-A", 2: "I-A"})
    crf = make_crf(num_tags, generator, constraints)
    batch, length = 10, 5
    emissions = torch.randn(batch, length, num_tags, generator=generator) * 2
    mask = random_mask(generator, batch, length)
    enumerated = enumerate_paths(crf, emissions, mask)
    # Gold tags: the best path (always legal), -100 at masked positions.
    tags = torch.full((batch, length), -100, dtype=torch.long)
    for row, (positions, paths) in enumerate(enumerated):
        best = max(paths, key=lambda item: item[1])[0]
        tags[row, positions] = torch.tensor(best, dtype=torch.long)

    nll = crf(emissions, tags, mask, reduction="none")
    marginals = crf.marginals(emissions, mask)
    decoded = crf.decode(emissions, mask)
    nbest_paths, nbest_scores = crf.decode(emissions, mask, nbest=4)
    for row, (positions, paths) in enumerate(enumerated):
        log_z = logsumexp([score for _, score in paths])
        gold = dict(paths)[tuple(tags[row, positions].tolist())]
        assert nll[row].item() == pytest.approx(log_z - gold, rel=1e-5, abs=1e-4)
        expected = torch.zeros(length, num_tags, dtype=torch.float64)
        for path, score in paths:
            for position, tag in zip(positions, path):
                expected[position, tag] += math.exp(score - log_z)
        torch.testing.assert_close(marginals[row].double(), expected, atol=1e-5, rtol=1e-4)
        ranked = sorted(paths, key=lambda item: -item[1])
        assert decoded[row, positions].tolist() == list(ranked[0][0])
        assert (decoded[row][~mask[row]] == -100).all()
        for rank in range(4):
            if rank < len(ranked) and ranked[rank][1] > -math.inf:
                assert nbest_paths[rank, row, positions].tolist() == list(ranked[rank][0])
                assert nbest_scores[rank, row].item() == pytest.approx(ranked[rank][1], rel=1e-5, abs=1e-4)
            else:
                assert nbest_scores[rank, row].item() == -math.inf
                assert (nbest_paths[rank, row] == -100).all()


def test_gradients_equal_brute_force():
    generator = torch.Generator().manual_seed(7)
    crf = make_crf(3, generator)
    batch, length = 8, 4
    emissions = (torch.randn(batch, length, 3, generator=generator) * 2).requires_grad_(True)
    mask = random_mask(generator, batch, length)
    tags = torch.randint(0, 3, (batch, length), generator=generator).masked_fill(~mask, -100)
    crf(emissions, tags, mask, reduction="sum").backward()

    reference = ConditionalRandomField(3)
    reference.load_state_dict(crf.state_dict())
    reference.double()
    em64 = emissions.detach().double().requires_grad_(True)
    total = 0.0
    for row in range(batch):
        positions = mask[row].nonzero().flatten().tolist()
        if not positions:
            continue

        def score(path):
            value = reference.start_transitions[path[0]] + reference.end_transitions[path[-1]]
            value = value + sum(em64[row, p, k] for p, k in zip(positions, path))
            return value + sum(reference.transitions[a, b] for a, b in zip(path, path[1:]))

        all_scores = torch.stack([score(path) for path in itertools.product(range(3), repeat=len(positions))])
        total = total + torch.logsumexp(all_scores, 0) - score(tags[row, positions].tolist())
    total.backward()
    torch.testing.assert_close(emissions.grad.double(), em64.grad, atol=1e-5, rtol=1e-4)
    for name in ("start_transitions", "end_transitions", "transitions"):
        torch.testing.assert_close(
            getattr(crf, name).grad.double(), getattr(reference, name).grad, atol=1e-5, rtol=1e-4
        )


def test_finite_differences_in_float32():
    generator = torch.Generator().manual_seed(3)
    crf = make_crf(4, generator)
    emissions = torch.randn(3, 6, 4, generator=generator)
    mask = random_mask(generator, 3, 6)
    mask[0] = True
    tags = torch.randint(0, 4, (3, 6), generator=generator)
    leaf = emissions.clone().requires_grad_(True)
    crf(leaf, tags, mask, reduction="sum").backward()
    step = 1e-2
    for index in [(0, 0, 1), (0, 5, 3), (2, 3, 2)]:
        plus, minus = emissions.clone(), emissions.clone()
        plus[index] += step
        minus[index] -= step
        with torch.no_grad():
            numeric = (crf(plus, tags, mask, "sum") - crf(minus, tags, mask, "sum")) / (2 * step)
        assert leaf.grad[index].item() == pytest.approx(numeric.item(), abs=2e-3)


@pytest.mark.parametrize("ragged", [False, True])
def test_equals_pytorch_crf_on_right_padding(ragged):
    torchcrf = pytest.importorskip("torchcrf")
    generator = torch.Generator().manual_seed(11)
    batch, length, num_tags = 16, 40, 9
    ours = make_crf(num_tags, generator)
    theirs = torchcrf.CRF(num_tags, batch_first=True)
    theirs.load_state_dict(ours.state_dict())
    emissions = torch.randn(batch, length, num_tags, generator=generator) * 3
    tags = torch.randint(0, num_tags, (batch, length), generator=generator)
    lengths = torch.randint(1, length + 1, (batch,), generator=generator) if ragged else torch.full((batch,), length)
    lengths[0] = length
    mask = torch.arange(length)[None, :] < lengths[:, None]
    for reduction in ("none", "sum", "mean", "token_mean"):
        expected = -theirs(emissions, tags, mask, reduction=reduction)
        torch.testing.assert_close(ours(emissions, tags, mask, reduction=reduction), expected, rtol=1e-5, atol=1e-4)
    decoded = ours.decode(emissions, mask)
    for row, path in enumerate(theirs.decode(emissions, mask)):
        assert decoded[row, : len(path)].tolist() == path


def test_left_padding_and_holes_equal_compacted_right_padding():
    generator = torch.Generator().manual_seed(5)
    crf = make_crf(5, generator)
    batch, length = 6, 12
    emissions = torch.randn(batch, length, 5, generator=generator)
    mask = random_mask(generator, batch, length)
    tags = torch.randint(0, 5, (batch, length), generator=generator)
    compact_emissions = torch.zeros_like(emissions)
    compact_tags = torch.zeros_like(tags)
    compact_mask = torch.zeros_like(mask)
    for row in range(batch):
        positions = mask[row].nonzero().flatten()
        n = len(positions)
        compact_emissions[row, :n] = emissions[row, positions]
        compact_tags[row, :n] = tags[row, positions]
        compact_mask[row, :n] = True
    torch.testing.assert_close(
        crf(emissions, tags, mask, reduction="none"),
        crf(compact_emissions, compact_tags, compact_mask, reduction="none"),
    )
    decoded, compact_decoded = crf.decode(emissions, mask), crf.decode(compact_emissions, compact_mask)
    for row in range(batch):
        assert decoded[row][mask[row]].tolist() == compact_decoded[row][compact_mask[row]].tolist()


def test_decode_ignores_whatever_masked_positions_hold():
    """The NumPy 1-best Viterbi runs rows on over their padding: inf and NaN there (with -inf constraint scores)
    change no path and raise no floating-point warning. 64 rows x 50 steps span several back-pointer passes."""
    labels = {0: "O", 1: "B-A", 2: "I-A", 3: "B-C", 4: "I-C"}
    generator = torch.Generator().manual_seed(8)
    crf = make_crf(len(labels), generator, allowed_transitions("BIO", labels))
    batch, length = 64, 50
    emissions = torch.randn(batch, length, len(labels), generator=generator) * 3
    mask = random_mask(generator, batch, length)
    junk = torch.tensor([float("inf"), float("-inf"), float("nan")])[torch.randint(0, 3, emissions.shape)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decoded = crf.decode(torch.where(mask[..., None], emissions, junk), mask)
    assert torch.equal(decoded, crf.decode(emissions.masked_fill(~mask[..., None], 0.0), mask))
    assert torch.equal(decoded, crf.decode(emissions, mask, nbest=2)[0][0])
    assert ((decoded == -100) == ~mask).all()


def test_empty_rows_have_zero_loss_and_empty_paths():
    crf = ConditionalRandomField(3)
    emissions = torch.randn(2, 4, 3, requires_grad=True)
    mask = torch.zeros(2, 4, dtype=torch.bool)
    tags = torch.full((2, 4), -100)
    loss = crf(emissions, tags, mask, reduction="sum")
    assert loss.item() == 0.0
    loss.backward()
    assert (emissions.grad == 0).all()
    assert (crf.decode(emissions, mask) == -100).all()
    assert (crf.marginals(emissions, mask) == 0).all()
    paths, scores = crf.decode(emissions, mask, nbest=2)
    assert scores[:, 0].tolist() == [0.0, -math.inf]


def test_extreme_scores_fall_back_to_exact_log_space():
    generator = torch.Generator().manual_seed(2)
    crf = make_crf(3, generator)
    with torch.no_grad():
        crf.transitions.mul_(400.0)  # far beyond float32's exp range
    emissions = torch.randn(4, 5, 3, generator=generator) * 300
    mask = random_mask(generator, 4, 5)
    tags = torch.randint(0, 3, (4, 5), generator=generator)
    nll = crf(emissions, tags, mask, reduction="none")
    for row, (positions, paths) in enumerate(enumerate_paths(crf, emissions, mask)):
        gold = dict(paths)[tuple(tags[row, positions].tolist())]
        expected = logsumexp([score for _, score in paths]) - gold
        assert nll[row].item() == pytest.approx(expected, rel=1e-5, abs=1e-2)
    marginals = crf.marginals(emissions, mask)
    assert torch.isfinite(marginals).all()
    torch.testing.assert_close(marginals.sum(-1), mask.float())


@pytest.mark.parametrize("scheme", ["BIO", "BIOES"])
def test_constraints_never_yield_an_illegal_path(scheme):
    types = ["A", "B"]
    prefixes = "BI" if scheme == "BIO" else "BIES"
    labels = ["O"] + [f"{p}-{t}" for t in types for p in prefixes]
    id2label = dict(enumerate(labels))
    constraints = allowed_transitions(scheme, id2label)
    start, transitions, end = (torch.tensor(mask) for mask in constraints)
    generator = torch.Generator().manual_seed(0)
    crf = make_crf(len(labels), generator, constraints)
    emissions = torch.randn(64, 15, len(labels), generator=generator) * 4
    mask = random_mask(generator, 64, 15)
    paths, _ = crf.decode(emissions, mask, nbest=3)
    paths = torch.cat([crf.decode(emissions, mask).unsqueeze(0), paths])
    for path in paths.reshape(-1, 15):
        tags = path[path != -100].tolist()
        if not tags:
            continue
        assert start[tags[0]] and end[tags[-1]], [labels[t] for t in tags]
        assert all(transitions[a, b] for a, b in zip(tags, tags[1:])), [labels[t] for t in tags]
    # A gold path that the constraints forbid is an error that says where, not an infinite loss.
    bad = torch.tensor([[0, labels.index("I-A")]])
    with pytest.raises(ValueError, match="break the CRF constraints"):
        crf(torch.randn(1, 2, len(labels)), bad, torch.ones(1, 2, dtype=torch.bool))


def test_bio_constraints_are_the_documented_ones():
    start, transitions, end = allowed_transitions("BIO", {0: "O", 1: "B-A", 2: "I-A", 3: "B-C", 4: "I-C"})
    assert start == [True, True, False, True, False]
    assert end == [True] * 5
    assert transitions[0][2] is False and transitions[1][2] is True and transitions[3][2] is False
    with pytest.raises(ValueError, match="not a BIO label"):
        allowed_transitions("BIO", {0: "O", 1: "E-A"})
    # Windows of long sentences may begin or end inside an entity: the model leaves the boundaries free.
    start, transitions, end = allowed_transitions("BIOES", {0: "O", 1: "B-A", 2: "I-A", 3: "E-A"}, boundaries=False)
    assert start == [True] * 4 and end == [True] * 4 and transitions[0][2] is False


def test_low_precision_emissions_give_the_float32_answer():
    generator = torch.Generator().manual_seed(1)
    crf = make_crf(5, generator)
    emissions = torch.randn(4, 10, 5, generator=generator).to(torch.bfloat16)
    mask = torch.ones(4, 10, dtype=torch.bool)
    tags = torch.randint(0, 5, (4, 10), generator=generator)
    loss = crf(emissions, tags, mask)
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, crf(emissions.float(), tags, mask))
    assert crf.marginals(emissions.half(), mask).dtype == torch.float32
    leaf = emissions.clone().requires_grad_(True)
    crf(leaf, tags, mask).backward()
    assert leaf.grad.dtype == torch.bfloat16


def test_bad_inputs_raise_errors_that_say_what_is_wrong():
    crf = ConditionalRandomField(3)
    emissions = torch.randn(2, 4, 3)
    mask = torch.ones(2, 4, dtype=torch.bool)
    tags = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"\(batch, seq_len, num_tags\)"):
        crf(emissions[0], tags, mask)
    with pytest.raises(ValueError, match="expected num_tags=3"):
        crf(torch.randn(2, 4, 5), tags, mask)
    with pytest.raises(TypeError, match="mask must be a torch.bool"):
        crf(emissions, tags, mask.long())
    with pytest.raises(ValueError, match="mask has shape"):
        crf(emissions, tags, mask[:, :3])
    with pytest.raises(ValueError, match="tags have shape"):
        crf(emissions, tags[:, :3], mask)
    with pytest.raises(TypeError, match="tags must be an int64"):
        crf(emissions, tags.float(), mask)
    with pytest.raises(TypeError, match="emissions must be a float"):
        crf(emissions.long(), tags, mask)
    with pytest.raises(ValueError, match=r"tag 7 .* outside \[0, 3\)"):
        crf(emissions, tags.masked_fill(mask, 7), mask)
    with pytest.raises(ValueError, match="NaN or inf"):
        crf(emissions.masked_fill(mask[..., None], float("nan")), tags, mask)
    with pytest.raises(ValueError, match="reduction"):
        crf(emissions, tags, mask, reduction="avg")
    with pytest.raises(ValueError, match="nbest"):
        crf.decode(emissions, mask, nbest=0)
    # Masked positions may hold anything: -100 tags, NaN emissions.
    holey = mask.clone()
    holey[:, 1] = False
    loose_emissions = emissions.clone()
    loose_emissions[:, 1] = float("nan")
    assert torch.isfinite(crf(loose_emissions, tags.masked_fill(~holey, -100), holey))


def test_ties_and_float32_rounding_give_pytorch_crf_paths():
    """Scores add up in pytorch-crf's order and ties go to the lowest tag, so the paths match it even where the exact
    best path is lost to rounding; the torch recursion (n-best, and 1-best off CPU) agrees with the NumPy one."""
    torchcrf = pytest.importorskip("torchcrf")
    from modeling_xlnet_crf import _nbest_paths

    # Small integer scores: every step has exact ties.
    generator = torch.Generator().manual_seed(3)
    num_tags, batch, length = 4, 64, 20
    ours = ConditionalRandomField(num_tags)
    with torch.no_grad():
        for parameter in ours.parameters():
            parameter.copy_(torch.randint(-1, 2, parameter.shape, generator=generator).float())
    tied_emissions = torch.randint(-1, 2, (batch, length, num_tags), generator=generator).float()
    lengths = torch.randint(1, length + 1, (batch,), generator=generator)
    lengths[0] = length
    tied_mask = torch.arange(length)[None, :] < lengths[:, None]
    # Rounding: 1 + 2**-24 rounds to 1 in float32, so pytorch-crf's ((1 + 2**-24) + 2**-24) ties with 1 + 0 + 2**-24
    # and it keeps tag 0, although the exact best path starts with tag 1.
    tiny = 2.0**-24
    rounding = ConditionalRandomField(2)
    with torch.no_grad():
        rounding.start_transitions.copy_(torch.tensor([1.0, 1.0]))
        rounding.transitions.copy_(torch.tensor([[0.0, 0.0], [tiny, 0.0]]))
        rounding.end_transitions.copy_(torch.tensor([0.0, -10.0]))
    rounding_emissions = torch.tensor([[[0.0, 0.0], [tiny, -10.0]]])
    cases = [(ours, tied_emissions, tied_mask), (rounding, rounding_emissions, torch.ones(1, 2, dtype=torch.bool))]
    for crf, emissions, mask in cases:
        theirs = torchcrf.CRF(crf.num_tags, batch_first=True)
        theirs.load_state_dict(crf.state_dict())
        decoded = crf.decode(emissions, mask)
        for row, path in enumerate(theirs.decode(emissions, mask)):
            assert decoded[row, : len(path)].tolist() == path
        start, transitions, end = crf._scores()
        paths, _ = _nbest_paths(emissions.masked_fill(~mask[..., None], 0.0), mask.sum(1), start, transitions, end, 1)
        assert torch.equal(paths[0].masked_fill(~mask, -100), decoded)
        assert torch.equal(crf.decode(emissions, mask, nbest=3)[0][0], decoded)
    assert decoded.tolist() == [[0, 0]]


def test_decode_when_the_longest_row_has_one_position():
    generator = torch.Generator().manual_seed(4)
    crf = make_crf(3, generator)
    emissions = torch.randn(4, 3, 3, generator=generator)
    mask = torch.zeros(4, 3, dtype=torch.bool)
    mask[:3, 1] = True
    start, _, end = crf._scores()
    expected = (emissions[:3, 1] + start + end).argmax(-1)
    assert crf.decode(emissions, mask)[:3, 1].tolist() == expected.tolist()
    paths, scores = crf.decode(emissions, mask, nbest=2)
    assert paths[0, :3, 1].tolist() == expected.tolist()
    assert (paths[:, 3] == -100).all() and scores[:, 3].tolist() == [0.0, -math.inf]
