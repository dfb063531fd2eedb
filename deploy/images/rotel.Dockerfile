# The rotel OpenTelemetry collector, FROM scratch. Its binary ships inside the PyPI package
# `rotel` (rotel/rotel-agent in the wheel). Build from the repository root with
#   cargo run -p drivers --bin build-images
# (drivers/src/containers/images.rs): rootfs/ holds the agent, every shared library `ldd` lists
# for it, the dynamic loader, and the CA bundle rotel insists on loading even without TLS.
FROM scratch
COPY rootfs/ /
USER 65532:65532
EXPOSE 4317 4318
ENTRYPOINT ["/usr/local/bin/rotel"]
