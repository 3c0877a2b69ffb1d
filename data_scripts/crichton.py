"""The Crichton et al. (2017) biomedical NER corpora as a `datasets` builder.

The files come from cambridgeltl/MTL-Bioinformatics-2016 (`data/<folder>/{train,devel,test}.tsv`, one `token<TAB>tag`
line per word, a blank line between sentences, IOB2 tags; each IOB folder has a `-IOBES` twin with BIOES tags).
`datasets` 5 no longer runs loading scripts, so the builder is used directly through `load_corpus`, which picks the
source, keys the cache on the parsing code and on the source files, and validates every line: a malformed file is an
error that names the file and line, never a silent `O`. Lines are read by `conll.read_conll`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import datasets

from .conll import CorpusFormatError, CrichtonFormatError, checked_tags, read_conll
from .schemes import label_names


logger = logging.getLogger(__name__)

UPSTREAM_REPOSITORY = "cambridgeltl/MTL-Bioinformatics-2016"
UPSTREAM_COMMIT = "df0df02"
URL_TEMPLATE = f"https://raw.githubusercontent.com/{UPSTREAM_REPOSITORY}/{UPSTREAM_COMMIT}/data/{{folder}}/{{file}}"
ENV_VAR = "CRICHTON_DATA_DIR"

SPLIT_FILES: dict[str, str] = {"train": "train.tsv", "validation": "devel.tsv", "test": "test.tsv"}

_CITATION = """\
@article{crichton2017neural,
  title   = {A neural network multi-task learning approach to biomedical named entity recognition},
  author  = {Crichton, Gamal and Pyysalo, Sampo and Chiu, Billy and Korhonen, Anna},
  journal = {BMC Bioinformatics},
  volume  = {18},
  pages   = {368},
  year    = {2017},
  doi     = {10.1186/s12859-017-1776-8}
}"""

# Entity types as written in each upstream folder; the label set is O plus B-/I- of each type, in this order.
# Tests check these against the files, and parsing rejects any tag outside them.
CORPUS_TYPES: dict[str, tuple[str, ...]] = {
    "AnatEM-IOB": ("Anatomy",),
    "BC2GM-IOB": ("GENE",),
    "BC4CHEMD": ("Chemical",),
    "BC5CDR-IOB": ("Chemical", "Disease"),
    "BC5CDR-chem-IOB": ("Chemical",),
    "BC5CDR-disease-IOB": ("Disease",),
    "BioNLP09-IOB": ("Protein",),
    "BioNLP11EPI-IOB": ("Protein",),
    "BioNLP11ID-IOB": ("Chemical", "Organism", "Protein", "Regulon-operon"),
    "BioNLP11ID-chem-IOB": ("Chemical",),
    "BioNLP11ID-ggp-IOB": ("Protein",),
    "BioNLP11ID-species-IOB": ("Organism",),
    "BioNLP13CG-IOB": (
        "Amino_acid",
        "Anatomical_system",
        "Cancer",
        "Cell",
        "Cellular_component",
        "Developing_anatomical_structure",
        "Gene_or_gene_product",
        "Immaterial_anatomical_entity",
        "Multi-tissue_structure",
        "Organ",
        "Organism",
        "Organism_subdivision",
        "Organism_substance",
        "Pathological_formation",
        "Simple_chemical",
        "Tissue",
    ),
    "BioNLP13CG-cc-IOB": ("Cellular_component",),
    "BioNLP13CG-cell-IOB": ("Cell",),
    "BioNLP13CG-chem-IOB": ("Simple_chemical",),
    "BioNLP13CG-ggp-IOB": ("Gene_or_gene_product",),
    "BioNLP13CG-species-IOB": ("Organism",),
    "BioNLP13GE-IOB": ("Protein",),
    "BioNLP13PC-IOB": ("Cellular_component", "Complex", "Gene_or_gene_product", "Simple_chemical"),
    "BioNLP13PC-cc-IOB": ("Cellular_component",),
    "BioNLP13PC-chem-IOB": ("Simple_chemical",),
    "BioNLP13PC-ggp-IOB": ("Gene_or_gene_product",),
    "CRAFT-IOB": ("CHEBI", "CL", "GGP", "GO", "SO", "Taxon"),
    "CRAFT-cc-IOB": ("GO",),
    "CRAFT-cell-IOB": ("CL",),
    "CRAFT-chem-IOB": ("CHEBI",),
    "CRAFT-ggp-IOB": ("GGP",),
    "CRAFT-species-IOB": ("NCBITaxon",),
    "Ex-PTM-IOB": ("Protein",),
    "JNLPBA": ("DNA", "RNA", "cell_line", "cell_type", "protein"),
    "NCBI-disease-IOB": ("Disease",),
    "linnaeus-IOB": ("Species",),
}

# sha256 of every upstream file at the pinned commit. BC4CHEMD (all splits) and JNLPBA/train.tsv are missing from
# the mirror this table was computed from, so their hashes are unknown: they are downloaded unchecked, with a warning.
SHA256: dict[str, str] = {
    "AnatEM-IOB/devel.tsv": "0758bb2f26ec12fc717c1054b64ea00a40c7aae26b21a7541b86fbfba66119ec",
    "AnatEM-IOB/test.tsv": "a3d6555f6f5b7809fc014bee975be0db93c012d770ab60c190cf37d589e97fc9",
    "AnatEM-IOB/train.tsv": "bd4235e9673f7c67667c1eb321903a51544a94cf481ba265b527b3104d6ba806",
    "BC2GM-IOB/devel.tsv": "33a94577aa22f1e70ec9e02781a05baa4e1390e866d28bf2b344888e4e3d4103",
    "BC2GM-IOB/test.tsv": "30d7a4f571ca8ed22a044528063ba5d0388d666d8b8b329733d6927e5fb30764",
    "BC2GM-IOB/train.tsv": "46e17f4e1509483b82c03f27d6f0214020f738fb71704356fb3445eb824ab38d",
    "BC5CDR-IOB/devel.tsv": "b909de65c4f7e3c23bb09ad52d654cdc92e96db941abe1a5dcf6f6010c03cff5",
    "BC5CDR-IOB/test.tsv": "e41a2843a5fff0cd8d1a88cb147968d61ae29336ca70cddc3d7fb8ff21dfa1e8",
    "BC5CDR-IOB/train.tsv": "b731361c0ed73afd04cc5fdad39afcdfd8f325d6e46c282339185a91d1af4c14",
    "BC5CDR-chem-IOB/devel.tsv": "3f1df5cfcff95735663ffc37121fd3687e82b1e9a019bec0480491502652721b",
    "BC5CDR-chem-IOB/test.tsv": "6fce42139a9d819151eff3ab8cb0eda6fbf861fd17d4cfe6be2123f010a3b6c5",
    "BC5CDR-chem-IOB/train.tsv": "165c4cd2efadd0caf1bb8f3c6bcd3acca199446bb3d55eb06d9137114c9a0b2d",
    "BC5CDR-disease-IOB/devel.tsv": "8c3af95475029c2100c2b7c0108b2715bc700ac198c7a21d587f11f1d06b17bd",
    "BC5CDR-disease-IOB/test.tsv": "a530bf9e17a4122b101b09cedd5f3cf8e6307d6a0093146c33b8de2e69ec0fa3",
    "BC5CDR-disease-IOB/train.tsv": "d630dafe7dd67e21350cc3278dbdcfadcccbb2b63d0fda83b2427853988e5ad9",
    "BioNLP09-IOB/devel.tsv": "9cfebba60ecb0db64ce9153c3500f2e7e995c6c5e827f0d7f3e7a9dc5422aada",
    "BioNLP09-IOB/test.tsv": "b4e2acba0863bbd9ed27264adafc3e1d0b1cd764334366a622d662eeb5c310f4",
    "BioNLP09-IOB/train.tsv": "abf9a6242bbd932e725f85d6ceb0ece41aae3c96775e45d18364868a1ad7bfe1",
    "BioNLP11EPI-IOB/devel.tsv": "522435a7f9e8fb22d2a0575493b3e8dbbe6bafedae944c7d346c7fffd55e06d5",
    "BioNLP11EPI-IOB/test.tsv": "fa4aa96d5f318cafa741fffa5e3fa542f29f0b67320f0b8ba7e1f8780848490b",
    "BioNLP11EPI-IOB/train.tsv": "96c531c78b76b7e1f7d38547e6f6a321c6781a6f199c151f443855765996d34f",
    "BioNLP11ID-IOB/devel.tsv": "cc48d04e83a22adcb2a7071c0beb956fff444dd5f40efe4b09f8b04dafeccc43",
    "BioNLP11ID-IOB/test.tsv": "94cc21cf0b86a5af059c7d93f7f3a7c717c413004a291b7edc70efc3b5dc4591",
    "BioNLP11ID-IOB/train.tsv": "0ec273b9fbf05d15d347a06d67fe084afc18a1738c574b0b4f544d756ad280f7",
    "BioNLP11ID-chem-IOB/devel.tsv": "1d49e2be6821b1972e43565ed329513a758cd1cbe4549c5156100daae4c14fa1",
    "BioNLP11ID-chem-IOB/test.tsv": "1c9f2a575be46a52bfad6fb0876ff8ee8eddaef5515ebfb4bf06652608c0453e",
    "BioNLP11ID-chem-IOB/train.tsv": "c3061cb3ee267ed90b7a60e3b585f8ba35a909e0fa347274634491e81fea6eb4",
    "BioNLP11ID-ggp-IOB/devel.tsv": "40292fd71358feb11910c65c39f8ac69973d20d4b98ac5d2f2e82c9cd226478b",
    "BioNLP11ID-ggp-IOB/test.tsv": "dfd9a1170a5d9681d513e88bfa15a306488d5869139a4821ac413522911c1293",
    "BioNLP11ID-ggp-IOB/train.tsv": "77f770192e8cff59eba86667e0da19ace90341555b9ea3ee0b9d6deb197a2fef",
    "BioNLP11ID-species-IOB/devel.tsv": "2356ea17bf507d278f1415c84a80c0dcf6b8802416c53414a3f26cd861129137",
    "BioNLP11ID-species-IOB/test.tsv": "13d84c91619139209de14c08a75026178a7a150cb1411b697a0c37d50771e0be",
    "BioNLP11ID-species-IOB/train.tsv": "6c7f109b70c232443db517dee1a622e537684ffbcd7c4104183453e2267940fe",
    "BioNLP13CG-IOB/devel.tsv": "6c834f3a16ed080940e7e12d831ca8f79458d08db5d6f0c1fdbfe85c3c7a072c",
    "BioNLP13CG-IOB/test.tsv": "9ee374ba1b93af177ba3d39dfda4c7e1602bd703d8011bae46a34f3d719cd338",
    "BioNLP13CG-IOB/train.tsv": "016ee311428431433c46ceeebeba5fce9c3da9bfd05fafcc484e57a736ea91e7",
    "BioNLP13CG-cc-IOB/devel.tsv": "e8fb22259d2960f17e7b7aeb2b576a9dd5161817715ff674ca7e67d2ba39e6ff",
    "BioNLP13CG-cc-IOB/test.tsv": "4d9694d1f75be10a5987c352b943af5cefe5593fddf83f0586b44db56dd07f5d",
    "BioNLP13CG-cc-IOB/train.tsv": "2751018339c78b3e78e95f99042415d9a9e2b72d50d60be5dfc5a877ec6029be",
    "BioNLP13CG-cell-IOB/devel.tsv": "6611f43ad4680e6b29a3097b451cf53f5a5c63addb66ac7b9ce1ebd8bf57f738",
    "BioNLP13CG-cell-IOB/test.tsv": "88c40be1314fd801a7413b779c0c00758cd08d60f27357fecb73afaf0a1e2f0c",
    "BioNLP13CG-cell-IOB/train.tsv": "622b6f6d177d5ee44924d3d3b54b444cd21e863c1c261f0f6c1a272fa1678d01",
    "BioNLP13CG-chem-IOB/devel.tsv": "2d7c6ad64d6ad1102d97afc0ded1939c66d22e2aca61ef7a12553edc1d9a5a7b",
    "BioNLP13CG-chem-IOB/test.tsv": "45df8f868329fd504fc29f1aff5bce7be60382d8be21539d8f2264b22f395007",
    "BioNLP13CG-chem-IOB/train.tsv": "efc0513f346e46dc8699bf87ed69ed21acac350d323d655b9e7ed67428d3b8c5",
    "BioNLP13CG-ggp-IOB/devel.tsv": "97f59ef34444fe40eea3efde6637dc3b3bfe53232a51ae50dab0be373897b102",
    "BioNLP13CG-ggp-IOB/test.tsv": "44489463c00ff75a2f3868ba4c9950b8a1ad13c8e9524d968a0e50dda93669e4",
    "BioNLP13CG-ggp-IOB/train.tsv": "eae03b77052f057aec0bb9d5f5eff60584ac008d1743d2ffac5a5a6114425b8c",
    "BioNLP13CG-species-IOB/devel.tsv": "3b909b9fda5896ceea3f2a847efcee608faf02fe31c3c4d3aa7b0558b4ea97c2",
    "BioNLP13CG-species-IOB/test.tsv": "fc051ee7ae9e1a77ce74a6c9c029a2e1023d3fb8c5145d5c003ab8e4498633ef",
    "BioNLP13CG-species-IOB/train.tsv": "848fe7fd814eda8df96481151e3aba7a994d8a1a5a8a6368f0618fa8bfed5ebb",
    "BioNLP13GE-IOB/devel.tsv": "b09afafc63fc4fcc2ddc3a5a0a9711c973bc1aecee48e3e5afec6364e39b83b4",
    "BioNLP13GE-IOB/test.tsv": "812fdb078ad257d3b87a6f9ff62a37cf622225cf3763bdaed9c897169b528cfa",
    "BioNLP13GE-IOB/train.tsv": "6961abede2a0a14cd984674435accf6f4bbb201361bf04a796a248c2ffce3759",
    "BioNLP13PC-IOB/devel.tsv": "e04545457858133fd5c80bef67f7904fc51fa099d119346400477f6bf1d30957",
    "BioNLP13PC-IOB/test.tsv": "61bc26bf06a3481adc8ac7032a59e3c71c1ff16ceb81a039b43b4d3e8ae3c06a",
    "BioNLP13PC-IOB/train.tsv": "3bba35afa15be3048240154c9b529e0e4f011f53ed7200b15762f00236e2ab02",
    "BioNLP13PC-cc-IOB/devel.tsv": "0cc8a739347fd6073c4e471fd155abd29c53371acafe30e8aa5ef996ca3b25da",
    "BioNLP13PC-cc-IOB/test.tsv": "57e8f48d7b6777c3ea09e18393b28a1f7e7a9c6a5283cd2897f8abdb5c285651",
    "BioNLP13PC-cc-IOB/train.tsv": "910fc63236345f1c7fdc429915fe59da5cf2aedaa69ae0b1892fa9c9892698db",
    "BioNLP13PC-chem-IOB/devel.tsv": "58081382558640838cbd4beec5786cd2c9954c5b84e88468c34e5f3421685bcb",
    "BioNLP13PC-chem-IOB/test.tsv": "53799fd4e87f47fa653f43f2ea8a850e4c9e3b963ef2102ca426dcbbdaa0f11d",
    "BioNLP13PC-chem-IOB/train.tsv": "a3586c7d35e2027fefed5e25276219c96fc5f3898cce7d445778f8fee9130968",
    "BioNLP13PC-ggp-IOB/devel.tsv": "5c96f8f768901fda2ab7f9c47cbedbdae9072da7376b933c23ccfbf1c08351fb",
    "BioNLP13PC-ggp-IOB/test.tsv": "9a7992ac6efdd534ee7c489ac9d1a61e036f56762c946e5c78d84f8096f8a6d2",
    "BioNLP13PC-ggp-IOB/train.tsv": "9b0739ffbba0dd8ec76e54af66d7251da5c56f95e68de588f2f734c0237ea753",
    "CRAFT-IOB/devel.tsv": "95960d9a2fe97e437ca864c3e4c3f2c77c29a3bf8d3483c5e52a7e1a0f46b4ce",
    "CRAFT-IOB/test.tsv": "f4d105baa2ad0db0aab6348ec9f90af00ce8175bc47282ddb5079d01d884b90c",
    "CRAFT-IOB/train.tsv": "3c49de4dba0a490459d2f7c8c0d1ae7659e2efeff8b1afec610226902f525979",
    "CRAFT-cc-IOB/devel.tsv": "02c54aa52c1ed40a4d7c8746d588c262b7ac34f4debfc5351c782092c375bda1",
    "CRAFT-cc-IOB/test.tsv": "77253536393d456ea5f0c19fbb4737f4b64d10faaa8c67cc5511b48d1a2b1339",
    "CRAFT-cc-IOB/train.tsv": "d781fdaceb0938ccac5c2303fb0a6dc19c96f90fb46331882bca8866fbd0c53c",
    "CRAFT-cell-IOB/devel.tsv": "d7bef14d255bc6ec3a69382ef566c900040875743c13602bc92971d3d937ef43",
    "CRAFT-cell-IOB/test.tsv": "b72e50a0e4994ee7d4fe1b96d382052572cf6de293915064303334a85add29a1",
    "CRAFT-cell-IOB/train.tsv": "9c30fb152552b03ed84d9e39fb256d2a9e79f81706268d83e2b574cb821d2634",
    "CRAFT-chem-IOB/devel.tsv": "b2fd7d38a552d3ae9c8d7ab01348f7d77ed7b303885313a973c728eee6c77853",
    "CRAFT-chem-IOB/test.tsv": "452ac0dc9fadaec94722012350ee3f9fdfb7cc5b943919721e2d3b1f308912d3",
    "CRAFT-chem-IOB/train.tsv": "b5f6d646d9abe1ae041b2124a7dd9a925cb704e0fb4ddb3d4f8339b36aa3ec13",
    "CRAFT-ggp-IOB/devel.tsv": "1f13e2b4f2be5f4a414652aa98d062c27349de8d74240d9a2a73f3a76fb06d0d",
    "CRAFT-ggp-IOB/test.tsv": "f2b8b1cec54b15eb64abff17f16d696552ee46ae890095a0ccb8c854533df69d",
    "CRAFT-ggp-IOB/train.tsv": "43957478a2af18cf6d7833fc65a8191d54fc70764fb2298832db62a30de0f94f",
    "CRAFT-species-IOB/devel.tsv": "f702529e903a1f2cb79c1ca2657ff7e8413e6a3278b34507c0f2afaac71a34b1",
    "CRAFT-species-IOB/test.tsv": "63f9164ccb91c842323788299d29d4fdad0a04e90063dd2a96d17850bbc39791",
    "CRAFT-species-IOB/train.tsv": "408b2057a88f6043720e731bc9a2ce322b86492793e4cb222203fa28b486c9ba",
    "Ex-PTM-IOB/devel.tsv": "488bb9fc78dd439473158753a87bc341016835bc4698b0756bcd52cd80e4de1e",
    "Ex-PTM-IOB/test.tsv": "f4da237c2caced544a20ce7567835e840a410fa329f9ef33f62cb343e7481e0d",
    "Ex-PTM-IOB/train.tsv": "93633cfd1b3722960f17c632a92d0cc403168fbaddef5d4e7027761cdbb13ac6",
    "JNLPBA/devel.tsv": "462b09bc79a4dd69cec2e70b6041f54383b4b94892d2ee971a587fdc74caae80",
    "JNLPBA/test.tsv": "87c9b8f1f7fcf94add38c16088203d4ddf35c2f61eb2c7e61240c738d8dd9d35",
    "NCBI-disease-IOB/devel.tsv": "b4e1e7efcc2a35047bf2f3d281648357470e674f555d4a26a0049ac37d59cc61",
    "NCBI-disease-IOB/test.tsv": "8f088ce45dc4746592188f9e69de3d89d87f3bb8f0ed8c4a287d018123fa148d",
    "NCBI-disease-IOB/train.tsv": "58379baf4614b8d757d93dd7a21b202849ca99f9b9d71b49185523ff5443300c",
    "linnaeus-IOB/devel.tsv": "042b5676d4f541995d617f43e2926afdf6653ed60ad9010c2f45b78ae869f2b6",
    "linnaeus-IOB/test.tsv": "1792b82f7cf9159fd71de38b139a457dbc5ca126c13ac9e355a5fad3e65930ad",
    "linnaeus-IOB/train.tsv": "74c8612944a4de87665680989a3d589c843562d3ec175e3b512295691b221d9a",
}


class CorpusChecksumError(ValueError):
    """A downloaded file differs from the pinned upstream file."""


class CorpusUnavailableError(FileNotFoundError):
    """A split file could not be found locally or downloaded."""


def iobes_twin(name: str) -> str:
    """Upstream folder holding the BIOES rendering of an IOB folder (`NCBI-disease-IOB` -> `NCBI-disease-IOBES`)."""
    return name + "ES" if name.endswith("-IOB") else name + "-IOBES"


# Every IOB folder has a BIOES twin upstream: same tokens, sentences and spans (JNLPBA-IOBES excepted: its sentence
# boundaries are shifted by one word upstream). Their hashes are not recorded, so downloads are used unchecked.
IOBES_TWINS: dict[str, str] = {iobes_twin(folder): folder for folder in CORPUS_TYPES}


def corpus_scheme(name: str) -> str:
    """Tagging scheme of an upstream folder: BIOES for the `-IOBES` twins, IOB2 otherwise."""
    return "BIOES" if name in IOBES_TWINS else "IOB2"


@dataclass
class CrichtonConfig(datasets.BuilderConfig):
    """One upstream folder; `sources` maps each split to build onto a local path or a pinned URL."""

    entity_types: tuple[str, ...] = ()
    scheme: str = "IOB2"
    repair_iob: bool = False
    sources: tuple[tuple[str, str], ...] = ()


class Crichton(datasets.GeneratorBasedBuilder):
    """Builder for the Crichton corpora; prefer `load_corpus`, which fills in `sources` and the cache hash."""

    VERSION = datasets.Version("1.0.0")
    BUILDER_CONFIG_CLASS = CrichtonConfig
    BUILDER_CONFIGS = [
        CrichtonConfig(
            name=name,
            version=datasets.Version("1.0.0"),
            entity_types=CORPUS_TYPES[IOBES_TWINS.get(name, name)],
            scheme=corpus_scheme(name),
        )
        for name in (*CORPUS_TYPES, *IOBES_TWINS)
    ]

    def _info(self) -> datasets.DatasetInfo:
        names = label_names(self.config.entity_types, self.config.scheme)
        return datasets.DatasetInfo(
            description=f"Crichton et al. (2017) NER corpus {self.config.name}, {self.config.scheme} tags.",
            features=datasets.Features(
                {
                    "id": datasets.Value("string"),
                    "tokens": datasets.List(datasets.Value("string")),
                    "ner_tags": datasets.List(datasets.ClassLabel(names=names)),
                }
            ),
            homepage=f"https://github.com/{UPSTREAM_REPOSITORY}",
            citation=_CITATION,
        )

    def _split_generators(self, dl_manager: datasets.DownloadManager) -> list[datasets.SplitGenerator]:
        paths = {}
        for split, source in self.config.sources:
            paths[split] = _download(self.config.name, split, source, dl_manager) if _is_url(source) else source
        return [datasets.SplitGenerator(name=split, gen_kwargs={"path": path}) for split, path in paths.items()]

    def _generate_examples(self, path: str) -> Iterator[tuple[int, dict]]:
        names = label_names(self.config.entity_types, self.config.scheme)
        label2id = {name: i for i, name in enumerate(names)}
        num_repairs = 0
        for index, sentence in enumerate(read_conll(path, columns=2)):
            for tag, line in zip(sentence.tags, sentence.lines, strict=True):
                if tag not in label2id:
                    raise CorpusFormatError(
                        f"{path}:{line}: tag {tag!r} is not in the label set, expected one of {', '.join(names)}"
                    )
            tags = checked_tags(
                path, sentence, self.config.scheme, repair=self.config.repair_iob, repair_option="repair_iob"
            )
            num_repairs += sum(old != new for old, new in zip(sentence.tags, tags))
            yield index, {"id": str(index), "tokens": sentence.tokens, "ner_tags": [label2id[tag] for tag in tags]}
        if num_repairs:
            logger.warning("%s: repaired %d tag(s) that broke %s order", path, num_repairs, self.config.scheme)


def load_corpus(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    repair_iob: bool = False,
    splits: Sequence[str] | None = None,
) -> datasets.DatasetDict:
    """Load one upstream folder (e.g. `"BC2GM-IOB"`, `"JNLPBA"`) as a DatasetDict with `id`, `tokens`, `ner_tags`.

    `-IOBES` twins (e.g. `"NCBI-disease-IOBES"`, see `iobes_twin`) load with their BIOES label names, so training can
    use `crf_constraints="BIOES"`; `repair_iob` then repairs BIOES order (e.g. a `B-X` never closed becomes `S-X`).

    Files are read from `data_dir/<name>/`, else from `$CRICHTON_DATA_DIR/<name>/`, else downloaded from the pinned
    upstream commit and checked against `SHA256`. `splits` restricts what is built (e.g. `("validation", "test")` for
    JNLPBA, whose training file is missing upstream); a requested split that cannot be found raises
    `CorpusUnavailableError`. The Arrow cache is keyed on this module's source and on the source files' sizes and
    mtimes, so editing either rebuilds it.
    """
    if name not in CORPUS_TYPES and name not in IOBES_TWINS:
        raise ValueError(
            f"Unknown Crichton corpus {name!r}, expected one of: {', '.join(CORPUS_TYPES)} or their -IOBES twins"
        )
    splits = tuple(SPLIT_FILES) if splits is None else tuple(splits)
    unknown = [split for split in splits if split not in SPLIT_FILES]
    if unknown or not splits:
        raise ValueError(f"Unknown or empty splits {unknown or splits}, expected a subset of {tuple(SPLIT_FILES)}")
    root = data_dir if data_dir is not None else os.environ.get(ENV_VAR)
    sources = tuple((split, resolve_source(name, split, root)) for split in splits)
    builder = Crichton(
        config_name=name,
        cache_dir=str(cache_dir) if cache_dir is not None else None,
        hash=_cache_hash(sources),
        repair_iob=repair_iob,
        sources=sources,
    )
    try:
        builder.download_and_prepare()
    except datasets.exceptions.DatasetGenerationError as error:
        if isinstance(error.__cause__, CorpusFormatError):
            raise error.__cause__ from None
        raise
    return builder.as_dataset()


def resolve_source(name: str, split: str, root: str | os.PathLike | None) -> str:
    """Local path of a split under `root`, or its pinned URL when no local root is configured."""
    file_name = SPLIT_FILES[split]
    if root is None:
        return URL_TEMPLATE.format(folder=name, file=file_name)
    path = Path(root) / name / file_name
    if not path.is_file():
        raise CorpusUnavailableError(
            f"{name} {split} split: {path} does not exist. Supply it by pointing data_dir or ${ENV_VAR} at a "
            f"directory holding {name}/{file_name}, or unset both and go online to download "
            f"{URL_TEMPLATE.format(folder=name, file=file_name)}"
        )
    return str(path.resolve())


def _is_url(source: str) -> bool:
    return source.startswith(("https://", "http://", "file://"))


def _download(name: str, split: str, url: str, dl_manager: datasets.DownloadManager) -> str:
    """Download one split and check it against the pinned sha256 (files with no recorded hash are only warned about)."""
    try:
        path = dl_manager.download(url)
    except OSError as error:  # ConnectionError, offline mode, HTTP 404 (FileNotFoundError)
        raise CorpusUnavailableError(
            f"{name} {split} split: could not download {url} ({error}). Supply the file by pointing data_dir or "
            f"${ENV_VAR} at a directory holding {name}/{SPLIT_FILES[split]}"
        ) from error
    expected = SHA256.get(f"{name}/{SPLIT_FILES[split]}")
    if expected is None:
        logger.warning("%s: no recorded sha256 for %s/%s, using the download unchecked", url, name, SPLIT_FILES[split])
        return path
    actual = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    if actual != expected:
        raise CorpusChecksumError(f"{url}: downloaded file ({path}) has sha256 {actual}, expected {expected}")
    return path


def _cache_hash(sources: tuple[tuple[str, str], ...]) -> str:
    """Hash of the parsing code and of each source (size and mtime for local files, the URL for pinned downloads)."""
    here = Path(__file__).parent
    code = [here / name for name in ("crichton.py", "conll.py", "textio.py", "schemes.py")]
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in code))
    for split, source in sources:
        digest.update(f"{split}={source}".encode())
        if not _is_url(source):
            stat = os.stat(source)
            digest.update(f":{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


__all__ = [
    "CORPUS_TYPES",
    "IOBES_TWINS",
    "CorpusChecksumError",
    "CorpusFormatError",
    "CorpusUnavailableError",
    "Crichton",
    "CrichtonConfig",
    "CrichtonFormatError",
    "SPLIT_FILES",
    "corpus_scheme",
    "iobes_twin",
    "label_names",
    "load_corpus",
]
