# syntax=docker/dockerfile:1
# Images of the breakglass server (default target `server`) and of bgctl (`--target bgctl`):
#   docker build -t breakglass .
#   docker build --target bgctl -t bgctl .
# The cargo and npm commands are those of `cargo xtask dist` and crates/ui/build.rs
# (checked by the xtask test `dockerfile_builds_what_ci_builds`).

ARG RUST_VERSION=1.89
ARG NODE_VERSION=20.19

# ---- The web UI, built once and embedded into the server (BREAKGLASS_UI_DIST).
FROM docker.io/library/node:${NODE_VERSION}-bookworm-slim AS ui
WORKDIR /src/ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY ui/ ./
RUN npm exec --offline -- vite build --logLevel warn --outDir dist

# ---- The Rust binaries.
FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS builder
WORKDIR /src
COPY . .
COPY --from=ui /src/ui/dist /ui-dist
ENV BREAKGLASS_UI_DIST=/ui-dist
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --locked --release -p breakglass-server --bin breakglass -p bgctl --bin bgctl \
    && mkdir -p /out \
    && cp target/release/breakglass target/release/bgctl /out/

# ---- bgctl: the command-line client.
FROM gcr.io/distroless/cc-debian12:nonroot AS bgctl
COPY --from=builder /out/bgctl /usr/local/bin/bgctl
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/bgctl"]

# ---- The server (default target): non-root, no shell, read-only root file system works.
FROM gcr.io/distroless/cc-debian12:nonroot AS server
COPY --from=builder /out/breakglass /usr/local/bin/breakglass
USER 65532:65532
EXPOSE 8080 8443
ENTRYPOINT ["/usr/local/bin/breakglass"]
CMD ["--config-path=/etc/breakglass/config.yaml"]
