# triggergate — every command the project needs. `make help` lists them.

GO      ?= go
BIN     := bin
PLUGINS := $(notdir $(wildcard plugins/*))
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# Code generators, pinned; installed into bin/tools by `make proto`.
TOOLS                      := $(abspath $(BIN)/tools)
BUF_VERSION                := v1.47.2
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.5.1

.DEFAULT_GOAL := help
.PHONY: help build run test bench lint fmt proto clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/triggergate and bin/plugins/<name> for every plugin
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/triggergate ./gateway/cmd/triggergate
	@for p in $(PLUGINS); do \
		echo "$(GO) build -o $(BIN)/plugins/$$p ./plugins/$$p"; \
		$(GO) build -o $(BIN)/plugins/$$p ./plugins/$$p || exit 1; \
	done

run: build ## start the gateway on configs/gateway.hcl (embedded etcd, data in ./data)
	$(BIN)/triggergate serve -config configs/gateway.hcl

test: build ## run the whole test suite with the race detector
	$(GO) test -race -timeout 20m ./...

bench: build ## run the benchmarks (figures go in README.md)
	$(GO) test -run '^$$' -bench . -benchtime 2s ./...

lint: ## go vet and a gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

fmt: ## format the code
	gofmt -w $$(git ls-files '*.go')

proto: ## regenerate the plugin protocol's Go code (committed)
	GOBIN=$(TOOLS) $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	cd sdk/internal/pluginpb && PATH=$(TOOLS):$$PATH buf generate

clean: ## remove build output and local data
	rm -rf $(BIN) data
