# One command to set up and run each main job on a fresh machine:
#   make demo   -> virtualenv, install, `toolnav demo`
#   make test   -> virtualenv, install with test extras (and the chinese one), ruff, PostgreSQL
#                  and node tools for the server and task tests, pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test bench-deps clean

$(BIN)/toolnav: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the local CPU wheel (a bare `torch` pulls GBs of CUDA packages)
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test,plot,chinese]"
	touch $@

demo: $(BIN)/toolnav
	$(BIN)/toolnav demo

test: $(BIN)/toolnav
	$(BIN)/ruff check src tests bench
	# Services the tests drive: PostgreSQL 15 (task tests, installed with apt where absent) and
	# node 22 with MCP Inspector and the conformance suite (server tests, from npm).
	tests/tools/ensure_postgres.sh
	tests/tools/install_node_tools.sh >/dev/null
	$(BIN)/pytest

bench-deps: $(BIN)/toolnav
	$(BIN)/pip install --quiet -e ".[bench]"

clean:
	rm -rf $(VENV) .toolnav
