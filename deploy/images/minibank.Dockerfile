# One image for every minibank service (`minibank serve <service>`) and the trace sink
# (`trace-sink`), FROM scratch so that no registry is needed. Its build context is assembled
# from the release binaries (CI: the debug ones, `--profile debug`), not from the sources; build
# it from the repository root with
#   cargo run -p drivers --bin build-images
# (drivers/src/containers/images.rs): rootfs/ holds the binaries, every shared library `ldd`
# lists for them and the dynamic loader; data/ becomes the services' SQLite folder.
FROM scratch
COPY rootfs/ /
COPY --chown=65532:65532 data/ /data/
# distroless "nonroot" uid, the user the manifests ask for.
USER 65532:65532
WORKDIR /data
# deploy/k8s runs the trace sink as `command: ["trace-sink"]`, found on this PATH.
ENV PATH=/usr/local/bin
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/minibank"]
