# StackBill: the `stackbill` binary in a small image that runs as an unprivileged user.
# Build: docker build -t stackbill:0.1.0 .
# Run:   docker run -p 8080:8080 -v stackbill-data:/var/lib/stackbill stackbill:0.1.0 \
#          serve --bind 0.0.0.0:8080 --demo

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p stackbill-server \
 && strip target/release/stackbill

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 stackbill \
 && useradd --system --uid 10001 --gid stackbill --home-dir /var/lib/stackbill --create-home stackbill
COPY --from=build /src/target/release/stackbill /usr/local/bin/stackbill
USER 10001:10001
WORKDIR /var/lib/stackbill
ENV STACKBILL_DATABASE=sqlite:///var/lib/stackbill/stackbill.db \
    STACKBILL_KEY_FILE=/var/lib/stackbill/stackbill.key \
    STACKBILL_SECRETS_DIR=/run/secrets
EXPOSE 8080
VOLUME ["/var/lib/stackbill"]
ENTRYPOINT ["/usr/local/bin/stackbill"]
CMD ["serve", "--bind", "0.0.0.0:8080"]
