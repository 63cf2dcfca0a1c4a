# Haocha: the two commands a user needs are `make demo` and `make test`. Everything they need is
# installed by the targets below (Python venv, Kafka via Maven, fonts and Chromium from Debian).

PYTHON      ?= python3
VENV        := .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.installed
# The tests get their own broker, so a developer's broker on 9092 is left alone.
TEST_KAFKA_PORT ?= 19192

.PHONY: install system-deps console-build console kafka-up kafka-down demo test test-unit soak bench bench-report-100m clean help

help:
	@echo "make demo   - run the platform on a simulated month (May 2021) and print its report (DEMO_ARGS=--workers 2)"
	@echo "make test   - run every test against a real Kafka broker and embedded ClickHouse"
	@echo "make soak   - the long variants (every crash point on a deployment of its own)"
	@echo "make console - the demo, then its worker and web console stay up (demo users printed)"
	@echo "make bench  - every benchmark of issue 12 (pipeline vs Quix/baseline/hop, latency, restart, rebuild, ingest, report, gateway) and a summary"
	@echo "make kafka-up / kafka-down - the local broker (deploy/kafka.sh)"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	@touch $(STAMP)

CONSOLE_STAMP := console/dist/.built

# The web console: npm ci from the committed lock file, then the Vite build the worker serves.
$(CONSOLE_STAMP): console/package-lock.json console/package.json $(shell find console/src console/index.html console/vite.config.ts -type f 2>/dev/null)
	cd console && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent
	@touch $(CONSOLE_STAMP)

console-build: $(CONSOLE_STAMP)

install: $(STAMP) system-deps console-build

# Debian packages: a CJK font and poppler for the report, Chromium for the kiosk page test.
system-deps:
	@bash deploy/install-fonts.sh
	@bash deploy/install-browser.sh

kafka-up:
	@bash deploy/kafka.sh up

kafka-down:
	@bash deploy/kafka.sh down

# DEMO_ARGS: e.g. --workers 2 (two workers and a writer that serves the API).
demo: install
	@bash deploy/with-kafka.sh $(VENV)/bin/haocha demo $(DEMO_ARGS)

# The demo, then its worker and web console stay up with demo users printed, until Ctrl-C.
console: install
	@bash deploy/with-kafka.sh $(VENV)/bin/haocha demo --keep-console

test: install
	cd console && npm test --silent
	@HAOCHA_KAFKA_PORT=$(TEST_KAFKA_PORT) HAOCHA_KAFKA_CONTROLLER_PORT=$$(( $(TEST_KAFKA_PORT) + 1 )) \
	 HAOCHA_KAFKA_DATA=$(CURDIR)/.run/kafka-test HAOCHA_TEST_KAFKA=127.0.0.1:$(TEST_KAFKA_PORT) \
	 HAOCHA_REQUIRE_KAFKA=1 \
	 bash deploy/with-kafka.sh --wipe $(PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS)

# The long variants (marked soak), e.g. every crash point on a deployment of its own.
soak: install
	@$(MAKE) --no-print-directory test PYTEST_ARGS="-m soak $(PYTEST_ARGS)"

test-unit: $(STAMP)
	$(PY) -m pytest tests/unit -q

# The benchmarks run in a venv of their own: the project plus its `bench` extra (Quix Streams for the
# same-run comparison, py-spy), since quixstreams pins pydantic below the project's. `make install`
# stays without them. BENCH_ARGS: e.g. --only pipeline,latency or --quick.
BENCH_VENV  := .run/bench/venv
BENCH_PY    := $(BENCH_VENV)/bin/python
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml
	@test -x $(BENCH_PY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install -q --upgrade pip
	$(BENCH_PY) -m pip install -q -e ".[bench]"
	@touch $(BENCH_STAMP)

bench: install $(BENCH_STAMP)
	@bash deploy/with-kafka.sh $(BENCH_PY) bench/run_all.py $(BENCH_ARGS)

# The report over 100M generated reviews (generated once into .run/bench/report-100000000, ~8 GB: 8 min
# on the fastest machine measured, 55 on the first, so niced, with progress per step; the output kept in
# .run/bench/report-100m.log).
bench-report-100m: install
	@mkdir -p .run/bench
	bash -o pipefail -c 'nice -n 10 $(PY) bench/bench_report.py --rows 100000000 2>&1 | tee .run/bench/report-100m.log'

clean:
	-bash deploy/kafka.sh down --wipe
	rm -rf .run out
