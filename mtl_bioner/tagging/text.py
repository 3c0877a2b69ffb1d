"""Rule-based sentence splitting and word tokenization that keep exact character offsets into the original text.

The models are trained on the Crichton et al. corpora, whose tokenization keeps runs of letters and digits together
(`11q22`, `RING1`) and makes every other visible character a token of its own (`A - T`, `2 . 5`, `( ref . 3 )`).
`tokenize` reproduces that rule on raw text:

* whitespace (`str.isspace`: spaces, tabs, newlines, no-break spaces) separates words and belongs to none;
* a word is a maximal run of letters, digits and combining marks (Unicode categories L*, N*, M*);
* any other visible character (punctuation, symbols, emoji) is a word on its own;
* invisible format characters (category Cf: zero-width space/joiners, soft hyphen, word joiner, BOM) never split a
  word: they join the word they follow, and after a zero-width joiner the next character joins too (emoji
  sequences). Leading ones, with no word before them, belong to no word. They are removed from the form the model
  sees (`model_form`) but stay inside the word's span, so offsets never drift.

`split_sentences` groups words into sentences: a sentence ends after `.`, `!` or `?` followed by whitespace and a word
starting with an uppercase letter, a digit or an opening bracket, unless the word before the full stop is a known
abbreviation or a single letter (`e.g.`, `et al.`, `J. Smith`); a blank line always ends a sentence. Offsets are
Python string indices (code points).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass


ZERO_WIDTH_JOINER = "\u200d"
SENTENCE_END = frozenset(".!?")
OPENING = frozenset("([{\"'\u2018\u201c")
ABBREVIATIONS = frozenset(
    {
        "al",
        "approx",
        "ca",
        "cf",
        "dr",
        "eq",
        "eqs",
        "fig",
        "figs",
        "i.e",
        "e.g",
        "mr",
        "mrs",
        "ms",
        "no",
        "nos",
        "prof",
        "ref",
        "refs",
        "resp",
        "st",
        "vs",
        "viz",
        "vol",
    }
)


@dataclass(frozen=True)
class Word:
    """A word of a document: its span `[start, end)` in the document and the form given to the tokenizer."""

    start: int
    end: int
    form: str


def _kind(char: str) -> str:
    """'space', 'glue' (invisible format character), 'word' (letter/digit/mark) or 'single' (anything else)."""
    if char.isspace():
        return "space"
    category = unicodedata.category(char)
    if category == "Cf":
        return "glue"
    if category[0] in "LNM":
        return "word"
    return "single"


def model_form(text: str) -> str:
    """The word as the model sees it: without invisible format characters (soft hyphens, zero-width characters)."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Word]:
    """Words of `text[start:end]` with their offsets in `text`, following the module's rules."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    end = len(text) if end is None else end
    spans: list[list[int]] = []
    current_kind = None  # kind of the open word: 'word', 'single' or None when no word is open
    for index in range(start, end):
        char = text[index]
        kind = _kind(char)
        if kind == "space":
            current_kind = None
            continue
        if current_kind is not None and (
            kind == "glue"
            or (kind == "word" and current_kind == "word")
            or (kind == "word" and unicodedata.category(char)[0] == "M")  # a mark never starts a word
            or text[index - 1] == ZERO_WIDTH_JOINER
        ):
            spans[-1][1] = index + 1
            continue
        if kind == "glue":  # nothing to attach to
            continue
        spans.append([index, index + 1])
        current_kind = "word" if kind == "word" else "single"
    return [Word(s, e, model_form(text[s:e])) for s, e in spans]


def _ends_sentence(text: str, words: list[Word], index: int) -> bool:
    """Whether a sentence ends after `words[index]` (and before `words[index + 1]`)."""
    word, following = words[index], words[index + 1]
    gap = text[word.end : following.start]
    if gap.replace("\r\n", "\n").replace("\r", "\n").count("\n") >= 2:  # a blank line
        return True
    if word.form not in SENTENCE_END or not gap or not gap.isspace():
        return False
    first = following.form[:1]
    if not (first.isupper() or first.isdigit() or first in OPENING):
        return False
    if word.form == "." and index > 0 and words[index - 1].end == word.start:
        previous = words[index - 1].form
        # `e.g.` is tokenized `e . g .`: look two words back to see `e.g`.
        dotted = (
            f"{words[index - 3].form}.{previous}"
            if index >= 3 and words[index - 2].form == "." and words[index - 3].end == words[index - 2].start
            else previous
        )
        if (
            len(previous) == 1
            and previous.isalpha()
            or previous.lower() in ABBREVIATIONS
            or dotted.lower() in ABBREVIATIONS
        ):
            return False
    return True


def split_sentences(text: str) -> list[list[Word]]:
    """The document's words grouped into sentences (empty sentences are never produced)."""
    words = tokenize(text)
    sentences: list[list[Word]] = []
    current: list[Word] = []
    for index, word in enumerate(words):
        current.append(word)
        if index + 1 < len(words) and _ends_sentence(text, words, index):
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


__all__ = ["ABBREVIATIONS", "Word", "model_form", "split_sentences", "tokenize"]
