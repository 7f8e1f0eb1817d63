# One task runner. `make run` and `make test` work on a machine that never saw the project.
.PHONY: run test lint format bench build package webui clean

run:  ## set up (incl. the window's system libraries, where it can) and start TaskChat
	scripts/setup.sh --window
	.venv/bin/taskchat

test:  ## set up (incl. system packages) and run the whole test suite
	scripts/test.sh

lint:  ## ruff, mypy over app/, generated REST types current; CI runs it
	.venv/bin/ruff check .
	.venv/bin/ruff format --check app tests benchmarks
	.venv/bin/mypy app
	scripts/gen_api_types.sh --check

format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format app tests benchmarks

bench:  ## run every benchmark and print/write the report
	.venv/bin/python -m benchmarks

webui:
	cd webui && npm ci && npm run build

build:  ## set up what the build needs (PyInstaller) and build the desktop binary
	scripts/setup.sh --build
	packaging/build.sh --skip-webui

package:  ## build the installable package for this OS into dist/ (Linux: .deb)
	scripts/setup.sh --build
	packaging/package.sh

clean:
	rm -rf build dist .pytest_cache webui/dist
