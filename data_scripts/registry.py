"""The paper's 22 (entity type, dataset) rows, their folders, groups, unified labels, licences and citations.

Everything downstream asks this module which folder a row reads, which group it belongs to and which label names it
speaks, so each of those facts is written down once, here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import datasets

from .crichton import (
    CORPUS_TYPES,
    UPSTREAM_COMMIT,
    UPSTREAM_REPOSITORY,
    CorpusUnavailableError,
    label_names,
    load_corpus,
)
from .files import from_tagged_dataset
from .schemes import canonical_scheme


logger = logging.getLogger(__name__)

UNIFIED_TYPE: dict[str, str] = {"chemical": "Chemical", "disease": "Disease", "gene": "Gene", "species": "Species"}

COLLECTION_LICENSE = "CC BY 4.0"
COLLECTION_CITATION = (
    "Crichton G, Pyysalo S, Chiu B, Korhonen A. A neural network multi-task learning approach to biomedical named "
    "entity recognition. BMC Bioinformatics 18:368 (2017)."
)
_GENIA = dict(
    license="CC BY 3.0 (GENIA annotations); text: PubMed terms",
    attribution="Corpus annotations (c) GENIA Project",
)
_NACTEM = dict(license="CC BY-SA 3.0 (NaCTeM annotations); text: PubMed terms", attribution="Annotations (c) NaCTeM")
_NACTEM_KISTI = dict(
    license="CC BY-SA 3.0 (NaCTeM and KISTI annotations); text: PubMed terms",
    attribution="Annotations (c) NaCTeM and KISTI",
)

_CITATIONS = {
    "AnatEM": "Pyysalo S, Ananiadou S. Anatomical entity mention recognition at literature scale. Bioinformatics "
    "30(6):868-875 (2014).",
    "BC2GM": "Smith L et al. Overview of BioCreative II gene mention recognition. Genome Biology 9(Suppl 2):S2 (2008).",
    "BC4CHEMD": "Krallinger M et al. The CHEMDNER corpus of chemicals and drugs and its annotation principles. "
    "J Cheminform 7(Suppl 1):S2 (2015).",
    "BC5CDR": "Li J et al. BioCreative V CDR task corpus: a resource for chemical disease relation extraction. "
    "Database 2016:baw068 (2016).",
    "BioNLP09": "Kim JD et al. Overview of BioNLP'09 shared task on event extraction. BioNLP 2009 Shared Task (2009).",
    "BioNLP11EPI": "Ohta T, Pyysalo S, Tsujii J. Overview of the epigenetics and post-translational modifications (EPI) "
    "task of BioNLP Shared Task 2011. BioNLP Shared Task 2011 Workshop (2011).",
    "BioNLP11ID": "Pyysalo S et al. Overview of the infectious diseases (ID) task of BioNLP Shared Task 2011. "
    "BioNLP Shared Task 2011 Workshop (2011).",
    "BioNLP13CG": "Pyysalo S et al. Overview of the cancer genetics and pathway curation tasks of BioNLP Shared Task "
    "2013. BMC Bioinformatics 16(Suppl 10):S2 (2015).",
    "BioNLP13GE": "Kim JD, Wang Y, Yasunori Y. The Genia event extraction shared task, 2013 edition - overview. "
    "BioNLP Shared Task 2013 Workshop (2013).",
    "CRAFT": "Bada M et al. Concept annotation in the CRAFT corpus. BMC Bioinformatics 13:161 (2012).",
    "Ex-PTM": "Pyysalo S, Ohta T, Miwa M, Tsujii J. Towards exhaustive protein modification event extraction. "
    "BioNLP 2011 Workshop (2011).",
    "JNLPBA": "Kim JD et al. Introduction to the bio-entity recognition task at JNLPBA. JNLPBA Workshop (2004).",
    "LINNAEUS": "Gerner M, Nenadic G, Bergman CM. LINNAEUS: a species name identification system for biomedical "
    "literature. BMC Bioinformatics 11:85 (2010).",
    "NCBI-disease": "Dogan RI, Leaman R, Lu Z. NCBI disease corpus: a resource for disease name recognition and "
    "concept normalization. J Biomed Inform 47:1-10 (2014).",
}
_CITATIONS["BioNLP13PC"] = _CITATIONS["BioNLP13CG"]


@dataclass(frozen=True)
class Row:
    """One (entity type, dataset) row of the paper's Tables 1-2."""

    key: str
    dataset: str
    group: str
    folder: str
    license: str = f"{COLLECTION_LICENSE} (Crichton et al. collection)"
    attribution: str | None = None

    @property
    def native_types(self) -> tuple[str, ...]:
        """Entity type names as written in the folder's files."""
        return CORPUS_TYPES[self.folder]

    @property
    def citation(self) -> str:
        """The original corpus paper, then the collection the files come from."""
        return f"{_CITATIONS[self.dataset]} Converted to IOB2 by: {COLLECTION_CITATION}"

    @property
    def source(self) -> str:
        """Where the files come from: the folder in the collection's repository."""
        return f"https://github.com/{UPSTREAM_REPOSITORY}/tree/{UPSTREAM_COMMIT}/data/{self.folder}"


ROWS: tuple[Row, ...] = (
    Row("BC4CHEMD", "BC4CHEMD", "chemical", "BC4CHEMD"),
    Row("BC5CDR-chem", "BC5CDR", "chemical", "BC5CDR-chem-IOB"),
    Row("BioNLP11ID-chem", "BioNLP11ID", "chemical", "BioNLP11ID-chem-IOB", **_GENIA),
    Row("BioNLP13CG-chem", "BioNLP13CG", "chemical", "BioNLP13CG-chem-IOB", **_NACTEM),
    Row("BioNLP13PC-chem", "BioNLP13PC", "chemical", "BioNLP13PC-chem-IOB", **_NACTEM_KISTI),
    Row("CRAFT-chem", "CRAFT", "chemical", "CRAFT-chem-IOB"),
    Row("BC5CDR-disease", "BC5CDR", "disease", "BC5CDR-disease-IOB"),
    Row("NCBI-disease", "NCBI-disease", "disease", "NCBI-disease-IOB"),
    Row("BC2GM", "BC2GM", "gene", "BC2GM-IOB"),
    Row("BioNLP09", "BioNLP09", "gene", "BioNLP09-IOB"),
    Row("BioNLP11EPI", "BioNLP11EPI", "gene", "BioNLP11EPI-IOB"),
    Row("BioNLP11ID-ggp", "BioNLP11ID", "gene", "BioNLP11ID-ggp-IOB", **_GENIA),
    Row("BioNLP13CG-ggp", "BioNLP13CG", "gene", "BioNLP13CG-ggp-IOB", **_NACTEM),
    Row("BioNLP13GE", "BioNLP13GE", "gene", "BioNLP13GE-IOB"),
    Row("BioNLP13PC-ggp", "BioNLP13PC", "gene", "BioNLP13PC-ggp-IOB", **_NACTEM_KISTI),
    Row("CRAFT-ggp", "CRAFT", "gene", "CRAFT-ggp-IOB"),
    Row("Ex-PTM", "Ex-PTM", "gene", "Ex-PTM-IOB"),
    Row("JNLPBA", "JNLPBA", "gene", "JNLPBA", **_GENIA),
    Row("BioNLP11ID-species", "BioNLP11ID", "species", "BioNLP11ID-species-IOB", **_GENIA),
    Row("BioNLP13CG-species", "BioNLP13CG", "species", "BioNLP13CG-species-IOB", **_NACTEM),
    Row("CRAFT-species", "CRAFT", "species", "CRAFT-species-IOB"),
    Row("LINNAEUS", "LINNAEUS", "species", "linnaeus-IOB"),
)
_ROWS_BY_KEY: dict[str, Row] = {row.key: row for row in ROWS}
GROUPS: dict[str, tuple[str, ...]] = {
    group: tuple(row.key for row in ROWS if row.group == group) for group in UNIFIED_TYPE
}

# JNLPBA has no gene-only subset upstream: in the gene group it keeps `protein` and its other four types become O.
_KEPT_TYPES: dict[str, tuple[str, ...]] = {"JNLPBA": ("protein",)}


def get_row(key: str) -> Row:
    """The row with this key; the error lists the valid keys."""
    try:
        return _ROWS_BY_KEY[key]
    except KeyError:
        raise ValueError(f"Unknown row {key!r}, expected one of: {', '.join(_ROWS_BY_KEY)}") from None


def rows_in_group(group: str) -> list[Row]:
    """Rows of one group, in table order."""
    if group not in GROUPS:
        raise ValueError(f"Unknown group {group!r}, expected one of: {', '.join(GROUPS)}")
    return [_ROWS_BY_KEY[key] for key in GROUPS[group]]


def row_type_map(key: str, *, unify: bool = True, jnlpba_all_types: bool = False) -> dict[str, str | None]:
    """What each native type of a row becomes in `load_row`: its group's type when unified, itself otherwise, `None`
    (dropped to O) for the types a row does not keep (JNLPBA's non-protein types unless `jnlpba_all_types`)."""
    row = get_row(key)
    if jnlpba_all_types and unify:
        raise ValueError(
            "jnlpba_all_types=True keeps five native JNLPBA types, which cannot be unified: pass unify=False"
        )
    kept = row.native_types if jnlpba_all_types else _KEPT_TYPES.get(key, row.native_types)
    target = UNIFIED_TYPE[row.group] if unify else None
    return {native: (target or native) if native in kept else None for native in row.native_types}


def row_label_names(key: str, *, unify: bool = True, jnlpba_all_types: bool = False) -> list[str]:
    """Label names `load_row` gives this row: `O, B-<Unified>, I-<Unified>` when unified, else the kept native types."""
    types = row_type_map(key, unify=unify, jnlpba_all_types=jnlpba_all_types).values()
    return label_names(dict.fromkeys(entity_type for entity_type in types if entity_type is not None))


def load_row(
    key: str,
    data_dir: str | os.PathLike | None = None,
    *,
    unify: bool = True,
    jnlpba_all_types: bool = False,
    splits: Sequence[str] | None = None,
    cache_dir: str | os.PathLike | None = None,
    output_scheme: str = "IOB2",
    type_map: Mapping[str, str | None] | None = None,
) -> datasets.DatasetDict:
    """Load one paper row with `id`, `tokens`, `ner_tags`; unified rows of a group share one label vocabulary.

    With `unify=True` the row's native type becomes its group's type (e.g. `CHEBI` -> `Chemical`). JNLPBA is the one
    row whose files carry types outside its group: it keeps `protein` and its DNA, RNA, cell_line and cell_type
    mentions become O. `jnlpba_all_types=True` keeps all five native types instead (and requires `unify=False`).

    `output_scheme` other than IOB2 (e.g. BIOES, for `crf_constraints="BIOES"`) or a `type_map` of the native types
    (which then replaces the unification) re-encodes the tags through `files.from_tagged_dataset`, the reading and
    conversion of every user corpus; the result has `tokens` and `ner_tags`, labels `O` then the sorted types.
    """
    types = row_type_map(key, unify=unify, jnlpba_all_types=jnlpba_all_types)
    row = get_row(key)
    corpus = load_corpus(row.folder, data_dir, cache_dir=cache_dir, splits=splits)
    if type_map is not None or canonical_scheme(output_scheme) != "IOB2":
        return from_tagged_dataset(
            corpus, key, scheme="IOB2", output_scheme=output_scheme, type_map=types if type_map is None else type_map
        )
    target_names = row_label_names(key, unify=unify, jnlpba_all_types=jnlpba_all_types)
    source_names = label_names(row.native_types)
    if source_names == target_names:
        return corpus
    target_index = {name: i for i, name in enumerate(target_names)}
    mapping = []
    for name in source_names:
        target = types.get(name[2:])
        mapping.append(target_index["O"] if name == "O" or target is None else target_index[name[:2] + target])
    features = corpus["test" if "test" in corpus else next(iter(corpus))].features.copy()
    features["ner_tags"] = datasets.List(datasets.ClassLabel(names=target_names))
    return corpus.map(
        _relabel,
        batched=True,
        fn_kwargs={"mapping": mapping},
        features=features,
        desc=f"Relabelling {key}",
    )


def _relabel(batch: dict, mapping: list[int]) -> dict:
    return {"ner_tags": [[mapping[tag] for tag in tags] for tags in batch["ner_tags"]]}


class CorpusLoader(Protocol):
    """A corpus that is not a paper row (see `data_scripts.corpora`), loaded next to the rows by `load_group`."""

    def load(
        self,
        data_dir: str | os.PathLike | None,
        *,
        unify: bool,
        output_scheme: str,
        cache_dir: str | os.PathLike | None,
    ) -> datasets.DatasetDict: ...


def load_group(
    group_or_keys: str | Iterable[str],
    data_dir: str | os.PathLike | None = None,
    *,
    unify: bool = True,
    skip_unavailable: bool = False,
    cache_dir: str | os.PathLike | None = None,
    output_scheme: str = "IOB2",
    corpora: Mapping[str, CorpusLoader] | None = None,
) -> dict[str, datasets.DatasetDict]:
    """Load a group (e.g. `"chemical"`) or a list of keys; unavailable ones raise, or are skipped with a warning.

    A key is a paper row or a key of `corpora` (user corpora, which take precedence); every corpus is written in
    `output_scheme`, and with `unify` rows speak their group's type while user corpora speak their type map's.
    """
    corpora = corpora or {}
    if isinstance(group_or_keys, str):
        keys = [row.key for row in rows_in_group(group_or_keys)]
    else:
        keys = [key if key in corpora else get_row(key).key for key in group_or_keys]
    loaded = {}
    for key in keys:
        try:
            if key in corpora:
                loaded[key] = corpora[key].load(
                    data_dir, unify=unify, output_scheme=output_scheme, cache_dir=cache_dir
                )
            else:
                loaded[key] = load_row(key, data_dir, unify=unify, cache_dir=cache_dir, output_scheme=output_scheme)
        except CorpusUnavailableError as error:
            if not skip_unavailable:
                raise
            logger.warning("Skipping %s %s: %s", "corpus" if key in corpora else "row", key, error)
    return loaded


@dataclass(frozen=True)
class UserCorpus:
    """What results tables and model cards say about a corpus that is not one of the paper's rows."""

    key: str
    group: str
    dataset: str
    license: str | None = None
    citation: str | None = None
    attribution: str | None = None
    description: str | None = None
    source: str | None = None  # a Hub dataset id or a URL; None for local files


__all__ = [
    "COLLECTION_CITATION",
    "COLLECTION_LICENSE",
    "GROUPS",
    "ROWS",
    "CorpusLoader",
    "Row",
    "UNIFIED_TYPE",
    "UserCorpus",
    "get_row",
    "load_group",
    "load_row",
    "row_label_names",
    "row_type_map",
    "rows_in_group",
]
