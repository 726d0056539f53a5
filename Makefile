# Parley's build shortcuts. Each target is one command you can also run by hand.

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
IMAGE   ?= parley:latest

.PHONY: build image test-docker

# The static binary: bin/parley.
build:
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/parley ./cmd/parley

# The container image, built from a host-compiled binary (no registry needed).
image:
	VERSION=$(VERSION) scripts/image.sh $(IMAGE)

# The image and compose stack tests (need a Docker engine and compose).
test-docker:
	PARLEY_TEST_DOCKER=1 go test -count=1 -v -timeout 15m ./integration/docker/
