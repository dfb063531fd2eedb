# One image for every minibank service (`minibank serve <service>`) and the trace sink
# (`trace-sink`). Build from the repository root:
#   docker build -f deploy/images/minibank.Dockerfile -t minibank:0.1.0 .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin minibank --bin trace-sink

# distroless "nonroot" runs as uid 65532, the user the manifests ask for.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/minibank /src/target/release/trace-sink /usr/local/bin/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["minibank"]
