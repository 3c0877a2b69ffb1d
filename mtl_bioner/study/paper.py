"""The paper's published values (Chai et al. 2022, Tables 1-2), which the study's tables print beside each cell."""

from __future__ import annotations


# F1 (and, for Table 1, precision and recall) in percent, transcribed from the paper's PDF text (Chai et al. 2022),
# keyed by this project's row names (data_scripts.registry.ROWS, same order as the paper's rows).
PAPER_TABLE1 = {  # Table 1 "Performance of STL-DS and MTL-XC on all tasks": (P, R, F1) per method
    "BC4CHEMD": {"STL": (93.00, 92.40, 91.70), "MTL-XC": (92.02, 92.49, 91.25)},
    "BC5CDR-chem": {"STL": (92.76, 93.96, 93.36), "MTL-XC": (93.43, 92.94, 93.19)},
    "BioNLP11ID-chem": {"STL": (55.56, 72.58, 62.94), "MTL-XC": (61.44, 75.81, 67.87)},
    "BioNLP13CG-chem": {"STL": (83.20, 85.14, 84.16), "MTL-XC": (82.35, 80.88, 81.61)},
    "BioNLP13PC-chem": {"STL": (88.57, 90.33, 89.44), "MTL-XC": (76.65, 83.80, 80.07)},
    "CRAFT-chem": {"STL": (84.07, 81.05, 82.54), "MTL-XC": (75.34, 72.38, 73.83)},
    "BC5CDR-disease": {"STL": (84.83, 88.11, 86.44), "MTL-XC": (86.40, 87.34, 86.87)},
    "NCBI-disease": {"STL": (87.27, 89.27, 88.26), "MTL-XC": (87.80, 89.73, 88.75)},
    "BC2GM": {"STL": (81.91, 82.53, 82.22), "MTL-XC": (82.67, 82.61, 82.64)},
    "BioNLP09": {"STL": (88.20, 86.82, 87.50), "MTL-XC": (87.23, 91.95, 89.53)},
    "BioNLP11EPI": {"STL": (84.23, 87.96, 85.81), "MTL-XC": (85.32, 87.63, 86.46)},
    "BioNLP11ID-ggp": {"STL": (89.22, 89.65, 89.43), "MTL-XC": (89.60, 88.47, 89.03)},
    "BioNLP13CG-ggp": {"STL": (88.45, 92.42, 90.39), "MTL-XC": (93.56, 91.63, 92.58)},
    "BioNLP13GE": {"STL": (73.57, 83.51, 78.22), "MTL-XC": (77.62, 90.55, 83.59)},
    "BioNLP13PC-ggp": {"STL": (89.56, 94.26, 91.85), "MTL-XC": (90.66, 87.93, 89.27)},
    "CRAFT-ggp": {"STL": (80.48, 75.44, 77.88), "MTL-XC": (78.56, 84.83, 81.57)},
    "Ex-PTM": {"STL": (74.79, 80.46, 77.52), "MTL-XC": (81.83, 86.83, 84.25)},
    "JNLPBA": {"STL": (71.98, 80.04, 75.80), "MTL-XC": (72.58, 85.04, 78.32)},
    "BioNLP11ID-species": {"STL": (85.41, 82.03, 83.68), "MTL-XC": (91.22, 70.24, 79.37)},
    "BioNLP13CG-species": {"STL": (88.34, 89.19, 88.76), "MTL-XC": (88.39, 86.68, 87.52)},
    "CRAFT-species": {"STL": (96.45, 97.73, 97.08), "MTL-XC": (93.76, 93.51, 93.63)},
    "LINNAEUS": {"STL": (91.70, 85.62, 88.56), "MTL-XC": (88.43, 82.14, 85.17)},
}
_TABLE2_COLUMNS = ("STL", "MTL-XC", "MTL-LS 0.25", "MTL-LS 0.50", "MTL-LS 0.75", "MTL-LS 1.00")
_TABLE2_ROWS = {  # Table 2 "F1 performance of STL, MTL-XC, and MTL-LS with different slicing rates"
    "BC4CHEMD": (91.70, 91.25, 91.82, 92.24, 92.37, 92.47),
    "BC5CDR-chem": (93.36, 93.19, 93.93, 93.75, 93.60, 93.14),
    "BioNLP11ID-chem": (62.94, 67.87, 42.29, 52.98, 73.41, 73.71),
    "BioNLP13CG-chem": (84.16, 81.61, 78.59, 78.50, 85.13, 82.47),
    "BioNLP13PC-chem": (89.44, 80.07, 81.25, 82.13, 84.03, 86.00),
    "CRAFT-chem": (82.54, 73.83, 76.73, 79.74, 77.96, 79.44),
    "BC5CDR-disease": (86.44, 86.87, 86.10, 87.04, 86.28, 87.34),
    "NCBI-disease": (88.26, 88.75, 85.23, 86.79, 89.24, 88.97),
    "BC2GM": (82.22, 82.64, 79.85, 81.54, 81.94, 82.94),
    "BioNLP09": (87.50, 89.53, 87.23, 89.53, 89.47, 89.27),
    "BioNLP11EPI": (85.81, 86.46, 84.65, 85.65, 86.24, 86.58),
    "BioNLP11ID-ggp": (89.43, 89.03, 83.62, 82.69, 89.59, 86.55),
    "BioNLP13CG-ggp": (90.39, 92.58, 91.33, 92.05, 92.71, 92.21),
    "BioNLP13GE": (78.22, 83.59, 81.29, 82.61, 82.73, 84.03),
    "BioNLP13PC-ggp": (91.85, 89.27, 89.16, 91.87, 90.59, 90.37),
    "CRAFT-ggp": (77.88, 81.57, 79.02, 82.62, 83.42, 82.18),
    "Ex-PTM": (77.52, 84.25, 78.52, 80.57, 84.64, 84.55),
    "JNLPBA": (75.80, 78.32, 75.08, 77.00, 77.32, 77.66),
    "BioNLP11ID-species": (83.68, 79.37, 70.91, 77.45, 83.74, 79.00),
    "BioNLP13CG-species": (88.76, 86.30, 88.97, 87.39, 86.07, 86.90),  # Table 1 gives MTL-XC 87.52 for this row
    "CRAFT-species": (97.08, 93.63, 95.56, 95.04, 94.74, 95.75),
    "LINNAEUS": (88.56, 85.17, 83.82, 84.05, 86.40, 85.06),
}
PAPER_TABLE2 = {key: dict(zip(_TABLE2_COLUMNS, values)) for key, values in _TABLE2_ROWS.items()}


__all__ = ["PAPER_TABLE1", "PAPER_TABLE2"]
