# Parley's one container image: the static `parley` binary on an empty
# (scratch) base. Every service uses the same image; the command picks the
# target: `parley web`, `parley api`, `parley model` or `parley serve`.
#
# Two ways to build it; both lay out the same files with
# deploy/image/rootfs.sh, so the images are alike:
#
#   docker build -t parley .
#       The default (last) stage, `image`: compiles inside the official golang
#       image. Needs a registry to pull golang from.
#
#   scripts/image.sh
#       Compiles on the host (CGO_ENABLED=0), then builds `--target prebuilt`
#       from a small context holding just the binary, the CA bundle and the
#       files rootfs.sh lays out, as Prometheus' images do. Needs no registry.
#
# Stage order matters: Docker's legacy builder (no BuildKit) runs every stage
# up to the --target in file order, so the stages the prebuilt path needs come
# first and the golang stage after them (--target prebuilt never touches
# golang). BuildKit only runs what the target needs; both builders work for
# both paths.
#
# No "# syntax=" line on purpose: it would make BuildKit pull a frontend image.

ARG GO_VERSION=1.26

# runtime: what every Parley container is, except its files.
FROM scratch AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.title="parley" \
      org.opencontainers.image.description="Self-hostable LLM chat: web, api and model services in one binary" \
      org.opencontainers.image.source="https://github.com/parley-chat/parley" \
      org.opencontainers.image.version="${VERSION}"
# Inside a container the service must listen on every interface; the
# binary's own default (127.0.0.1) suits a laptop, not a container.
# `parley healthcheck` probes 127.0.0.1 on this port.
ENV PARLEY_ADDR=0.0.0.0:8080 \
    PARLEY_DATABASE=/data/parley.db \
    PARLEY_MODELS_DIR=/models \
    PARLEY_LOG_FORMAT=json \
    HOME=/data \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# Numeric, so Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 65532:65532
EXPOSE 8080
# No curl in a scratch image: the binary checks itself.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/bin/parley", "healthcheck"]
ENTRYPOINT ["/bin/parley"]
CMD ["serve"]

# prebuilt: the binary and CA bundle come from the build context that
# scripts/image.sh prepares (deploy/image/rootfs.sh on the host). The same
# paths exist in the repository, holding only a skeleton, so that the legacy
# builder's pass over this stage during `docker build .` succeeds too.
FROM runtime AS prebuilt
COPY deploy/image/rootfs/ /
COPY --chown=65532:65532 deploy/image/owned/ /

# build: compiles the binary in the official Go image (user builds).
FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY internal/ internal/
COPY deploy/image/ deploy/image/
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/parley ./cmd/parley \
 && sh deploy/image/rootfs.sh /out/parley /etc/ssl/certs/ca-certificates.crt /out/image

# image: the default target, the same layout as prebuilt.
FROM runtime AS image
COPY --from=build /out/image/rootfs/ /
COPY --from=build --chown=65532:65532 /out/image/owned/ /
