# Copyright 2026 The xlnet-crf-mtl authors.
# Licensed under the Apache License, Version 2.0.
"""XLNet encoder with a linear-chain CRF decoder for token classification.

This file is self-contained (it imports only torch and transformers) so that `save_pretrained` can copy it next to
the weights and a plain `transformers` user can load a checkpoint with `trust_remote_code=True`.

The CRF accepts any boolean mask: masked positions are skipped and the chain links consecutive unmasked positions.
Internally a masked batch is compacted to left-aligned sequences, and the forward-backward recursions run as
scaled products in probability space with a hand-written backward (gradient = marginals - gold counts), which is
several times faster than log-sum-exp recursions driven by autograd. Should the scaled recursion under- or
overflow (extreme scores), the exact log-space recursion takes over for that call.
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy
import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForTokenClassification,
    PreTrainedConfig,
    PreTrainedModel,
    XLNetConfig,
    XLNetModel,
)
from transformers import initialization as init
from transformers.configuration_utils import SubConfigSpec
from transformers.models.xlnet.modeling_xlnet import XLNetPreTrainedModel
from transformers.utils import ModelOutput


LABEL_SCHEMES = ("first", "x")
CRF_CONSTRAINTS = (None, "BIO", "BIOES")
CRF_REDUCTIONS = ("none", "sum", "mean", "token_mean")
X_LABEL = "X"
# Emission score that removes a tag at one position: exp() of it is exactly 0 in float32, and it stays finite, so
# the input checks (which reject inf/NaN) and the log-space fallback both accept it.
FORBIDDEN_SCORE = -1.0e4


_CRF_SETTINGS_DOC = r"""
    label_scheme (`str`, defaults to `"first"`):
        `"first"`: the CRF runs over the first sub-token of each word (what the paper's authors ran). `"x"`: the
        paper's "[X]" scheme, where continuation pieces carry the label `"X"`, a real CRF state, which is dropped when
        mapping predictions back to words. With `"x"`, `label2id` must contain `"X"`.
    crf_constraints (`str`, *optional*):
        `None`, `"BIO"` or `"BIOES"`: transitions impossible under the tagging scheme get a score of -inf in training
        and decoding. The `"X"` state is transparent (every transition into and out of it is allowed). Start and end
        are not constrained, since a window of a long sentence may begin or end inside an entity.
    crf_reduction (`str`, defaults to `"mean"`):
        How the per-sequence negative log-likelihoods are reduced to the loss: `"mean"` over sequences (the authors'
        choice), `"sum"`, `"token_mean"` (sum divided by the number of tagged positions).
"""


def _check_crf_settings(config: PreTrainedConfig, model_class: str) -> None:
    """Validate the CRF head's fields, and list both Auto classes in `auto_map` for remote code.

    `register_for_auto_class` records one Auto class per model class; AutoModel is added here so that both AutoModel
    and AutoModelForTokenClassification resolve through `trust_remote_code`.
    """
    if config.label_scheme not in LABEL_SCHEMES:
        raise ValueError(f"label_scheme must be one of {LABEL_SCHEMES}, got {config.label_scheme!r}")
    if config.crf_constraints not in CRF_CONSTRAINTS:
        raise ValueError(f"crf_constraints must be one of {CRF_CONSTRAINTS}, got {config.crf_constraints!r}")
    if config.crf_reduction not in CRF_REDUCTIONS:
        raise ValueError(f"crf_reduction must be one of {CRF_REDUCTIONS}, got {config.crf_reduction!r}")
    if config.label_scheme == "x" and X_LABEL not in config.label2id:
        raise ValueError(f"label_scheme='x' needs the label {X_LABEL!r} in label2id, got {sorted(config.label2id)}")
    module = __name__.rsplit(".", 1)[-1]
    config.auto_map = {"AutoModel": f"{module}.{model_class}", **(getattr(config, "auto_map", None) or {})}


class XLNetCRFConfig(XLNetConfig):
    __doc__ = (
        "Configuration of [`XLNetForTokenClassificationCRF`]: an [`XLNetConfig`] plus the CRF head's settings.\n"
        + _CRF_SETTINGS_DOC
    )

    model_type = "xlnet-crf"

    label_scheme: str = "first"
    crf_constraints: str | None = None
    crf_reduction: str = "mean"

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        _check_crf_settings(self, "XLNetForTokenClassificationCRF")


@dataclass(frozen=True)
class EncoderLayout:
    """Where an encoder family keeps what layer slicing shares: attribute paths (relative to the encoder model) of
    its embedding modules or parameters, and of its stack of layers. Paths a config does not create (ELECTRA's
    projection when the sizes match) are skipped. `init_kwargs` drop parts a CRF head never uses (BERT's pooler)."""

    embeddings: tuple[str, ...]
    layers: str
    init_kwargs: tuple[tuple[str, object], ...] = ()


_BERT_LIKE = EncoderLayout(("embeddings",), "encoder.layer", (("add_pooling_layer", False),))
_DEBERTA_LIKE = EncoderLayout(("embeddings", "encoder.rel_embeddings", "encoder.LayerNorm"), "encoder.layer")
# The one registry of encoder families, keyed by the encoder's `model_type`.
ENCODER_LAYOUTS: dict[str, EncoderLayout] = {
    "bert": _BERT_LIKE,
    "roberta": _BERT_LIKE,
    "xlm-roberta": _BERT_LIKE,
    "camembert": _BERT_LIKE,
    "electra": EncoderLayout(("embeddings", "embeddings_project"), "encoder.layer"),
    "deberta": _DEBERTA_LIKE,
    "deberta-v2": _DEBERTA_LIKE,
    "distilbert": EncoderLayout(("embeddings",), "transformer.layer"),
    "xlnet": EncoderLayout(("word_embedding", "mask_emb"), "layer"),
}


def encoder_layout(model_type: str) -> EncoderLayout:
    """The layout of an encoder family, or an error naming the `model_type` the code does not know."""
    if model_type not in ENCODER_LAYOUTS:
        raise ValueError(
            f"encoder model_type {model_type!r} is not supported: layer slicing and layer-wise learning rates need "
            f"to know where its embeddings and layer stack are; known families: {sorted(ENCODER_LAYOUTS)}"
        )
    return ENCODER_LAYOUTS[model_type]


class EncoderCRFConfig(PreTrainedConfig):
    __doc__ = (
        "Configuration of [`EncoderForTokenClassificationCRF`]: the encoder's own config, nested as `encoder` (any\n"
        "family of `ENCODER_LAYOUTS`), plus the CRF head's settings.\n"
        "    classifier_dropout (`float`, *optional*):\n"
        "        Dropout before the emission layer; defaults to the encoder's hidden dropout.\n" + _CRF_SETTINGS_DOC
    )

    model_type = "encoder-crf"
    sub_configs_defaults = {"encoder": SubConfigSpec(config_class=AutoConfig, model_type="bert")}

    encoder: PreTrainedConfig | dict | None = None
    label_scheme: str = "first"
    crf_constraints: str | None = None
    crf_reduction: str = "mean"
    classifier_dropout: float | None = None

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        encoder_layout(self.encoder.model_type)
        _check_crf_settings(self, "EncoderForTokenClassificationCRF")


def allowed_transitions(
    scheme: str | None, id2label: dict[int, str], *, boundaries: bool = True
) -> tuple[list[bool], list[list[bool]], list[bool]] | None:
    """Boolean (start (K), transitions (K, K) [from, to], end (K)) masks of the moves legal under BIO or BIOES.

    With `boundaries=False` any tag may start or end a sequence: a window cut from a long sentence can begin or end
    inside an entity, so only the moves between consecutive positions are constrained.

    Plain lists, not tensors: models are built on the meta device when loaded, where tensors hold no values.

    Labels are `O`, `X` or `<prefix>-<type>`; a label outside the scheme raises, since a silent "allow everything"
    would hide a typo in the label map.
    """
    if scheme is None:
        return None
    num_tags = len(id2label)
    parsed = []
    for index in range(num_tags):
        label = id2label[index]
        if label in ("O", X_LABEL):
            parsed.append((label, None))
            continue
        prefix, sep, entity_type = label.partition("-")
        if not sep or prefix not in scheme or prefix == "O":
            raise ValueError(
                f"label {label!r} (id {index}) is not a {scheme} label: expected O, X or <{scheme}>-<type>"
            )
        parsed.append((prefix, entity_type))

    def inside(prefix, entity_type, previous):  # may `prefix-entity_type` follow `previous`?
        previous_prefix, previous_type = previous
        if previous_prefix == X_LABEL or prefix == X_LABEL:
            return True
        if prefix in ("I", "E"):
            return previous_prefix in ("B", "I") and previous_type == entity_type
        # O, B, S may not follow an open entity in BIOES; in BIO anything may precede them.
        return scheme == "BIO" or previous_prefix in ("O", "E", "S")

    transitions = [[inside(to_prefix, to_type, previous) for (to_prefix, to_type) in parsed] for previous in parsed]
    start = [not boundaries or prefix not in ("I", "E") for prefix, _ in parsed]
    end = [not boundaries or scheme == "BIO" or prefix not in ("B", "I") for prefix, _ in parsed]
    return start, transitions, end


class _ScaledRecursionFailed(ArithmeticError):
    """The probability-space recursion under- or overflowed; the caller retries in log space."""


def _lengths_and_layout(mask: torch.Tensor):
    """Lengths per row and, when the mask is not a prefix of ones, the (row, source, target) compaction indices."""
    lengths = mask.sum(1)
    if bool((mask[:, 1:] <= mask[:, :-1]).all()):
        return lengths, None
    rows, positions = mask.nonzero(as_tuple=True)
    targets = mask.cumsum(1)[rows, positions] - 1
    return lengths, (rows, positions, targets)


def _compact(values: torch.Tensor, layout, width: int, fill) -> torch.Tensor:
    """Left-align the masked entries of `values` (B, T, ...) into (B, width, ...) (differentiable)."""
    rows, positions, targets = layout
    out = values.new_full((values.shape[0], width, *values.shape[2:]), fill)
    return out.index_put((rows, targets), values[rows, positions])


def _expand(values: torch.Tensor, layout, length: int, fill) -> torch.Tensor:
    """Inverse of `_compact`: put left-aligned entries back at their masked positions of a length-`length` row."""
    rows, positions, targets = layout
    out = values.new_full((values.shape[0], length, *values.shape[2:]), fill)
    return out.index_put((rows, positions), values[rows, targets])


def _step_matrices(emissions, valid, transitions):
    """Per-step factors M[t, b, i, j] = exp(transitions[i, j] + emissions[b, t, j]) up to per-step shifts, and the
    identity wherever row b has ended, so the recursions need no per-step masking: alphas and betas simply carry
    over the padded steps.

    Returns M (W, B, K, K), the emission factors p (W, B, K), the emission shifts (B, W) and the transition shift.
    """
    num_tags = emissions.shape[-1]
    shift = emissions.amax(-1, keepdim=True)
    t_max = transitions.max()
    p = torch.exp(emissions - shift).transpose(0, 1)  # (W, B, K)
    M = torch.exp(transitions - t_max) * p.unsqueeze(2)
    eye = torch.eye(num_tags, device=emissions.device, dtype=emissions.dtype)
    M = torch.where(valid.t()[:, :, None, None], M, eye)
    return M, p, shift[..., 0], t_max


class _ScaledForward(NamedTuple):
    """What the scaled forward recursion leaves for the backward recursion (gradients or marginals)."""

    log_z: torch.Tensor  # (B,)
    step_matrices: torch.Tensor  # M (W, B, K, K)
    emission_factors: torch.Tensor  # p (W, B, K)
    alphas: torch.Tensor  # normalised forward vectors (W, B, 1, K)
    scales: torch.Tensor  # per-step normalisers (B, W), 1 past each row's end
    z: torch.Tensor  # (B,) the last alpha times the end factors
    end_factors: torch.Tensor  # F (K,)
    transition_shift: torch.Tensor  # scalar
    valid: torch.Tensor  # (B, W)


def _scaled_forward(emissions, lengths, start, transitions, end) -> _ScaledForward:
    """Forward recursion on normalised probability vectors (one batched product and one division per step) on
    left-aligned sequences; raises `_ScaledRecursionFailed` when it under- or overflows."""
    batch, width, num_tags = emissions.shape
    valid = torch.arange(width, device=emissions.device)[None, :] < lengths[:, None]
    M, p, shift, t_max = _step_matrices(emissions, valid, transitions)
    s_max, e_max = start.max(), end.max()
    S, F = torch.exp(start - s_max), torch.exp(end - e_max)
    # An extra column holding each row sum gives the normaliser from the same batched product.
    M_sum = torch.cat([M, M.sum(-1, keepdim=True)], dim=-1)
    raw = emissions.new_empty(width, batch, 1, num_tags + 1)
    alphas = emissions.new_empty(width, batch, 1, num_tags)
    first = S * torch.exp(emissions[:, 0] - shift[:, :1])
    raw[0, :, 0, num_tags] = first.sum(-1)
    torch.div(first, raw[0, :, 0, num_tags:], out=alphas[0, :, 0])
    # Per-step views made once: indexing inside the loop would cost more than the arithmetic.
    alpha_at, matrix_at, raw_at = alphas.unbind(0), M_sum.unbind(0), raw.unbind(0)
    numerator_at, scale_at = raw[..., :num_tags].unbind(0), raw[..., num_tags:].unbind(0)
    for t in range(1, width):
        torch.bmm(alpha_at[t - 1], matrix_at[t], out=raw_at[t])
        torch.div(numerator_at[t], scale_at[t], out=alpha_at[t])
    scales = raw[:, :, 0, num_tags].t().masked_fill(~valid, 1.0)  # (B, W)
    z = alphas[width - 1, :, 0] @ F
    log_scales = torch.log(scales)
    nonempty = lengths > 0
    if not (bool(torch.isfinite(log_scales).all()) and bool((torch.isfinite(z) & (z > 0))[nonempty].all())):
        raise _ScaledRecursionFailed
    log_z = (log_scales + shift.masked_fill(~valid, 0.0)).sum(1) + torch.log(z) + s_max + e_max
    log_z = log_z + (lengths - 1).clamp(min=0) * t_max
    return _ScaledForward(log_z, M, p, alphas, scales, z, F, t_max, valid)


def _scaled_betas(step_matrices, scales, end_factors) -> torch.Tensor:
    """Backward recursion with the forward pass's step matrices and normalisers: betas (W, B, K), scaled so that
    alpha[t] * beta[t] / z is the posterior marginal at step t."""
    width, batch, num_tags = step_matrices.shape[0], step_matrices.shape[1], step_matrices.shape[2]
    M_scaled = step_matrices / scales.t()[:, :, None, None]
    betas = step_matrices.new_empty(width, batch, num_tags, 1)
    betas[width - 1] = end_factors[:, None]
    beta_at, matrix_at = betas.unbind(0), M_scaled.unbind(0)
    for t in range(width - 2, -1, -1):
        torch.bmm(matrix_at[t + 1], beta_at[t + 1], out=beta_at[t])
    return betas[..., 0]


class _ChainNLL(torch.autograd.Function):
    """Per-sequence CRF negative log-likelihood on left-aligned sequences, with an analytic backward.

    The backward recursion reuses the forward pass's step matrices (one batched product per step). The gradient is
    the marginals minus the gold counts, for emissions, start, end and transitions alike.
    """

    @staticmethod
    def forward(ctx, emissions, tags, lengths, start, transitions, end):
        # emissions (B, W, K) float32, zeros beyond `lengths`; tags (B, W) in [0, K) (anything beyond lengths).
        forward = _scaled_forward(emissions, lengths, start, transitions, end)
        valid = forward.valid
        gold = _gold_score(emissions, tags, valid, lengths, start, transitions, end)
        nll = torch.where(lengths > 0, forward.log_z - gold, torch.zeros_like(gold))
        ctx.save_for_backward(
            forward.step_matrices,
            forward.emission_factors,
            forward.alphas,
            forward.scales,
            forward.z,
            transitions,
            forward.transition_shift,
            forward.end_factors,
            tags,
            lengths,
            valid,
        )
        return nll

    @staticmethod
    def backward(ctx, grad_nll):
        M, p, alphas, scales, z, transitions, t_max, F, tags, lengths, valid = ctx.saved_tensors
        batch, num_tags = M.shape[1], M.shape[2]
        weight = torch.where(lengths > 0, grad_nll / z, torch.zeros_like(z))  # (B,)
        betas = _scaled_betas(M, scales, F)
        alphas = alphas[:, :, 0]  # (W, B, K)
        valid_tm = valid.t().unsqueeze(-1)
        gamma = (alphas * betas).masked_fill_(~valid_tm, 0.0) * weight[None, :, None]
        gold = torch.nn.functional.one_hot(tags.t(), num_tags).to(alphas.dtype) * (valid_tm * grad_nll[None, :, None])
        grad_emissions = (gamma - gold).transpose(0, 1)

        rows = torch.arange(batch, device=alphas.device)
        last = (lengths - 1).clamp(min=0)
        grad_start = gamma[0].sum(0) - gold[0].sum(0)
        grad_end = gamma[last, rows].sum(0) - gold[last, rows].sum(0)

        # Expected transition counts: sum over t of alpha[t-1](i) E(i, j) p[t](j) beta[t](j) / (c[t] z).
        pair_valid = valid_tm[1:]
        left = (alphas[:-1] * weight[None, :, None]).masked_fill_(~pair_valid, 0.0).reshape(-1, num_tags)
        right = (p[1:] * betas[1:] / scales.t()[1:, :, None]).masked_fill_(~pair_valid, 0.0).reshape(-1, num_tags)
        expected = torch.exp(transitions - t_max) * (left.t() @ right)
        pair_index = (tags[:, :-1] * num_tags + tags[:, 1:]).reshape(-1)
        pair_weight = (valid[:, 1:] * grad_nll[:, None]).reshape(-1).to(alphas.dtype)
        observed = torch.bincount(pair_index, pair_weight, minlength=num_tags * num_tags).view(num_tags, num_tags)
        return grad_emissions, None, None, grad_start, expected - observed, grad_end


def _gold_score(emissions, tags, valid, lengths, start, transitions, end):
    """Score of the gold path of each left-aligned sequence (0 for empty rows)."""
    rows = torch.arange(emissions.shape[0], device=emissions.device)
    emitted = emissions.gather(2, tags.unsqueeze(-1))[..., 0].masked_fill(~valid, 0.0).sum(1)
    moved = transitions[tags[:, :-1], tags[:, 1:]].masked_fill(~valid[:, 1:], 0.0).sum(1)
    last = tags[rows, (lengths - 1).clamp(min=0)]
    ends = start[tags[:, 0]] + end[last]
    return emitted + moved + torch.where(lengths > 0, ends, torch.zeros_like(ends))


def _log_alphas(emissions, lengths, start, transitions) -> list[torch.Tensor]:
    """Exact log-space forward vectors (B, K) per step of left-aligned sequences, carried over past each row's end."""
    alphas = [start + emissions[:, 0]]
    for t in range(1, emissions.shape[1]):
        step = torch.logsumexp(alphas[-1].unsqueeze(-1) + transitions, dim=1) + emissions[:, t]
        alphas.append(torch.where((t < lengths).unsqueeze(-1), step, alphas[-1]))
    return alphas


def _log_partition(emissions, lengths, start, transitions, end):
    """Exact log-space forward algorithm on left-aligned sequences; the NLL's fallback for the scaled recursion."""
    log_z = torch.logsumexp(_log_alphas(emissions, lengths, start, transitions)[-1] + end, dim=-1)
    return torch.where(lengths > 0, log_z, torch.zeros_like(log_z))


def _log_marginals(emissions, lengths, start, transitions, end) -> torch.Tensor:
    """Exact log-space forward-backward on left-aligned sequences: posterior marginals (B, W, K); the fallback of the
    scaled recursion for marginals."""
    alphas = _log_alphas(emissions, lengths, start, transitions)
    log_z = torch.logsumexp(alphas[-1] + end, dim=-1)
    beta = end.expand_as(alphas[-1])
    betas = [beta]
    for t in range(emissions.shape[1] - 2, -1, -1):
        step = torch.logsumexp(transitions + (emissions[:, t + 1] + beta).unsqueeze(1), dim=-1)
        beta = torch.where((t + 1 < lengths).unsqueeze(-1), step, beta)
        betas.append(beta)
    return torch.exp(torch.stack(alphas, 1) + torch.stack(betas[::-1], 1) - log_z[:, None, None])


class ConditionalRandomField(nn.Module):
    """Linear-chain CRF with start, end and [from, to] transition scores.

    Every method takes `emissions` (B, T, K) of any float dtype (computed in float32) and a boolean `mask` (B, T)
    of any pattern: right or left padding, holes (e.g. continuation sub-tokens), empty rows. Masked positions are
    skipped; the chain links consecutive unmasked positions.
    """

    def __init__(self, num_tags: int, constraints: tuple[list[bool], list[list[bool]], list[bool]] | None = None):
        super().__init__()
        if num_tags < 1:
            raise ValueError(f"num_tags must be positive, got {num_tags}")
        self.num_tags = num_tags
        self.start_transitions = nn.Parameter(torch.empty(num_tags))
        self.end_transitions = nn.Parameter(torch.empty(num_tags))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags))
        self.reset_parameters()
        # Constraint masks are derived from the config, not learned, so they are kept as plain Python values rather
        # than buffers: from_pretrained builds modules on the meta device and never fills non-persistent buffers.
        self._allowed = None
        self._allowed_on = {}
        if constraints is not None:
            start, transitions, end = (
                torch.as_tensor(mask, dtype=torch.bool, device="cpu").tolist() for mask in constraints
            )
            if (len(start), len(end), len(transitions), {len(row) for row in transitions}) != (
                num_tags,
                num_tags,
                num_tags,
                {num_tags},
            ):
                raise ValueError(f"constraint masks must have shapes (K,), (K, K), (K,) with K={num_tags}")
            self._allowed = (start, transitions, end)

    def reset_parameters(self) -> None:
        """Scores uniform in [-0.1, 0.1], as the paper's authors initialised them (the one place that says so)."""
        for parameter in (self.start_transitions, self.end_transitions, self.transitions):
            nn.init.uniform_(parameter, -0.1, 0.1)

    def allowed(self, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """The (start, transitions, end) masks of legal moves on `device`, or None without constraints."""
        if self._allowed is None:
            return None
        device = device or self.transitions.device
        if device not in self._allowed_on:
            self._allowed_on[device] = tuple(
                torch.tensor(mask, dtype=torch.bool, device=device) for mask in self._allowed
            )
        return self._allowed_on[device]

    def extra_repr(self) -> str:
        return f"num_tags={self.num_tags}, constrained={self._allowed is not None}"

    def _scores(self):
        """(start, transitions, end) in float32 with forbidden moves at -inf."""
        start, transitions, end = (
            self.start_transitions.float(),
            self.transitions.float(),
            self.end_transitions.float(),
        )
        allowed = self.allowed()
        if allowed is not None:
            start = start.masked_fill(~allowed[0], float("-inf"))
            transitions = transitions.masked_fill(~allowed[1], float("-inf"))
            end = end.masked_fill(~allowed[2], float("-inf"))
        return start, transitions, end

    def _check(self, emissions: torch.Tensor, mask: torch.Tensor, tags: torch.Tensor | None = None):
        if not isinstance(emissions, torch.Tensor) or emissions.dim() != 3:
            raise ValueError(
                f"emissions must be a (batch, seq_len, num_tags) tensor, got shape {tuple(getattr(emissions, 'shape', ()))}"
            )
        if not emissions.is_floating_point():
            raise TypeError(f"emissions must be a float tensor, got {emissions.dtype}")
        if emissions.shape[2] != self.num_tags:
            raise ValueError(
                f"emissions have {emissions.shape[2]} tags in the last dimension, expected num_tags={self.num_tags}"
            )
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise TypeError(
                f"mask must be a torch.bool tensor, got {getattr(mask, 'dtype', type(mask).__name__)} (use mask.bool())"
            )
        if mask.shape != emissions.shape[:2]:
            raise ValueError(
                f"mask has shape {tuple(mask.shape)}, expected {tuple(emissions.shape[:2])} to match emissions"
            )
        # One reduction answers the common case (all finite); only a non-finite sum pays for the masked search. On the
        # CPU it is NumPy's: a torch reduction this size wakes a second OpenMP thread, which then spins for
        # milliseconds and slows the NumPy Viterbi loop that follows several-fold on a loaded machine.
        if emissions.device.type == "cpu":
            with numpy.errstate(all="ignore"):  # inf + -inf is NaN, and that is the answer wanted
                total = float(emissions.detach().float().numpy().sum(dtype=numpy.float32))
        else:
            total = float(emissions.sum(dtype=torch.float32))
        if not math.isfinite(total):
            bad = (~torch.isfinite(emissions)).any(-1) & mask
            if bool(bad.any()):
                row, position = bad.nonzero()[0].tolist()
                raise ValueError(f"emissions contain NaN or inf at unmasked position (row {row}, position {position})")
        if tags is None:
            return
        if not isinstance(tags, torch.Tensor) or tags.dtype not in (torch.int64, torch.int32):
            raise TypeError(f"tags must be an int64 (long) tensor, got {getattr(tags, 'dtype', type(tags).__name__)}")
        if tags.shape != mask.shape:
            raise ValueError(f"tags have shape {tuple(tags.shape)}, expected {tuple(mask.shape)} to match emissions")
        out_of_range = ((tags < 0) | (tags >= self.num_tags)) & mask
        if bool(out_of_range.any()):
            row, position = out_of_range.nonzero()[0].tolist()
            raise ValueError(
                f"tag {int(tags[row, position])} at unmasked position (row {row}, position {position}) is outside [0, {self.num_tags})"
            )

    def _left_aligned(self, emissions, mask, tags=None):
        """Left-aligned float32 emissions (and tags), lengths, and the layout needed to map back."""
        lengths, layout = _lengths_and_layout(mask)
        width = int(lengths.max()) if lengths.numel() else 0
        emissions = emissions.float()
        if layout is None:
            emissions = emissions[:, :width].masked_fill(~mask[:, :width, None], 0.0)
            tags = None if tags is None else tags[:, :width].masked_fill(~mask[:, :width], 0).long()
        else:
            emissions = _compact(emissions, layout, width, 0.0)
            tags = None if tags is None else _compact(tags.long(), layout, width, 0)
        return emissions, tags, lengths, layout, width

    def _check_legal(self, tags, lengths):
        """Gold paths that the constraints forbid would have an infinite loss: say where instead."""
        allowed = self.allowed(tags.device)
        if allowed is None or tags.shape[1] == 0:
            return
        allowed_start, allowed_transitions, allowed_end = allowed
        width = tags.shape[1]
        valid = torch.arange(width, device=tags.device)[None, :] < lengths[:, None]
        rows = torch.arange(tags.shape[0], device=tags.device)
        illegal = torch.zeros_like(valid)
        last = (lengths - 1).clamp(min=0)
        illegal[:, 0] = ~allowed_start[tags[:, 0]]
        illegal[:, 1:] = ~allowed_transitions[tags[:, :-1], tags[:, 1:]]
        illegal[rows, last] |= ~allowed_end[tags[rows, last]]
        illegal &= valid
        if bool(illegal.any()):
            row, index = illegal.nonzero()[0].tolist()
            raise ValueError(
                f"gold tags of row {row} break the CRF constraints at its {index}-th tagged position "
                f"(tag {int(tags[row, index])} after {int(tags[row, index - 1]) if index else 'the start'})"
            )

    def forward(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, reduction: str = "mean"
    ) -> torch.Tensor:
        """Negative log-likelihood of `tags` (a loss). Tags at masked positions are ignored (may be -100).

        reduction: `none` (per sequence), `sum`, `mean` (over sequences) or `token_mean` (over unmasked positions).
        """
        if reduction not in CRF_REDUCTIONS:
            raise ValueError(f"reduction must be one of {CRF_REDUCTIONS}, got {reduction!r}")
        self._check(emissions, mask, tags)
        aligned, aligned_tags, lengths, _, width = self._left_aligned(emissions, mask, tags)
        if width == 0:
            nll = emissions.float()[:, :0].sum(dim=(1, 2))  # zeros that stay on the autograd graph
        else:
            start, transitions, end = self._scores()
            self._check_legal(aligned_tags, lengths)
            try:
                nll = _ChainNLL.apply(aligned, aligned_tags, lengths, start, transitions, end)
            except _ScaledRecursionFailed:
                valid = torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]
                log_z = _log_partition(aligned, lengths, start, transitions, end)
                nll = log_z - _gold_score(aligned, aligned_tags, valid, lengths, start, transitions, end)
        if reduction == "none":
            return nll
        if reduction == "sum":
            return nll.sum()
        if reduction == "mean":
            return nll.mean()
        return nll.sum() / mask.sum().clamp(min=1)

    @torch.no_grad()
    def marginals(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Posterior probability of each tag at each position, (B, T, K) float32; zeros at masked positions.

        An explicit forward-backward pass with the recursions of the loss, so it runs under `torch.inference_mode`.
        """
        self._check(emissions, mask)
        aligned, _, lengths, layout, width = self._left_aligned(emissions, mask)
        batch, length = mask.shape
        if width == 0:
            return emissions.new_zeros(batch, length, self.num_tags, dtype=torch.float32)
        start, transitions, end = self._scores()
        try:
            forward = _scaled_forward(aligned, lengths, start, transitions, end)
            betas = _scaled_betas(forward.step_matrices, forward.scales, forward.end_factors)
            posterior = (forward.alphas[:, :, 0] * betas / forward.z[None, :, None]).transpose(0, 1)
        except _ScaledRecursionFailed:
            # Scores this extreme leave float32 a few bits for alpha + beta - log Z: float64 keeps the sums at 1.
            as_double = (aligned.double(), lengths, start.double(), transitions.double(), end.double())
            posterior = _log_marginals(*as_double).float()
        valid = torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]
        posterior = posterior.masked_fill(~valid[..., None], 0.0)
        if layout is None:
            out = posterior.new_zeros(batch, length, self.num_tags)
            out[:, :width] = posterior
            return out
        return _expand(posterior, layout, length, 0.0)

    @torch.no_grad()
    def decode(
        self, emissions: torch.Tensor, mask: torch.Tensor, nbest: int = 1
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Viterbi decoding.

        Returns a LongTensor (B, T) of tags with -100 at masked positions; with `nbest > 1`, a tuple of tags
        (nbest, B, T) and path scores (nbest, B) best first. Paths that do not exist (fewer than `nbest` legal
        sequences) have score -inf and tags -100; an empty row has one empty path of score 0.
        """
        if not isinstance(nbest, int) or nbest < 1:
            raise ValueError(f"nbest must be a positive int, got {nbest!r}")
        self._check(emissions, mask)
        if nbest == 1 and emissions.device.type == "cpu":
            return _best_path_numpy(emissions, mask, *self._scores())
        aligned, _, lengths, layout, width = self._left_aligned(emissions, mask)
        batch, length = mask.shape
        if width == 0:
            paths = torch.full((nbest, batch, width), -100, dtype=torch.long, device=mask.device)
            scores = torch.full((nbest, batch), float("-inf"), device=mask.device)
            scores[0] = 0.0
        else:
            start, transitions, end = self._scores()
            paths, scores = _nbest_paths(aligned, lengths, start, transitions, end, nbest)
            empty = lengths == 0
            scores[:, empty] = float("-inf")
            scores[0, empty] = 0.0
        valid = torch.arange(width, device=mask.device)[None, :] < lengths[:, None]
        paths = paths.masked_fill(~valid, -100)
        if layout is None:
            out = paths.new_full((nbest, batch, length), -100)
            out[..., :width] = paths
        else:
            out = _expand(paths.permute(1, 2, 0), layout, length, -100).permute(2, 0, 1)
        if nbest == 1:
            return out[0]
        return out, scores


# Candidate scores the NumPy Viterbi keeps between back-pointer passes: 128 KiB, reused memory rather than fresh pages.
_RING_ELEMENTS = 1 << 15


def _best_path_numpy(emissions, mask, start, transitions, end) -> torch.Tensor:
    """1-best Viterbi of `decode` on CPU, from the raw (B, T, K) emissions and (B, T) mask to the (B, T) tags.

    Scores add up in pytorch-crf's order, (score + transition) + emission, and ties go to the lowest previous tag, so
    the path is pytorch-crf's to the last bit. All of it runs in NumPy: at these sizes each step costs a few
    microseconds of op dispatch, and a NumPy op dispatches several times faster than a torch one. Torch ops on more
    than 32768 elements (the masking of K=9 emissions) are avoided too: they wake the OpenMP pool, whose worker then
    spins for milliseconds and, on a busy machine, takes the core this loop runs on.

    The loop works on the (K_from, K_to, B) layout, where every step is three contiguous ops, and keeps the candidate
    scores of a few steps in a small ring buffer (a buffer of all steps is fresh memory, and its page faults cost more
    than the ops); whenever it is full, the back-pointers of those steps come from it in a few whole-array ops: the
    lowest previous tag whose candidate equals the maximum. Rows that end early run on over their padding, whatever
    it holds; their score is read at their own last step and their pointers past it are the identity, so one
    back-trace from the last step serves every row.
    """
    batch, length, num_tags = emissions.shape
    mask = mask.numpy()
    lengths = mask.sum(1)
    tags = numpy.full((batch, length), -100, dtype=numpy.int64)
    width = int(lengths.max(initial=0))
    if width == 0:
        return torch.from_numpy(tags)
    emissions, start, transitions, end = (x.detach().float().numpy() for x in (emissions, start, transitions, end))
    rows = numpy.arange(batch)
    if (mask[:, 1:] <= mask[:, :-1]).all():
        columns = numpy.s_[:, :width]
    else:  # left-align: each row's unmasked columns, in order (a stable sort puts them first)
        columns = rows[:, None], numpy.argsort(~mask, axis=1, kind="stable")[:, :width]
    emissions = numpy.ascontiguousarray(emissions[columns].transpose(1, 2, 0))  # (W, K, B)
    moves = numpy.ascontiguousarray(numpy.broadcast_to(transitions[:, :, None], (num_tags, num_tags, batch)))
    history = numpy.empty((width, num_tags, batch), dtype=numpy.float32)
    chunk = max(1, _RING_ELEMENTS // moves.size)
    ring = numpy.empty((chunk, num_tags, num_tags, batch), dtype=numpy.float32)
    pointers = numpy.empty((width - 1, num_tags, batch), dtype=numpy.min_scalar_type(num_tags))
    # The first previous tag that reaches the maximum: the largest of (K - tag) over the tags that do.
    descending = numpy.arange(num_tags, 0, -1, dtype=pointers.dtype)[:, None, None]
    add, maximum = numpy.add, numpy.maximum.reduce
    # Iterating the arrays makes the per-step views in C, and positional `out` skips keyword parsing: both are a
    # measurable share of a step this small.
    steps = zip(range(1, width), history[:-1, :, None], history[1:], emissions[1:])
    with numpy.errstate(all="ignore"):  # padding may hold inf or NaN (masked positions are never checked)
        numpy.add(start[:, None], emissions[0], out=history[0])
        for t, previous, current, emission in steps:
            step = ring[(t - 1) % chunk]
            add(previous, moves, step)
            maximum(step, 0, None, current)
            add(current, emission, current)  # max(c) + e == max(c + e) exactly: rounding is monotonic
            if t % chunk == 0 or t == width - 1:
                first = (t - 1) // chunk * chunk + 1
                candidates = ring[: t + 1 - first]
                candidates += emissions[first : t + 1, None]
                reached = (candidates == history[first : t + 1, None]) * descending
                numpy.subtract(num_tags, maximum(reached, axis=1), out=pointers[first - 1 : t])
        final = history[numpy.maximum(lengths - 1, 0), :, rows] + end  # (B, K)
    # Past a row's end every tag points to itself: pointers + ended * (tag - pointers), exact in unsigned arithmetic.
    ended = numpy.arange(1, width)[:, None, None] >= lengths
    pointers += ended * (numpy.arange(num_tags, dtype=pointers.dtype)[:, None] - pointers)
    # Cell k * B + b of a step is tag k of row b; a jump maps each cell to the cell of the step before.
    jumps = pointers.astype(numpy.int64)
    jumps *= batch
    jumps += rows
    cells = _backtrace(jumps.reshape(width - 1, num_tags * batch), final.argmax(1) * batch + rows)
    tags[columns] = numpy.where(numpy.arange(width)[:, None] < lengths, cells // batch, -100).T
    return torch.from_numpy(tags)


def _nbest_paths(emissions, lengths, start, transitions, end, nbest):
    """n-best (and off-CPU 1-best) Viterbi in torch; pointers hold (previous tag * n + rank of its path)."""
    batch, width, num_tags = emissions.shape
    device = emissions.device
    em = emissions.transpose(0, 1)  # (W, B, K)
    # history[t]: (B, K, n) the n best scores of paths ending in tag k.
    history = em.new_full((width, batch, num_tags, nbest), float("-inf"))
    pointers = torch.zeros(width - 1, batch, num_tags, nbest, dtype=torch.long, device=device)
    history[0, :, :, 0] = start + em[0]
    moves = transitions.t()[:, :, None]  # (K_to, K_from, 1)
    for t in range(1, width):
        candidates = (history[t - 1].unsqueeze(1) + moves).reshape(batch, num_tags, num_tags * nbest)
        candidates = candidates + em[t].unsqueeze(-1)
        history[t], pointers[t - 1] = _top(candidates, nbest)
    # Rows that ended early: their scores at their own last step, identity pointers past it.
    last = (lengths - 1).clamp(min=0)
    final = history[last, torch.arange(batch, device=device)] + end[:, None]
    scores, flat = _top(final.reshape(batch, num_tags * nbest), nbest)
    ended = torch.arange(1, width, device=device)[:, None] >= lengths
    stay = torch.arange(num_tags * nbest, device=device).reshape(num_tags, nbest)
    pointers = torch.where(ended[:, :, None, None], stay, pointers)
    # Cell (b * K + k) * n + r of a step is the r-th best path of row b ending in tag k.
    base = torch.arange(batch, device=device)[:, None] * (num_tags * nbest)
    jumps = (pointers + base[:, :, None]).reshape(width - 1, batch * num_tags * nbest).cpu().numpy()
    cells = _backtrace(jumps, (flat + base).reshape(-1).cpu().numpy())
    tags = (cells // nbest % num_tags).reshape(width, batch, nbest).transpose(2, 1, 0)
    paths = torch.from_numpy(numpy.ascontiguousarray(tags)).to(device)
    return paths.masked_fill(torch.isneginf(scores).t()[..., None], -100), scores.t()


def _top(values, n):
    """The n largest entries of the last axis, best first, and their indices. Ties keep the lower index first (topk
    does not promise an order), so the best of the n best paths is always the 1-best path."""
    if n == 1:
        return values.max(-1, keepdim=True)
    top, indices = values.sort(dim=-1, descending=True, stable=True)
    return top[..., :n], indices[..., :n]


def _backtrace(jumps, final):
    """Follow a back-pointer table from the last step: jumps (W - 1, N) maps each of the N cells of step t to a cell
    of step t - 1; final (R,) are the cells at step W - 1. Returns the visited cells (W, R).

    Each step is one NumPy fancy-index (about a microsecond, a tenth of a small torch op).
    """
    cells = numpy.empty((len(jumps) + 1, len(final)), dtype=numpy.int64)
    cells[-1] = cell = final
    for t in range(len(jumps), 0, -1):
        cell = cells[t - 1] = jumps[t - 1][cell]
    return cells


@dataclass
class TokenClassifierCRFOutput(ModelOutput):
    r"""
    loss (`torch.FloatTensor` of shape `(1,)`, *optional*, returned when `labels` is given):
        CRF negative log-likelihood, reduced as `config.crf_reduction` says.
    logits (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_labels)`):
        Emission scores of the CRF (before the transition scores are added).
    predictions (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
        Viterbi tags at the positions that carry a word label, -100 elsewhere. Not computed in training mode when
        `labels` are given (the loss does not need them and Viterbi would cost a pass per step).
    marginals (`torch.FloatTensor` of shape `(batch_size, sequence_length, num_labels)`, *optional*):
        With `output_marginals=True`: the CRF's posterior probability of each tag at the positions that carry a word
        label, zeros elsewhere.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    predictions: torch.LongTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None
    marginals: torch.FloatTensor | None = None


class CRFTokenClassificationMixin:
    """The CRF head every encoder shares: which positions it tags, the [X] scheme, loss, Viterbi and marginals.

    A model sets `self.crf` and `self.classifier`, says where its encoder is (`backbone`, `encoder_layout`) and turns
    inputs into emission logits; everything from the logits on is here, so the heads of all encoders behave alike.
    """

    # The CRF loss is already a per-batch mean: Trainer must divide it by the gradient-accumulation steps itself.
    accepts_loss_kwargs = False

    @property
    def backbone(self) -> nn.Module:
        """The encoder (everything below the emission layer): what layer slicing and layer-wise learning rates split."""
        raise NotImplementedError

    @property
    def encoder_layout(self) -> EncoderLayout:
        raise NotImplementedError

    def encoder_layers(self) -> nn.ModuleList:
        """The encoder's stack of layers, bottom first."""
        return self.backbone.get_submodule(self.encoder_layout.layers)

    @property
    def _head_init_std(self) -> float:
        return self.config.initializer_range

    def reset_head(self) -> None:
        """A fresh emission layer and CRF, e.g. after loading a checkpoint fine-tuned for other labels."""
        nn.init.normal_(self.classifier.weight, std=self._head_init_std)
        nn.init.zeros_(self.classifier.bias)
        self.crf.reset_parameters()

    def _build_crf(self) -> ConditionalRandomField:
        # Sentences longer than a window are split, so a sequence may start or end inside an entity.
        constraints = allowed_transitions(self.config.crf_constraints, self.config.id2label, boundaries=False)
        return ConditionalRandomField(self.config.num_labels, constraints)

    def crf_positions(
        self,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        word_ids: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Which positions the CRF tags (None: every position), and, in the "x" scheme, which of them are
        continuation pieces. `word_ids` (-1 for specials and padding) decide when given, else `labels` (-100 where
        nothing is tagged), else the attention mask."""
        x_scheme = self.config.label_scheme == "x"
        if word_ids is not None:
            in_word = word_ids >= 0
            if attention_mask is not None:
                in_word &= attention_mask.bool()
            previous = torch.nn.functional.pad(word_ids[:, :-1], (1, 0), value=-1)
            word_start = in_word & (word_ids != previous)
            positions = in_word if x_scheme else word_start
            continuation = in_word & ~word_start if x_scheme else None
        elif labels is not None:
            positions = labels != -100
            continuation = labels == self.config.label2id.get(X_LABEL, -1) if x_scheme else None
        else:
            positions = attention_mask.bool() if attention_mask is not None else None
            continuation = None
        if labels is not None and positions is not None:
            stray = (labels != -100) & ~positions
            if bool(stray.any()):
                row, position = stray.nonzero()[0].tolist()
                tagged = "every word piece" if x_scheme else "the first piece of each word"
                raise ValueError(
                    f"labels[{row}, {position}] = {int(labels[row, position])} sits on a position the CRF does not tag "
                    f"(label_scheme={self.config.label_scheme!r} tags {tagged}); use -100 there"
                )
        return positions, continuation

    def _encode(
        self, input_ids, attention_mask, token_type_ids, inputs_embeds, output_attentions, output_hidden_states
    ):
        """Emission logits (B, T, num_labels) and the encoder's outputs: the one part that differs per encoder."""
        raise NotImplementedError

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        word_ids: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        output_marginals: bool = False,
        return_dict: bool | None = None,
    ) -> tuple | TokenClassifierCRFOutput:
        r"""
        labels (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
            Tag ids at the positions the CRF tags, -100 elsewhere (special tokens, padding and, in the "first"
            scheme, continuation pieces).
        word_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`, *optional*):
            Index of the word each piece belongs to, -1 for special tokens and padding (the tokenizer's `word_ids()`
            with None as -1). Tells the model where words start when there are no labels; without either, every
            attended position is tagged.
        output_marginals (`bool`, defaults to `False`):
            Also return the CRF's posterior marginals (what a tagger reports as an entity's confidence).
        """
        logits, encoder_outputs = self._encode(
            input_ids, attention_mask, token_type_ids, inputs_embeds, output_attentions, output_hidden_states
        )
        output = self.decode_logits(
            logits, attention_mask=attention_mask, labels=labels, word_ids=word_ids, output_marginals=output_marginals
        )
        output.hidden_states, output.attentions = encoder_outputs.hidden_states, encoder_outputs.attentions
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if not return_dict:
            values = (logits, output.predictions, output.hidden_states, output.attentions)
            values = values + (output.marginals,) if output_marginals else values
            return ((output.loss,) + values) if output.loss is not None else values
        return output

    def decode_logits(
        self,
        logits: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        word_ids: torch.Tensor | None = None,
        output_marginals: bool = False,
    ) -> TokenClassifierCRFOutput:
        """Everything from the emission logits on: the CRF loss, Viterbi tags and marginals at the positions the CRF
        tags. Apart from `forward` so that emissions computed elsewhere (an exported ONNX graph) decode exactly as
        the model's own."""
        positions, continuation = self.crf_positions(attention_mask, labels, word_ids)
        if positions is None:
            positions = torch.ones(logits.shape[:2], dtype=torch.bool, device=logits.device)
        emissions = logits.float()
        if continuation is not None:
            # "x" scheme: X exactly on continuation pieces, a word label exactly on first pieces.
            is_x = torch.zeros(self.num_labels, dtype=torch.bool, device=logits.device)
            is_x[self.config.label2id[X_LABEL]] = True
            forbidden = torch.where(continuation.unsqueeze(-1), ~is_x, is_x) & positions.unsqueeze(-1)
            emissions = emissions.masked_fill(forbidden, FORBIDDEN_SCORE)

        loss = None
        predictions = marginals = None
        # The CRF stays in fp32 when the encoder runs under fp16/bf16 autocast (mixed-precision training, a bf16
        # tagger): its recursions multiply exponentials that overflow fp16 and lose the path order in bf16.
        with torch.autocast(device_type=emissions.device.type, enabled=False):
            if labels is not None:
                loss = self.crf(emissions, labels, positions, reduction=self.config.crf_reduction)
            if labels is None or not self.training:
                predictions = self.crf.decode(emissions, positions)
                if continuation is not None:
                    predictions = predictions.masked_fill(continuation, -100)
            if output_marginals:
                marginals = self.crf.marginals(emissions, positions)
        return TokenClassifierCRFOutput(loss=loss, logits=logits, predictions=predictions, marginals=marginals)


class XLNetForTokenClassificationCRF(CRFTokenClassificationMixin, XLNetPreTrainedModel):
    """The paper's model: XLNet encoder, a linear layer producing emissions, and a CRF over the positions that carry
    word labels."""

    config: XLNetCRFConfig

    def __init__(self, config: XLNetCRFConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.transformer = XLNetModel(config)
        self.classifier = nn.Linear(config.d_model, config.num_labels)
        self.crf = self._build_crf()
        self.post_init()

    @property
    def backbone(self) -> nn.Module:
        return self.transformer

    @property
    def encoder_layout(self) -> EncoderLayout:
        return ENCODER_LAYOUTS["xlnet"]

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, ConditionalRandomField):
            module.reset_parameters()

    def _encode(
        self, input_ids, attention_mask, token_type_ids, inputs_embeds, output_attentions, output_hidden_states
    ):
        outputs = self.transformer(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            inputs_embeds=inputs_embeds,
            use_mems=False,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        return self.classifier(outputs.last_hidden_state), outputs


class EncoderCRFPreTrainedModel(PreTrainedModel):
    config: EncoderCRFConfig
    base_model_prefix = "encoder"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True


class EncoderForTokenClassificationCRF(CRFTokenClassificationMixin, EncoderCRFPreTrainedModel):
    """Any encoder of `ENCODER_LAYOUTS` (BERT, RoBERTa, ELECTRA, DeBERTa(-v2), DistilBERT, ...), dropout, a linear
    layer producing emissions, and the same CRF head as the paper's XLNet model.

    Start from pretrained encoder weights with `from_encoder_pretrained`; `from_pretrained` loads a saved model.
    """

    def __init__(self, config: EncoderCRFConfig, encoder: PreTrainedModel | None = None):
        # The attention kernel is the encoder family's choice (SDPA where it has one, else eager): the composite's
        # own check knows nothing of the family and resets the nested config, so the choice is put back after it.
        chosen_attention = config.encoder._attn_implementation
        super().__init__(config)
        self.num_labels = config.num_labels
        config.encoder._attn_implementation_internal = chosen_attention
        if encoder is None:
            encoder = AutoModel.from_config(config.encoder, **dict(self.encoder_layout.init_kwargs))
        elif encoder.config.model_type != config.encoder.model_type:
            raise ValueError(
                f"encoder is a {encoder.config.model_type!r} model, config.encoder says {config.encoder.model_type!r}"
            )
        self.encoder = encoder
        dropout = config.classifier_dropout
        if dropout is None:
            dropout = getattr(config.encoder, "hidden_dropout_prob", getattr(config.encoder, "dropout", 0.1))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.encoder.hidden_size, config.num_labels)
        self.crf = self._build_crf()
        self.post_init()

    @classmethod
    def from_encoder_pretrained(
        cls, encoder_name_or_path: str, encoder_config: PreTrainedConfig | None = None, **config_kwargs
    ) -> "EncoderForTokenClassificationCRF":
        """Pretrained encoder weights (a Hub id or folder of any supported family) under a fresh emission layer and
        CRF; `config_kwargs` set the head (`id2label`, `label2id`, `label_scheme`, `crf_constraints`, ...)."""
        encoder_config = encoder_config or AutoConfig.from_pretrained(encoder_name_or_path)
        layout = encoder_layout(encoder_config.model_type)
        encoder = AutoModel.from_pretrained(encoder_name_or_path, config=encoder_config, **dict(layout.init_kwargs))
        attention = encoder.config._attn_implementation
        config = EncoderCRFConfig(encoder=encoder.config, **config_kwargs)
        config.encoder._attn_implementation_internal = attention  # a new composite config resets it
        return cls(config, encoder=encoder)

    @property
    def backbone(self) -> nn.Module:
        return self.encoder

    @property
    def encoder_layout(self) -> EncoderLayout:
        return encoder_layout(self.config.encoder.model_type)

    @property
    def _head_init_std(self) -> float:
        return getattr(self.config.encoder, "initializer_range", 0.02)

    @torch.no_grad()
    def _init_weights(self, module):
        if module is self.classifier:
            init.normal_(module.weight, std=self._head_init_std)
            init.zeros_(module.bias)
        elif isinstance(module, ConditionalRandomField):
            module.reset_parameters()

    def _encode(
        self, input_ids, attention_mask, token_type_ids, inputs_embeds, output_attentions, output_hidden_states
    ):
        # DistilBERT's forward takes no token_type_ids: pass them only when there are some.
        encoder_inputs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        outputs = self.encoder(
            input_ids,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            **encoder_inputs,
        )
        return self.classifier(self.dropout(outputs.last_hidden_state)), outputs


def _register() -> None:
    """Make the Auto classes resolve both model types, and make `save_pretrained` ship this file (auto_map)."""
    for config_class, model_class in (
        (XLNetCRFConfig, XLNetForTokenClassificationCRF),
        (EncoderCRFConfig, EncoderForTokenClassificationCRF),
    ):
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        AutoModel.register(config_class, model_class, exist_ok=True)
        AutoModelForTokenClassification.register(config_class, model_class, exist_ok=True)
        config_class.register_for_auto_class()
        model_class.register_for_auto_class("AutoModelForTokenClassification")


_register()

__all__ = [
    "ENCODER_LAYOUTS",
    "ConditionalRandomField",
    "CRFTokenClassificationMixin",
    "EncoderCRFConfig",
    "EncoderForTokenClassificationCRF",
    "EncoderLayout",
    "TokenClassifierCRFOutput",
    "XLNetCRFConfig",
    "XLNetForTokenClassificationCRF",
    "allowed_transitions",
    "encoder_layout",
]
