"""Tagging schemes (IOB1, IOB2, BIOES, BILOU) and the one rule that reads tags into entity spans.

Standard library only: the tagger's remote code carries a copy of this exact file, so it must import alone.

Every reader of tags in the project goes through `entity_spans`, whose rule is seqeval's default (conlleval) mode, so
a span counted by the scorer is the span a user sees. Conversions decode with the same rule and re-encode, which is
lossless for any sequence that `validate_tags` accepts under its scheme.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


SCHEMES = ("IOB1", "IOB2", "BIOES", "BILOU")
SCHEME_ALIASES = {"IOBES": "BIOES", "BIO": "IOB2"}
# Prefixes of each scheme, in the order `label_names` lists them for one type.
SCHEME_PREFIXES: dict[str, tuple[str, ...]] = {
    "IOB1": ("B", "I"),
    "IOB2": ("B", "I"),
    "BIOES": ("B", "I", "E", "S"),
    "BILOU": ("B", "I", "L", "U"),
}
OUTSIDE = "O"
X_LABEL = "X"
# BILOU's L-/U- mean what BIOES's E-/S- mean; seqeval's default mode only knows the latter.
_READ_AS = {"B": "B", "I": "I", "E": "E", "S": "S", "L": "E", "U": "S"}


class TagSchemeError(ValueError):
    """An illegal tag or tag sequence; `position` (0-based) and `sentence` let a caller name the file and line."""

    def __init__(self, position: int, message: str, sentence: int | None = None):
        self.position = position
        self.message = message
        self.sentence = sentence
        where = f"position {position}" if sentence is None else f"sentence {sentence}, position {position}"
        super().__init__(f"{where}: {message}")


def canonical_scheme(scheme: str) -> str:
    """The scheme's name in `SCHEMES` (`"IOBES"` -> `"BIOES"`, `"BIO"` -> `"IOB2"`, any case)."""
    name = SCHEME_ALIASES.get(scheme.upper(), scheme.upper())
    if name not in SCHEMES:
        raise ValueError(f"Unknown tagging scheme {scheme!r}, expected one of {', '.join(SCHEMES)} (or IOBES, BIO)")
    return name


def entity_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """`(type, start, end)` word spans (end exclusive) of a tag sequence, in order: seqeval's default-mode reading.

    The rule, which reads valid IOB1, IOB2, BIOES and BILOU alike and settles malformed (e.g. predicted) sequences
    the way conlleval scores them:

    - an entity ends before a word when the previous word was `E-`/`S-`, when a `B-`/`I-` is followed by `B-`, `S-`
      or `O`, or when the type changes (so `B-X I-Y` is two entities);
    - an entity starts at every `B-`/`S-`, and at an `I-`/`E-` that does not continue an open entity of its type
      (after `O`, after `E-`/`S-`, or after another type: `O I-X` opens an entity at the `I-X`).

    `X` (the continuation-piece label of the paper's [X] scheme) reads as `O`, BILOU's `L-`/`U-` as `E-`/`S-`, and a
    bare prefix (`B`, `I`, ...) as a prefix with the empty type `""` (seqeval calls that type `"_"`). A label that is
    none of these (e.g. `Gene`, which seqeval would read as type `"ene"` with a warning) raises `TagSchemeError`.
    """
    spans: list[tuple[str, int, int]] = []
    open_type: str | None = None
    open_start = 0
    previous_prefix = OUTSIDE
    for position, tag in enumerate(tags):
        prefix, entity_type = _read_tag(tag, position)
        if open_type is not None and (
            previous_prefix in ("E", "S") or prefix in ("B", "S", OUTSIDE) or entity_type != open_type
        ):
            spans.append((open_type, open_start, position))
            open_type = None
        if prefix != OUTSIDE and (prefix in ("B", "S") or open_type is None):
            open_type, open_start = entity_type, position
        previous_prefix = prefix
    if open_type is not None:
        spans.append((open_type, open_start, len(tags)))
    return spans


def spans_to_tags(spans: Iterable[tuple[str, int, int]], length: int, scheme: str = "IOB2") -> list[str]:
    """Tags of `length` words in `scheme` for ordered, non-overlapping `(type, start, end)` spans (end exclusive)."""
    scheme = canonical_scheme(scheme)
    tags = [OUTSIDE] * length
    previous_type, previous_end = None, -1
    for entity_type, start, end in spans:
        if not entity_type:
            raise ValueError(f"span ({entity_type!r}, {start}, {end}) has an empty type, expected a named type")
        if not max(previous_end, 0) <= start < end <= length:
            raise ValueError(
                f"span ({entity_type!r}, {start}, {end}) overlaps, is unordered or exceeds {length} words"
            )
        if scheme == "IOB2":
            prefixes = ["B"] + ["I"] * (end - start - 1)
        elif scheme == "IOB1":
            first = "B" if (previous_end == start and previous_type == entity_type) else "I"
            prefixes = [first] + ["I"] * (end - start - 1)
        else:
            single, last = ("S", "E") if scheme == "BIOES" else ("U", "L")
            prefixes = [single] if end - start == 1 else ["B"] + ["I"] * (end - start - 2) + [last]
        tags[start:end] = [f"{prefix}-{entity_type}" for prefix in prefixes]
        previous_type, previous_end = entity_type, end
    return tags


def validate_tags(tags: Sequence[str], scheme: str) -> None:
    """Raise `TagSchemeError` at the first tag that is not legal where it stands in `scheme`.

    Legal tags are `O` and `<prefix>-<type>` with a prefix of the scheme. IOB2: `I-X` continues a `B-X`/`I-X`. IOB1:
    `B-X` only follows an `X` entity (it separates two adjacent `X` entities). BIOES/BILOU: `I-X` and `E-X`/`L-X`
    continue a `B-X`/`I-X`, and every `B-X`/`I-X` is continued, so entities are closed explicitly.
    """
    scheme = canonical_scheme(scheme)
    previous_prefix, previous_type, previous_tag = OUTSIDE, None, "the sentence start"
    for position, tag in enumerate(tags):
        prefix, entity_type = _split_tag(tag, position, SCHEME_PREFIXES[scheme], scheme)
        continues = previous_prefix in ("B", "I") and previous_type == entity_type
        if scheme == "IOB2" and prefix == "I" and not continues:
            raise TagSchemeError(
                position, f"{tag} follows {previous_tag}, expected B-{entity_type} to open the entity (IOB2)"
            )
        if scheme == "IOB1" and prefix == "B" and not continues:
            raise TagSchemeError(
                position,
                f"{tag} follows {previous_tag}, expected I-{entity_type}: IOB1 uses B- only to separate two "
                f"adjacent {entity_type} entities",
            )
        if scheme in ("BIOES", "BILOU"):
            single, last = ("S", "E") if scheme == "BIOES" else ("U", "L")
            inside = previous_prefix in ("B", "I")
            if prefix in ("I", last) and not continues:
                raise TagSchemeError(
                    position,
                    f"{tag} follows {previous_tag} with no opening tag, expected B-{entity_type} (or {single}-"
                    f"{entity_type} for one word) to open the entity ({scheme})",
                )
            if prefix in ("B", single, OUTSIDE) and inside:
                raise TagSchemeError(
                    position,
                    f"{tag} follows {previous_tag}, expected I-{previous_type} or {last}-{previous_type} to close "
                    f"the open entity first ({scheme})",
                )
        previous_prefix, previous_type, previous_tag = prefix, entity_type, tag
    if scheme in ("BIOES", "BILOU") and previous_prefix in ("B", "I"):
        last = "E" if scheme == "BIOES" else "L"
        raise TagSchemeError(
            len(tags) - 1, f"{previous_tag} ends the sentence, expected {last}-{previous_type} to close it ({scheme})"
        )


def repair_tags(tags: Sequence[str], scheme: str) -> list[str]:
    """Opt-in repair: the tags, legal in `scheme`, of the entities `entity_spans` reads (e.g. IOB2 `O I-X` -> `O B-X`).

    Only the order is repaired; a tag foreign to the scheme (e.g. `E-X` in IOB2, or `Gene`) still raises.
    """
    scheme = canonical_scheme(scheme)
    for position, tag in enumerate(tags):
        _split_tag(tag, position, SCHEME_PREFIXES[scheme], scheme)
    return spans_to_tags(entity_spans(tags), len(tags), scheme)


def convert_tags(tags: Sequence[str], source: str, target: str) -> list[str]:
    """`tags`, valid in `source` (else `TagSchemeError`), rewritten in `target`; lossless between any two schemes."""
    validate_tags(tags, source)
    return spans_to_tags(entity_spans(tags), len(tags), target)


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """The scheme of some tag sequences, from the prefixes seen and where entities open.

    `E-`/`S-` mean BIOES, `L-`/`U-` BILOU. With only `B-`/`I-`: IOB1 when some `I-X` opens an entity and no `B-X`
    does (in IOB1 `B-X` only separates adjacent `X` entities), otherwise IOB2, so ambiguous input (e.g. all `O`) is
    IOB2. Raises `TagSchemeError` (with `sentence` set) on a label that is not a tag, and on mixed schemes: BIOES with
    BILOU prefixes, or `E-`/`S-`/`L-`/`U-` in data whose entities open IOB1-style with `I-`.
    """
    first_seen: dict[str, tuple[int, int, str]] = {}
    for sentence, tags in enumerate(tag_sequences):
        previous_prefix, previous_type = OUTSIDE, None
        for position, tag in enumerate(tags):
            try:
                prefix, entity_type = _split_tag(tag, position, tuple(_READ_AS), "any")
            except TagSchemeError as error:
                raise TagSchemeError(position, error.message, sentence) from None
            continues = previous_prefix in ("B", "I") and previous_type == entity_type
            kind = f"opening {prefix}" if prefix in ("B", "I") and not continues else prefix
            first_seen.setdefault(kind, (sentence, position, tag))
            previous_prefix, previous_type = prefix, entity_type

    def clash(kind: str, other: str, what: str) -> TagSchemeError:
        sentence, position, tag = first_seen[kind]
        other_sentence, other_position, other_tag = first_seen[other]
        return TagSchemeError(
            position,
            f"{tag} mixes schemes: {what} ({other_tag} at sentence {other_sentence}, position {other_position}), "
            "expected one scheme per file",
            sentence,
        )

    bioes = next((kind for kind in ("E", "S") if kind in first_seen), None)
    bilou = next((kind for kind in ("L", "U") if kind in first_seen), None)
    iob1_style = "opening I" in first_seen and "opening B" not in first_seen
    if bioes and bilou:
        raise clash(bilou, bioes, "BILOU tags next to BIOES tags")
    if (bioes or bilou) and iob1_style:
        raise clash(bioes or bilou, "opening I", "BIOES/BILOU tags next to entities opened IOB1-style by I-")
    if bioes:
        return "BIOES"
    if bilou:
        return "BILOU"
    return "IOB1" if iob1_style else "IOB2"


def label_names(entity_types: Iterable[str], scheme: str = "IOB2") -> list[str]:
    """Label names in ClassLabel order: `O`, then each type in the order given with the scheme's prefixes."""
    prefixes = SCHEME_PREFIXES[canonical_scheme(scheme)]
    return [OUTSIDE] + [f"{prefix}-{entity_type}" for entity_type in entity_types for prefix in prefixes]


def _read_tag(tag: str, position: int) -> tuple[str, str | None]:
    """(prefix as seqeval reads it, type) of any tag `entity_spans` accepts; `("O", None)` for `O` and `X`."""
    if tag in (OUTSIDE, X_LABEL):
        return OUTSIDE, None
    prefix, _, entity_type = tag.partition("-")
    if prefix not in _READ_AS:
        raise TagSchemeError(
            position, f"label {tag!r} is not a tag: expected O, X or <prefix>-<type> with a prefix in B, I, E, S, L, U"
        )
    return _READ_AS[prefix], entity_type


def _split_tag(tag: str, position: int, prefixes: Sequence[str], scheme: str) -> tuple[str, str | None]:
    """(prefix, type) of `O` or a typed `<prefix>-<type>` tag whose prefix is in `prefixes`, else `TagSchemeError`."""
    if tag == OUTSIDE:
        return OUTSIDE, None
    prefix, separator, entity_type = tag.partition("-")
    if prefix not in prefixes or not separator or not entity_type:
        expected = "/".join(f"{prefix}-" for prefix in prefixes)
        in_scheme = "a tag" if scheme == "any" else f"{'an' if scheme.startswith('I') else 'a'} {scheme} tag"
        raise TagSchemeError(position, f"{tag!r} is not {in_scheme}: expected O or {expected}<type>")
    return prefix, entity_type


__all__ = [
    "SCHEMES",
    "SCHEME_PREFIXES",
    "TagSchemeError",
    "canonical_scheme",
    "convert_tags",
    "detect_scheme",
    "entity_spans",
    "label_names",
    "repair_tags",
    "spans_to_tags",
    "validate_tags",
]
