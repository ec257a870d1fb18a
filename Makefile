# Local setup and the two top-level jobs. `make reproduce` and `make test` create the
# environment on first use (.venv with pinned versions from requirements/constraints.txt).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The data root: $DEBIASKIT_DATA if set, else ../shared/data when it exists (this workplace's offline copy).
export DEBIASKIT_DATA ?= $(shell [ -d ../shared/data ] && cd ../shared/data && pwd)
PROFILE ?= quick
JOBS ?= 2
# The API reference (docs/, Sphinx autodoc over lib/debiaskit) into build/docs: offline, no notebook runs, and any
# warning fails it. -E re-reads every page, so that a warning is reported on every run, not only on the first.
DOCS_BUILD := $(BIN)/sphinx-build -E -W --keep-going -q -b html docs build/docs

.PHONY: setup reproduce test unit docs notebooks report clean campaign-data
setup: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements/constraints.txt -e ".[test,baselines,ray,docs]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 > /dev/null
	touch $(STAMP)

reproduce: $(STAMP)
	$(BIN)/debiaskit reproduce --profile $(PROFILE) --jobs $(JOBS)

report: $(STAMP)
	$(BIN)/debiaskit report > /dev/null

# Unit tests, then nbval over every notebook on the small `ci` profile (two notebooks at a time, one
# thread each: two-thread kernels competing for two cores stall torch's thread pool);
# the quick profile's claims are checked by `make reproduce`. Then the API reference is built (`make docs`).
test: $(STAMP)
	$(BIN)/debiaskit nbval-prepare --profile ci --out build/nbval
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests build/nbval --nbval-lax -p no:cacheprovider -n 2 --dist loadscope
	$(DOCS_BUILD)

unit: $(STAMP)
	$(BIN)/python -m pytest tests -p no:cacheprovider

docs: $(STAMP)
	$(DOCS_BUILD)

# What `debiaskit campaign` needs on another machine, inside the checkout (build/ is ignored; the device tool carries
# it): MNIST's four .gz files, 12 MB. There: DEBIASKIT_DATA=build/data python -m debiaskit.companion.campaign ...
campaign-data:
	mkdir -p build/data/MNIST && cp -r "$(DEBIASKIT_DATA)/MNIST/raw" build/data/MNIST/

clean:
	rm -rf build
