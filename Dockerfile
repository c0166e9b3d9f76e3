# Portcullis container image.
#
#   docker build -t portcullis .
#   docker run --rm -p 4444:4444 -p 4445:4445 -e DSN=... -e SECRETS_SYSTEM=... \
#     portcullis serve all --dangerous-force-http
#
# Configured like Hydra: env vars (DSN, URLS_SELF_ISSUER, SECRETS_SYSTEM, ...) or
# `-c /etc/portcullis/portcullis.yml` (the commented example config).

# --- build ------------------------------------------------------------------------------------
FROM rust:1-slim-bookworm AS builder
WORKDIR /build

# OpenSSL (key generation, JWS signing, AES-GCM) links against the system library.
RUN apt-get update \
    && apt-get install -y --no-install-recommends pkg-config libssl-dev \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, against placeholder sources, so this layer is reused until
# Cargo.toml or Cargo.lock change.
COPY Cargo.toml Cargo.lock ./
RUN mkdir -p src tests/it \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs tests/it/main.rs \
    && cargo build --release --locked \
    && rm -rf src

# The real sources. migrations/ and config/ are read at compile time
# (embedded migrations, schema.json).
COPY src ./src
COPY migrations ./migrations
COPY config ./config
# COPY keeps the files' original mtimes, which can be older than the placeholder build:
# touch the crate roots so cargo rebuilds the portcullis crate.
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked \
    && strip target/release/portcullis

# --- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim

# curl is only for container health checks (docker-compose.yml).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl libssl3 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 portcullis \
    && useradd --system --uid 10001 --gid portcullis --no-create-home \
       --home-dir /var/lib/portcullis --shell /usr/sbin/nologin portcullis \
    && install -d -o portcullis -g portcullis -m 0750 /var/lib/portcullis

COPY --from=builder /build/target/release/portcullis /usr/bin/portcullis
COPY config/portcullis.yml /etc/portcullis/portcullis.yml

USER 10001:10001
WORKDIR /var/lib/portcullis

EXPOSE 4444 4445
ENTRYPOINT ["portcullis"]
CMD ["serve", "all"]
