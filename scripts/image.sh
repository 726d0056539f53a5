#!/usr/bin/env bash
# image.sh: build Parley's container image without pulling anything.
#
# Compiles the static parley binary on this machine (CGO_ENABLED=0,
# -trimpath, version stamped), lays out the image files next to it with
# deploy/image/rootfs.sh (CA bundle taken from this machine), and builds the
# Dockerfile's `prebuilt` target from that small context.
#
# Usage: scripts/image.sh [TAG]         (default: $PARLEY_IMAGE or parley:latest)
# Environment:
#   PARLEY_IMAGE    image tag when no TAG argument is given
#   VERSION         version to stamp (default: git describe, else "dev")
#   PARLEY_BINARY   use this already built linux binary instead of compiling
#   CA_CERTS        CA bundle to copy (default /etc/ssl/certs/ca-certificates.crt)
#   GOARCH          target architecture (default: the Go toolchain's)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-${PARLEY_IMAGE:-parley:latest}}
ca=${CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
version=${VERSION:-$(git -C "$root" describe --tags --always --dirty 2>/dev/null || echo dev)}

ctx=$(mktemp -d "${TMPDIR:-/tmp}/parley-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT

binary=${PARLEY_BINARY:-}
if [ -z "$binary" ]; then
	binary=$ctx/parley
	echo "image.sh: compiling parley $version" >&2
	(cd "$root" && CGO_ENABLED=0 GOOS=linux go build -trimpath \
		-ldflags "-s -w -X main.version=$version" -o "$binary" ./cmd/parley)
fi

# The context mirrors the repository's paths the prebuilt stage copies.
sh "$root/deploy/image/rootfs.sh" "$binary" "$ca" "$ctx/deploy/image"
rm -f "$ctx/parley"

echo "image.sh: building $tag (target prebuilt)" >&2
docker build --target prebuilt --build-arg VERSION="$version" \
	-t "$tag" -f "$root/Dockerfile" "$ctx"
docker image inspect -f 'image.sh: {{index .RepoTags 0}} {{.Size}} bytes, user {{.Config.User}}' "$tag" >&2
