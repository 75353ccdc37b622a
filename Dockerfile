# Gatehouse image: one static, non-root binary (`gatehouse`, ENTRYPOINT) on an empty base.
#
#   make image                      # docker build -t ghcr.io/gatehouse-dev/gatehouse:$(cat VERSION)
#   docker run --rm -p 8080:8080 ghcr.io/gatehouse-dev/gatehouse:0.1.0 serve --http-addr 0.0.0.0:8080
#
# The version comes from the VERSION file (make image passes it as VERSION); deploy/ names
# the same tag, and deploy's test holds the two together. Needs BuildKit (Docker 23+ uses
# it by default) for the cache mounts.

# --- build --------------------------------------------------------------------------------
# The Go release go.mod asks for (go 1.26.x), pinned by tag.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src

# Modules first: this layer (and the module cache mount) survives source edits.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG VERSION=dev
# CGO_ENABLED=0: a static binary that needs no libc; -trimpath: no build paths in it;
# -buildvcs=false: .git is not in the context (.dockerignore).
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X main.version=${VERSION}" \
      -o /out/gatehouse ./cmd/gatehouse

# --- run ----------------------------------------------------------------------------------
# scratch: nothing but the binary and the CA bundle (OIDC issuers, AWS STS, TLS to
# SpiceDB and the database). No shell, no package manager, no moving base tag.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/gatehouse /gatehouse
# Numeric so runAsNonRoot can verify it without a passwd file (65532: distroless' nonroot).
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/gatehouse"]
CMD ["serve", "--http-addr", "0.0.0.0:8080"]
