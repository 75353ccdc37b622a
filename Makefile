# Gatehouse. `make help` lists the targets.
GO        ?= go
PKGS      := ./...
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin/gatehouse
TEST_FLAGS ?= -count=1 -timeout 30m
# h/drills: the drills, the load test and the secret scan append their figures here.
export GATEHOUSE_FIGURES := $(CURDIR)/.test-figures

.DEFAULT_GOAL := help
.PHONY: help build run test test-deps test-unit test-integration bench lint validate-schema fuzz

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/gatehouse
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/gatehouse

run: build ## serve on 127.0.0.1:8080 with an embedded, in-memory (ephemeral) store
	./$(BIN) serve

test: test-deps ## every test: unit, schema validation, end-to-end, drills (gets PostgreSQL, MinIO and nginx first)
	@out=$$($(GO) test -count=1 -run '^TestSchemaMutants$$' -v ./schema 2>&1); st=$$?; echo "$$out" | grep -E '^(MUTANTS|SURVIVED|FAIL|ok)'; exit $$st
	@rm -f .test-figures
	$(GO) test -race $(TEST_FLAGS) $(PKGS) ; st=$$?; cat .test-figures 2>/dev/null; exit $$st

test-deps: ## install what the tests need (PostgreSQL, MinIO, nginx), or say exactly what is missing
	@./scripts/test-deps.sh

test-unit: ## unit and schema tests only (no PostgreSQL, no binaries)
	$(GO) test -race $(TEST_FLAGS) $$($(GO) list ./... | grep -v '/tests')

test-integration: test-deps ## end-to-end tests against the real binary, SpiceDB and PostgreSQL
	$(GO) test $(TEST_FLAGS) ./tests/...

bench: ## load benchmark, not part of test (cold/hot HTTP vs gRPC, 100k/1M on memory and PostgreSQL, revocation, ingress, vending); BENCH_FLAGS="-sizes 100k" shortens it
	$(GO) build -o bin/bench ./bench
	./bin/bench $(BENCH_FLAGS)

lint: ## gofmt, go vet, and golangci-lint when installed
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet $(PKGS)
	@if command -v golangci-lint >/dev/null; then golangci-lint run; else echo "golangci-lint not installed: skipped"; fi

validate-schema: ## validate schema/ the way CI does (errors and warnings fail)
	$(GO) run ./cmd/gatehouse schema validate --fail-on-warn schema/gatehouse.zed schema/testdata/*.yaml

fuzz: ## run each fuzz target for 30s
	$(GO) test ./relations -run '^$$' -fuzz FuzzIDRoundTrip -fuzztime 30s
	$(GO) test ./relations -run '^$$' -fuzz FuzzParseRelationship -fuzztime 30s
	$(GO) test ./tokens -run '^$$' -fuzz FuzzParse -fuzztime 30s
	$(GO) test ./credentials -run '^$$' -fuzz FuzzParseURI -fuzztime 30s
	$(GO) test ./credentials -run '^$$' -fuzz FuzzNormalizePrefix -fuzztime 30s
	$(GO) test ./ingress -run '^$$' -fuzz FuzzNormalize -fuzztime 30s
	$(GO) test ./ingress -run '^$$' -fuzz FuzzMatch -fuzztime 30s

# --- container image (issue 10.4) -------------------------------------------------------
# The image's version lives in VERSION, and only there: the tag, the binary's version and
# (held by deploy's test) the tag deploy/ pins.
IMAGE         ?= ghcr.io/gatehouse-dev/gatehouse
IMAGE_VERSION := $(shell cat VERSION)
.PHONY: image
image: ## build the container image ghcr.io/gatehouse-dev/gatehouse:<the VERSION file> (needs Docker)
	@command -v docker >/dev/null 2>&1 || { echo "make image: no docker command on this machine: install Docker (23+, BuildKit) to build $(IMAGE):$(IMAGE_VERSION); nothing was built" >&2; exit 1; }
	@docker info >/dev/null 2>&1 || { echo "make image: docker is installed but its daemon does not answer (docker info failed): start it, or use a machine with Docker; nothing was built" >&2; exit 1; }
	DOCKER_BUILDKIT=1 docker build --build-arg VERSION=$(IMAGE_VERSION) -t $(IMAGE):$(IMAGE_VERSION) .
	@echo "built $(IMAGE):$(IMAGE_VERSION); push it, then deploy/ (it names this tag)"
