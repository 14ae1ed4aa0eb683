# Set-up and main jobs. Torch pins live here (not in setup.cfg): they are the builds that work on
# this project's machines; the package itself accepts any recent torch.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
export HF_HUB_OFFLINE := 1
export PYTHONUNBUFFERED := 1

.PHONY: test demo install clean-demo leaderboard check-leaderboard test-xla xla-deps

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[test,plots,corrupt]' $(TORCH_PINS)
	touch $@

install: $(VENV)/.installed

# two pytest workers, a test file each (module fixtures stay in one process): many tests wait on child
# processes (torchrun worlds, Slurm jobs, a browser), so two at a time fill the two cores
PYTEST_WORKERS ?= 2

test: install
	$(PY) -m pytest -q -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile --durations=15 tests

demo: install
	$(VENV)/bin/robench demo --out demo-out

leaderboard: install
	$(VENV)/bin/robench leaderboard

clean-demo:
	rm -rf demo-out

check-leaderboard: install
	$(VENV)/bin/robench leaderboard --check --strict

# The TPU path, tested on the CPU: torch_xla pins its own torch, so it gets its own venv.
XLA_VENV := .venv-xla
XLA_PINS := torch==2.9.0 torchvision==0.24.0 torch_xla==2.9.0

$(XLA_VENV)/.installed: setup.cfg pyproject.toml
	test -x $(XLA_VENV)/bin/python || $(PYTHON) -m venv $(XLA_VENV)
	$(XLA_VENV)/bin/python -m pip install -q --upgrade pip
	$(XLA_VENV)/bin/python -m pip install -q $(XLA_PINS)
	$(XLA_VENV)/bin/python -m pip install -q -e '.[test,xla]' $(XLA_PINS)
	touch $@

# the pinned packages alone (no robench): .ci/run builds them in the background while the main tests run
xla-deps:
	test -x $(XLA_VENV)/bin/python || $(PYTHON) -m venv $(XLA_VENV)
	$(XLA_VENV)/bin/python -m pip install -q --upgrade pip
	$(XLA_VENV)/bin/python -m pip install -q $(XLA_PINS)

test-xla: $(XLA_VENV)/.installed
	PJRT_DEVICE=CPU ROBENCH_REQUIRE_XLA=1 $(XLA_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/test_xla.py tests/test_xla_train.py
