# syntax=docker/dockerfile:1
#
# kaowu server image. The React client (web/dist) is committed and embedded
# into the binary, so no Node stage is needed.
#
#   docker build -t kaowu .
#   docker compose up   (see docker-compose.yml)

FROM golang:1.26-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOTOOLCHAIN=local
# Dependencies first, so that source edits do not invalidate this layer.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -o /out/kaowu ./cmd/kaowu

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 kaowu \
    && useradd --system --uid 10001 --gid kaowu --home-dir /var/lib/kaowu \
       --create-home --shell /usr/sbin/nologin kaowu
COPY --from=build /out/kaowu /usr/local/bin/kaowu
# Writable working directory for anything the server keeps on local disk.
WORKDIR /var/lib/kaowu
USER 10001:10001
ENV KAOWU_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/kaowu"]
CMD ["serve"]
