SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := /usr/local/go/bin:$(PATH)

GO        ?= go
BIN       := bin/inspectonce
DATA_DIR  ?= .data
PGPORT    ?= 55432
REDISPORT ?= 56379
# Extra arguments for go test, e.g. make test TESTARGS='-run TestFoo -v'
TESTARGS  ?=

.PHONY: all build run stop test bench bench-load fmt vet clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/inspectonce

# Starts local PostgreSQL + Redis in $(DATA_DIR) (kept running; `make stop`),
# migrates, seeds (tokens also in $(DATA_DIR)/demo.env) and runs the service in
# the foreground (listens on :8080; INSPECTONCE_HTTP_ADDR moves it).
run: build
	scripts/services.sh start $(DATA_DIR) $(PGPORT) $(REDISPORT)
	source $(DATA_DIR)/env && \
		$(BIN) migrate up && \
		$(BIN) seed --env-file $(DATA_DIR)/demo.env && \
		exec $(BIN) all

stop:
	scripts/services.sh stop $(DATA_DIR)

# Throwaway PostgreSQL + Redis on free ports, go vet, go test.
test:
	scripts/test.sh $(TESTARGS)

bench:
	BENCH=1 scripts/test.sh $(TESTARGS)

# The load benchmark (not part of `make test`): throwaway PostgreSQL + Redis on free
# ports, the demo county, a published plan, rising open-loop rates on each route and
# pgbench -S as a baseline; about 10 minutes. Flags go in BENCHARGS, e.g.
# make bench-load BENCHARGS='--duration 20s --routes schedule,demands'
BENCHARGS ?=
bench-load: build
	$(BIN) bench load $(BENCHARGS)

fmt:
	$(GO) fmt ./...

vet:
	$(GO) vet ./...

clean:
	rm -rf bin
