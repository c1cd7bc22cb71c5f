# The README's commands. `make test` is what CI runs.
GO ?= go

.PHONY: build serve test test-short test-long fuzz bench

# The commit the binary reports (`bumpserve version`): Go embeds it only
# with -buildvcs=true, and GOFLAGS here says -buildvcs=false.
VERSION_PKG = github.com/bumpserve/bumpserve/internal/version
COMMIT := $(shell git rev-parse HEAD 2>/dev/null)
DIRTY := $(shell test -n "$$(git status --porcelain 2>/dev/null)" && echo true)
LDFLAGS = -X $(VERSION_PKG).Commit=$(COMMIT) -X $(VERSION_PKG).Dirty=$(DIRTY)

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/bumpserve ./cmd/bumpserve

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

# The long matrix CI leaves out: every python-bumps-doc example model
# with every bumps fitter at full length (dream 10000 samples), through
# a real server and by hand with the same seed, compared number for
# number. Needs python3-bumps and python-bumps-doc. Then several controllers
# on one PostgreSQL under thousands of jobs, killed and restarted (needs
# BUMPSERVE_TEST_POSTGRES; see scripts/postgres-start).
test-long:
	BUMPSERVE_LONG=1 $(GO) test -count=1 -timeout 2h -run '^TestBumpsExamples$$' -v ./internal/service/
	BUMPSERVE_LONG=1 $(GO) test -count=1 -timeout 30m -run '^TestControllersSurviveKill$$|^TestPostgresRestart$$' -v ./cmd/bumpserve/ ./internal/controller/

# Fuzzing beyond the seed corpora (which every `go test` runs): each
# target for FUZZTIME (a duration, or a count of inputs such as 3000x).
# CI runs a count, not a duration: a run cut off by its deadline while an
# input is in flight reports "context deadline exceeded" as a failure.
# Soak with FUZZTIME=10m or more.
FUZZTIME ?= 5m
FUZZMINTIME ?= 10s
FUZZ_TARGETS = ./fit/expr:FuzzCompile ./fit:FuzzParseSpec ./fit:FuzzDataFile \
	./internal/archive:FuzzExtractTar ./internal/archive:FuzzCleanName \
	./internal/server:FuzzSubmitJSON ./internal/server:FuzzSubmitMultipart ./internal/server:FuzzSubmitBody
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg; \
	done

bench: build
	./bin/bumpserve bench
