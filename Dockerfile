# One image for every Paydraw process: docker-compose.yml runs it as the API (the default
# command below), as the worker (python -m paydraw.worker) and as the one-shot migration.
FROM python:3.11.11-slim-bookworm

COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv

# Compile bytecode at build time (faster start), copy rather than link out of uv's cache, and
# never let uv fetch a Python of its own: the base image's Python is the one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PYTHONUNBUFFERED=1 \
    PATH="/app/.venv/bin:$PATH"

# WeasyPrint prints the PDFs with the system's Pango and cuts their fonts down with HarfBuzz's
# subsetter; the papers are set in Liberation Sans and Mono, with DejaVu for any letter they lack
# (as scripts/ensure-pdf-libs.sh installs them for `make`).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
        libharfbuzz-subset0 fontconfig fonts-liberation fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY . .
RUN uv sync --frozen --no-dev

# Never run as root; var/ is the only place the app may write (PAYDRAW_DATA_DIR's default).
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin paydraw \
    && install -d -o paydraw -g paydraw /app/var
USER paydraw

EXPOSE 8000
CMD ["uvicorn", "api.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
