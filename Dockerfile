# The API image: gunicorn with uvicorn workers, dependencies from uv.lock, run as a non-root user.

# Build stage: resolve the locked dependencies into /app/.venv (uv and caches stay here).
FROM python:3.11-slim AS build
ENV UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY app ./app
RUN uv sync --frozen --no-dev

# Runtime stage: the virtual environment, the code, pg_dump/psql for backups, curl for checks,
# Pango and fonts for the printed documents.
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/app/.venv/bin:$PATH \
    DATA_DIR=/app/data \
    UPLOAD_DIR=/app/data/uploads \
    LOG_DIR=/app/logs \
    BACKUP_DIR=/app/backups
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client curl \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 dfims
WORKDIR /app
COPY --from=build /app/.venv ./.venv
COPY pyproject.toml uv.lock README.md alembic.ini gunicorn.conf.py ./
COPY app ./app
COPY migrations ./migrations
COPY scripts ./scripts
RUN mkdir -p /app/data/uploads /app/logs /app/backups \
    && chown -R dfims:dfims /app/data /app/logs /app/backups

USER dfims
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/health || exit 1
ENTRYPOINT ["scripts/docker-entrypoint.sh"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "app.main:app"]
