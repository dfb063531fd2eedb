# The rotel OpenTelemetry collector. Its binary ships inside the PyPI package `rotel`
# (rotel/rotel-agent in the wheel). Build from the repository root:
#   docker build -f deploy/images/rotel.Dockerfile -t rotel:0.1.0 .
FROM python:3.12-slim-bookworm AS fetch
RUN pip download --no-deps --only-binary=:all: --dest /wheel rotel \
 && python -m zipfile -e /wheel/rotel-*.whl /unpacked \
 && install -m 0755 /unpacked/rotel/rotel-agent /rotel

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=fetch /rotel /usr/local/bin/rotel
USER 65532:65532
EXPOSE 4317 4318
ENTRYPOINT ["rotel"]
