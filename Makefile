# Chat4All — the two commands: `make up` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help
NODE_STAMP := node_modules/.install-stamp
TEST_FILES = $(shell find services operator loadtest bench cdk8s test -name '*.test.ts' -not -path '*/node_modules/*' 2>/dev/null | sort)
# Test files that start the whole multi-process platform: one at a time, so they never share the
# machine's cores with another platform. Everything else runs two files at once.
PLATFORM_TESTS = $(filter operator/experiments.test.ts test/integration/% test/observability/platform-observability.test.ts bench/bench-smoke.test.ts test/e2e/web-client.test.ts,$(TEST_FILES))
LIGHT_TESTS = $(filter-out $(PLATFORM_TESTS),$(TEST_FILES))

.PHONY: help up up-embedded test typecheck lint unit deps system-deps clean synth build bench bench-smoke profile experiments fuzz files-proof

help:
	@echo "make up    - install what is needed and start the whole platform locally"
	@echo "make test  - install what is needed, type-check, lint and run every test"

## deps: npm packages exactly as package-lock.json pins them.
deps: $(NODE_STAMP)
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## system-deps: Debian packages the local platform and the tests use.
system-deps:
	@scripts/system-deps.sh

up: deps system-deps
	npx tsx services/platform/main.ts

up-embedded: deps
	npx tsx services/platform/embedded-main.ts

typecheck: deps
	npx tsc --noEmit -p tsconfig.json

lint: deps
	npx eslint .

## bench: the platform against the machine's own limits (bare HTTP, raw bus), ~15 min; writes bench/results/latest.json and latest.html.
bench: deps system-deps
	npx tsx bench/bench.ts

bench-smoke: deps system-deps
	npx tsx bench/bench.ts --smoke

## profile: which process limits throughput: the platform under load with --cpu-prof (RATE=400 SECONDS=20).
profile: deps system-deps
	npx tsx bench/profile.ts --rate $(or $(RATE),400) --seconds $(or $(SECONDS),20)

## experiments: every experiment on a fresh local platform; prints where the reports are, opens nothing.
experiments: deps system-deps
	npx tsx services/cli/main.ts experiment run all

## synth: Kubernetes manifests from the cdk8s app into cdk8s/dist/ (and the chart's generated files).
synth: deps
	CDK8S_CHECK_UPGRADE=false npx tsx cdk8s/main.ts

## build: compiled JavaScript in dist/, as the container image runs it.
build: deps
	npx tsc -p tsconfig.build.json
	cp -r services/api/web-client/assets dist/services/api/web-client/

## files-proof: a 1 GiB upload by the CLI killed at ~40 % (SIGINT) and ~70 % (SIGKILL) and resumed: only missing parts sent again, sha256, API RSS growth < 64 MB (SIZE=…; make test runs it with 64 MiB).
files-proof: deps
	FILES_PROOF_SIZE=$(or $(SIZE),1G) node --import tsx --test --test-reporter=spec test/files/files-proof.test.ts

## fuzz: every documented API route with generated requests, longer than `make test` does (FUZZ_RUNS per route, FUZZ_SEED).
fuzz: deps
	FUZZ_RUNS=$(or $(FUZZ_RUNS),1000) FUZZ_SEED=$(or $(FUZZ_SEED),$$(date +%s)) node --import tsx --test --test-reporter=spec services/api/fuzz.test.ts

unit: deps system-deps synth
	node --import tsx --test --test-reporter=spec --test-concurrency=2 $(LIGHT_TESTS)
	node --import tsx --test --test-reporter=spec --test-concurrency=1 $(PLATFORM_TESTS)

test: deps system-deps typecheck lint unit

clean:
	rm -rf .data .build dist test-artifacts
