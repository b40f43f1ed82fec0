# Chorus — the two commands a newcomer needs are `make dev` and `make test`.
# Both install what is missing (idempotently, cached under $(CHORUS_CACHE)).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export CHORUS_CACHE ?= $(HOME)/.cache/chorus
# The ONNX Runtime shared library (CPU build from npm, verified by sha256).
ORT_LIB = $(shell scripts/setup-ort.sh)
GO_TEST_FLAGS ?= -race -count=1 -timeout 20m

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

.PHONY: setup
setup: ## install missing system packages, ONNX Runtime and web dependencies
	scripts/setup-system.sh
	scripts/setup-ort.sh >/dev/null
	scripts/setup-web.sh

.PHONY: dev
dev: setup ## run the whole system locally (emulators, functions, worker, web) at http://127.0.0.1:8080
	cd web && npm run build --silent
	CHORUS_ORT_LIBRARY=$(ORT_LIB) go run ./scripts/devstack

.PHONY: test
test: setup ## every check CI runs
	@# Cold, the Terraform provider and tflint take minutes to build: start
	@# that now, beside the Go tests (which spend much of their time waiting
	@# on emulators); test-terraform waits for it on the cache's lock.
	@mkdir -p build && (scripts/test-terraform.sh tools >build/terraform-tools.log 2>&1 &)
	@$(MAKE) --no-print-directory test-go test-fuzz test-build test-terraform test-web test-e2e
	@echo "make test: all checks passed"

.PHONY: test-go
test-go: ## gofmt, go vet and tests (unit + integration against the emulators; Terraform's Go tests run in test-terraform)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	# Build the GCS fake once, not once per test package.
	CHORUS_FAKE_GCS_SERVER=$$(go tool -n github.com/fsouza/fake-gcs-server) \
	CHORUS_ORT_LIBRARY=$(ORT_LIB) go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v /terraform/)

.PHONY: test-fuzz
test-fuzz: ## every Go fuzz target for FUZZTIME each (default 5s), beyond the seed corpora test-go runs
	CHORUS_ORT_LIBRARY=$(ORT_LIB) scripts/test-fuzz.sh

.PHONY: test-build
test-build: ## the builds the deploys make: functions without cgo, the worker binary; cgo only where inference and encoding are
	CGO_ENABLED=0 go build -o /dev/null ./functions/... .
	CGO_ENABLED=0 go vet ./functions/... .
	CGO_ENABLED=0 go build -o /dev/null ./shared/... ./functions/... ./synth-job/voice ./synth-job/worker
	CGO_ENABLED=0 go vet ./synth-job/voice ./synth-job/worker
	go build -o build/synth-job ./synth-job

.PHONY: test-terraform
test-terraform: ## fmt, init/validate with the real provider, tflint, terraform test (mock provider), config env names, image checks
	scripts/test-terraform.sh

.PHONY: test-web
test-web: ## web unit tests (Vitest) and production build
	scripts/test-web.sh

.PHONY: test-e2e
test-e2e: ## browser end-to-end test in headless Chromium against the full local stack
	CHORUS_ORT_LIBRARY=$(ORT_LIB) scripts/e2e.sh

.PHONY: bench
bench: setup ## engine benchmarks (demo voice, and the bench voice from ../shared/voices) and the load run
	go build -o build/enginebench ./synth-job/cmd/enginebench
	build/enginebench -ort $(ORT_LIB) -voice demo -sections rtf,throughput -requests 128 -batch 32 -budgets 1024,4096
	build/enginebench -ort $(ORT_LIB) -voice bench -sections rtf,latency,throughput,rss \
		-requests 64 -batch 16 -budgets 1024,4096,16384 -rss-runs 1000
	CHORUS_ORT_LIBRARY=$(ORT_LIB) scripts/load.sh

.PHONY: clean
clean: ## remove build outputs (keeps the download cache)
	rm -rf build web/dist
