# Set-up and main jobs. Torch pins live here (not in setup.cfg): they are the builds that work on
# this project's machines; the package itself accepts any recent torch.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
export HF_HUB_OFFLINE := 1
export PYTHONUNBUFFERED := 1

.PHONY: test demo install clean-demo leaderboard check-leaderboard

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[test,plots,corrupt]' $(TORCH_PINS)
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest -q -p no:cacheprovider tests

demo: install
	$(VENV)/bin/robench demo --out demo-out

leaderboard: install
	$(VENV)/bin/robench leaderboard

clean-demo:
	rm -rf demo-out

check-leaderboard: install
	$(VENV)/bin/robench leaderboard --check --strict
