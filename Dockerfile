# embedkit serve in a container: a multi-stage build (the release binary is built with the
# README's `cargo install` command), then a small Debian image that runs it as a non-root user.
# Inside the container the server listens on 0.0.0.0 (the host decides what reaches it); every
# serve flag is an EMBEDKIT_* variable (docs/server.md), e.g.
#   docker build -t embedkit .
#   docker run -p 8080:8080 -v "$PWD/models:/models:ro" -e EMBEDKIT_MODEL=/models/all-MiniLM-L6-v2 embedkit
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo install --locked --path crates/embedkit-cli --root /out

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /data embedkit
COPY --from=build /out/bin/embedkit /usr/local/bin/embedkit
USER embedkit
WORKDIR /data
# Hub downloads go to the data folder (mount a volume there to keep them).
ENV EMBEDKIT_HOST=0.0.0.0 \
    EMBEDKIT_PORT=8080 \
    HF_HOME=/data/huggingface
EXPOSE 8080
ENTRYPOINT ["embedkit", "serve"]
