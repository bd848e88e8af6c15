# kaowu — the two commands that matter: `make run` and `make test`.
GO      ?= go
GOFLAGS ?=
export GOTOOLCHAIN ?= local

.PHONY: run demo build generate check-generate vet test test-go e2e web bench seed migrate help

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

run: ## start kaowu on 127.0.0.1:8080 (SQLite + local disk unless DATABASE_URL / S3_* are set; DEMO=1 seeds demo data)
	$(GO) run ./cmd/kaowu serve

demo: ## start with demo data (same as DEMO=1 make run)
	DEMO=1 $(GO) run ./cmd/kaowu serve

build: ## build bin/kaowu
	$(GO) build -trimpath -o bin/kaowu ./cmd/kaowu

seed: ## create the demo data set in the configured database
	$(GO) run ./cmd/kaowu seed

migrate: ## migrate the configured database
	$(GO) run ./cmd/kaowu migrate

generate: ## regenerate ent and gqlgen code
	$(GO) run ./ent/entc.go
	$(GO) run github.com/99designs/gqlgen generate

check-generate: generate ## fail if generated code is not what is committed
	@if [ -n "$$(git status --porcelain -- ent graph gqlgen.yml)" ]; then \
		git status --porcelain -- ent graph gqlgen.yml; \
		echo "generated code differs from the committed code: run 'make generate' and commit"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...

test-go: ## the Go suite with the race detector (PostgreSQL and MinIO tests skip unless reachable or KAOWU_REQUIRE_SERVICES=1)
	$(GO) test -race -count=1 -timeout 20m ./...

e2e: build ## browser end-to-end test (Chromium + playwright-core) against a running binary
	scripts/e2e.sh bin/kaowu

test: vet check-generate test-go e2e ## everything CI runs

web: ## rebuild the web client into web/dist (committed, embedded in the binary)
	cd web && npm ci --no-audit --no-fund && npm run build

bench: ## benchmarks (see docs/benchmarks.md)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./internal/...
