# Small static images for ferrolb's three binaries, built with musl:
#   docker build --target operator -t ghcr.io/ferrolb/operator:0.1.0 .
#   docker build --target webhook  -t ghcr.io/ferrolb/webhook:0.1.0 .
#   docker build --target speaker  -t ghcr.io/ferrolb/speaker:0.1.0 .
FROM rust:1.89-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools && rm -rf /var/lib/apt/lists/* \
    && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
        -p ferrolb-operator -p ferrolb-webhook -p ferrolb-speaker \
    && mkdir /out \
    && cp target/x86_64-unknown-linux-musl/release/ferrolb-operator \
          target/x86_64-unknown-linux-musl/release/ferrolb-webhook \
          target/x86_64-unknown-linux-musl/release/ferrolb-speaker /out/

# The operator and the webhook run as an unprivileged user.
FROM gcr.io/distroless/static-debian12:nonroot AS operator
COPY --from=build /out/ferrolb-operator /ferrolb-operator
USER 65532:65532
ENTRYPOINT ["/ferrolb-operator"]

FROM gcr.io/distroless/static-debian12:nonroot AS webhook
COPY --from=build /out/ferrolb-webhook /ferrolb-webhook
USER 65532:65532
ENTRYPOINT ["/ferrolb-webhook"]

# The speaker needs CAP_NET_RAW on the host network for ARP and NDP; the DaemonSet grants
# only that capability.
FROM gcr.io/distroless/static-debian12 AS speaker
COPY --from=build /out/ferrolb-speaker /ferrolb-speaker
ENTRYPOINT ["/ferrolb-speaker"]
