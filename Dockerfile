# syntax=docker/dockerfile:1.7
# One Dockerfile for the four services (targets frontend, gateway, geolocator,
# iss-distance), the load generator (loadgen) and the collector distribution
# with a health probe (target otel-collector). Needs BuildKit (the default in
# current Docker).

ARG RUST_VERSION=1.95

# ---- build: all service binaries in one cargo invocation ---------------------
FROM rust:${RUST_VERSION}-slim-bookworm AS build
WORKDIR /src
COPY . .
# The cache mounts keep the crates.io registry and target/ between builds, so a
# change to one service recompiles that crate only, never the dependencies.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked \
        -p frontend -p gateway -p geolocator -p iss-distance -p healthcheck -p loadgen \
 && mkdir -p /out \
 && cp target/release/frontend target/release/gateway target/release/geolocator \
       target/release/iss-distance target/release/healthcheck target/release/loadgen /out/

# ---- runtime base: glibc + libgcc only, no shell, uid 65532 ------------------
# distroless publishes no versioned tags, so the tag is pinned by digest
# (refresh: docker buildx imagetools inspect gcr.io/distroless/cc-debian12:nonroot).
FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f AS runtime
COPY --from=build /out/healthcheck /usr/local/bin/healthcheck
ENV HOST=0.0.0.0
USER 65532:65532
# Probes GET /healthz on $PORT: distroless has no curl or shell.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/healthcheck"]

FROM runtime AS frontend
ENV PORT=5000
COPY --from=build /out/frontend /usr/local/bin/frontend
EXPOSE 5000
ENTRYPOINT ["/usr/local/bin/frontend"]

FROM runtime AS gateway
ENV PORT=5001
COPY --from=build /out/gateway /usr/local/bin/gateway
EXPOSE 5001
ENTRYPOINT ["/usr/local/bin/gateway"]

FROM runtime AS geolocator
ENV PORT=5002
COPY --from=build /out/geolocator /usr/local/bin/geolocator
EXPOSE 5002
ENTRYPOINT ["/usr/local/bin/geolocator"]

FROM runtime AS iss-distance
ENV PORT=5003
COPY --from=build /out/iss-distance /usr/local/bin/iss-distance
EXPOSE 5003
ENTRYPOINT ["/usr/local/bin/iss-distance"]

# ---- load generator for the compose "load" profile (lab/loadgen) -----------
# A client, not a server: no port, and compose's probe checks its target instead.
FROM gcr.io/distroless/cc-debian12:nonroot@sha256:9dac0a79194e45a7da0158a9c6da57b217585af0786db3845d1f0ec1a0dd182f AS loadgen
COPY --from=build /out/healthcheck /usr/local/bin/healthcheck
COPY --from=build /out/loadgen /usr/local/bin/loadgen
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/loadgen"]

# ---- collector: the minimal distribution of otel-collector/builder-config.yaml
# Built by the OpenTelemetry Collector Builder at the version the manifest pins,
# exactly as scripts/build-platform-tools.sh builds it for the end-to-end tests.
FROM golang:1.26.8-bookworm AS otelcol-build
ARG COLLECTOR_VERSION=0.159.0
# The golang image sets GOPATH=/go: its module cache is /go/pkg/mod.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go install go.opentelemetry.io/collector/cmd/builder@v${COLLECTOR_VERSION}
COPY otel-collector/builder-config.yaml /build/builder-config.yaml
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 builder --config=/build/builder-config.yaml --output-path=/build/dist
# The gateways' file_storage directory: a named volume mounted here starts
# with this owner, so the non-root collector can write its queue.
RUN mkdir -p /build/queue/var/lib/otelcol/queue

# The std-only health probe, compiled with plain rustc against musl into a
# static binary: the collector image has no shell, no libc and no curl.
FROM rust:${RUST_VERSION}-alpine AS healthcheck-static
COPY tools/healthcheck/src/main.rs /hc/main.rs
RUN rustc --edition 2021 -C opt-level=s -C strip=symbols -C target-feature=+crt-static \
        /hc/main.rs -o /hc/healthcheck

# Two static binaries on an empty image (lab/platform/image-inventory.txt).
FROM scratch AS otel-collector
COPY --from=otelcol-build /build/dist/otelcol-iss /otelcol-iss
COPY --from=healthcheck-static /hc/healthcheck /healthcheck
COPY --from=otelcol-build --chown=10001:10001 /build/queue/ /
USER 10001:10001
EXPOSE 4317 4318 8888 13133
ENTRYPOINT ["/otelcol-iss"]
CMD ["--config=/etc/otelcol/config.yaml"]
