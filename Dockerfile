# The scheduler-ext service image: `docker build .` (or hack/image.sh where no image can be pulled).
#
# Stages on the same base: one builds a virtualenv in /opt/scheduler-ext (dependencies in a layer
# of their own, so a source change reinstalls only the project), the last copies it onto a clean
# base: no pip, no setuptools, no packages' own test suites, no build cache. The image runs as a
# numeric non-root user and writes nothing outside /tmp (the chart mounts an emptyDir there and
# sets readOnlyRootFilesystem): pip compiles the bytecode at build time, HOME and TMPDIR are
# /tmp. One process, one uvicorn worker (`scheduler-ext serve`: the state is in memory).
#
# BASE: any image with Python 3.11+ as `python3` and its venv module (Debian's python3.11 and
# python3-venv, or the official python image). hack/image.sh builds one from Debian packages.
#
# Behind a TLS-intercepting proxy, pass its CA bundle as a build secret; pip uses it during the
# build only, nothing of it stays in the image:
#   DOCKER_BUILDKIT=1 docker build --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt .
ARG BASE=python:3.11-slim

# The runtime dependencies alone, read from pyproject.toml: the install below is reused until they
# change (a new dev dependency or tool setting does not reinstall them).
FROM ${BASE} AS requirements
WORKDIR /src
COPY pyproject.toml ./
RUN python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > requirements.txt

FROM ${BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/scheduler-ext
COPY --from=requirements /src/requirements.txt ./
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && /opt/scheduler-ext/bin/pip install --no-cache-dir --requirement requirements.txt
COPY pyproject.toml ./
COPY README.md ./
COPY scheduler_ext ./scheduler_ext
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && /opt/scheduler-ext/bin/pip install --no-cache-dir --no-deps . \
    && /opt/scheduler-ext/bin/pip uninstall --yes pip setuptools \
    && find /opt/scheduler-ext/lib -depth -type d -name tests -exec rm -rf {} + \
    && /opt/scheduler-ext/bin/scheduler-ext serve --help > /dev/null

FROM ${BASE}
LABEL org.opencontainers.image.title="scheduler-ext" \
      org.opencontainers.image.description="Kubernetes scheduler extender: priority-lexicographic CP-SAT packing" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/scheduler-ext /opt/scheduler-ext
ENV PATH=/opt/scheduler-ext/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
WORKDIR /tmp
# 65532: the conventional "nonroot" UID of distroless images; numeric so that Kubernetes'
# runAsNonRoot can verify it without a passwd entry.
USER 65532:65532
EXPOSE 8888 8889
ENTRYPOINT ["scheduler-ext"]
CMD ["serve"]
