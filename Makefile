# The README's commands. `make test` is what CI runs.
GO ?= go

.PHONY: build serve test test-short fuzz bench

build:
	$(GO) build -o bin/bumpserve ./cmd/bumpserve

# Start the service on its embedded default: SQLite in ./var, local slots.
serve:
	$(GO) run ./cmd/bumpserve serve --addr 127.0.0.1:8080 --data ./var

# Every test: unit, conformance, integration (real processes, HTTP, SQLite,
# Bumps, a browser); vet first. Concurrency-heavy packages run with -race.
test:
	$(GO) vet ./...
	$(GO) test -race ./internal/queue/... ./internal/worker/... ./mapper/... ./internal/store/...
	$(GO) test -timeout 20m ./...

test-short:
	$(GO) test -short ./...

# Longer fuzzing than CI's; FUZZTIME per target.
FUZZTIME ?= 5m
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME) ./fit/expr/

bench: build
	./bin/bumpserve bench
