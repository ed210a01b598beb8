# syntax=docker/dockerfile:1
#
# Bürgerbüro: aiohttp app, served by `buergerbuero serve` on port 8080.
# Two stages so the runtime image carries only the venv, not uv, caches, build
# tools or the source tree.

# Both stages must use the same Python: the venv's interpreter is a symlink
# to /usr/local/bin/python3.11 of the base image.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build

# Everything comes from the lock, with hashes: uv itself (requirements-uv.txt) and
# then the app's dependencies (uv.lock), exactly the versions the tests ran with.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1

COPY requirements-uv.txt /tmp/
RUN python -m venv /opt/uv \
 && /opt/uv/bin/pip install --require-hashes -r /tmp/requirements-uv.txt

WORKDIR /src

# Dependencies first, from the lock alone, so this layer stays cached while only
# application code changes. All of them ship manylinux wheels for CPython 3.11 on
# amd64/arm64, so no compiler is installed. No test extra: runtime only.
COPY pyproject.toml uv.lock ./
RUN /opt/uv/bin/uv sync --locked --no-install-project --python /usr/local/bin/python3

# Then the project itself, built as a wheel (not editable), which carries the package
# data declared in pyproject.toml: templates/, static/ and locale/ (the message
# catalogues, read as .po at start-up; installed as buergerbuero/templates and so on),
# office/towns, office/migrations.
COPY README.md ./
COPY common ./common
COPY office ./office
COPY rooms ./rooms
COPY media ./media
COPY signalling ./signalling
COPY templates ./templates
COPY static ./static
COPY locale ./locale
RUN /opt/uv/bin/uv sync --locked --no-editable --python /usr/local/bin/python3

# ---------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="Bürgerbüro" \
      org.opencontainers.image.description="Virtual citizens' office for German towns: video appointments, waiting room, identity check, payment" \
      org.opencontainers.image.licenses="EUPL-1.2"

# Fixed uid/gid so volume ownership is predictable across rebuilds and hosts.
RUN groupadd --system --gid 10001 buergerbuero \
 && useradd --system --uid 10001 --gid buergerbuero \
        --home-dir /app --no-create-home --shell /usr/sbin/nologin buergerbuero

COPY --from=build /opt/venv /opt/venv

# BB_HOST: the app defaults to 127.0.0.1, unreachable from outside the container.
# PYTHONDONTWRITEBYTECODE: the venv is already compiled and not writable anyway.
ENV PATH=/opt/venv/bin:$PATH \
    BB_HOST=0.0.0.0 \
    BB_DATA_DIR=/app/var \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# The only writable place for the app user; everything else stays root-owned.
WORKDIR /app
RUN install -d -o buergerbuero -g buergerbuero -m 0750 /app/var

USER buergerbuero

EXPOSE 8080

# No curl in slim images, so ask Python. An empty ProxyHandler keeps any
# HTTP(S)_PROXY in the environment from routing the probe elsewhere;
# urlopen raises (exit 1) on connection errors and non-2xx answers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:8080/healthz', timeout=4)"]

CMD ["buergerbuero", "serve"]
