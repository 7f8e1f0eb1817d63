# One task runner. `make run` and `make test` work on a machine that never saw the project.
.PHONY: run test lint format bench build webui clean

run:  ## set up and start TaskChat
	scripts/setup.sh
	.venv/bin/taskchat

test:  ## set up (incl. system packages) and run the whole test suite
	scripts/test.sh

lint:  ## ruff, then mypy over app/ (config in pyproject.toml); scripts/test.sh runs the same
	.venv/bin/ruff check .
	.venv/bin/ruff format --check app tests benchmarks
	.venv/bin/mypy app

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format app tests benchmarks

bench:  ## run every benchmark and print/write the report
	.venv/bin/python -m benchmarks

webui:
	cd webui && npm ci && npm run build

build:  ## build the desktop binary (PyInstaller)
	packaging/build.sh

clean:
	rm -rf build dist .pytest_cache webui/dist
