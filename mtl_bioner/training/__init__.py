"""Training: corpora to task windows (`tasks`), the STL / MTL-XC / MTL-LS container (`recipes`, `multitask`), the
multi-task `Trainer` (`trainer`, `sampling`, `clock`: training time across resumes), the evaluation protocols
(`protocol`, `selection`, `metrics`), and the run's files (`results`, `analysis`). `experiment` ties them together
for `run_ner_mtl.py`."""
