# hookd's everyday commands; `just --list` describes them. CI runs .ci/run, which needs no just.

set shell := ["bash", "-euo", "pipefail", "-c"]
set positional-arguments

# Build the hookd binary into bin/hookd.
build:
    go build -o bin/hookd ./cmd/hookd

# Run every test.
test:
    go test ./...

# Run every test with the race detector (needs cgo).
test-race:
    go test -race ./...

# Run a node with the webhook example policy; records go to $WEBHOOK_URL. Extra flags go to `hookd run`.
run *args: build
    bin/hookd run --policy examples/webhook/policy.lua "$@"

# The whole loop in one process: spool, policy, webhook receiver, synthetic records.
demo *args:
    go run ./cmd/hookd demo "$@"

# Load generator: synthetic records through the whole pipeline to a loopback webhook, with
# throughput, latency, CPU and memory figures (`--baseline` compares with a plain HTTP client).
bench-load *args:
    go run ./cmd/hookd bench "$@"

# Run every benchmark once.
bench:
    go test -run '^$' -bench . -benchmem ./...

# Run each fuzz target in the module for `time` (any -fuzztime value).
fuzz time="30s":
    .ci/fuzz-smoke "$1"

# gofmt, go vet, and the 600-line budget for hand-written Go files.
lint:
    .ci/lint

# What CI runs (HOOKD_FUZZ=1 adds a short fuzzing pass).
ci:
    .ci/run

# Regenerate wire/*.pb.go from wire/*.proto. Needs protoc (Debian: protobuf-compiler); protoc-gen-go
# is installed at the version of google.golang.org/protobuf in go.mod.
proto:
    go install google.golang.org/protobuf/cmd/protoc-gen-go@$(go list -m -f '{{"{{"}}.Version{{"}}"}}' google.golang.org/protobuf)
    cd wire && PATH="$(go env GOPATH)/bin:$PATH" protoc --proto_path=. --go_out=. --go_opt=paths=source_relative *.proto
