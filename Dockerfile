# The service on a slim Python, as a non-root user. Point DATABASE_URL at PostgreSQL:
#   docker build -t lma . && docker run -p 8000:8000 \
#     -e DATABASE_URL=postgresql+psycopg://user:pass@db:5432/lma lma
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/lma-metrics

RUN useradd --create-home --uid 10001 lma
WORKDIR /app

# Dependencies first (from the lock), so that code changes do not reinstall them.
COPY pyproject.toml constraints.txt README.md ./
RUN mkdir service && touch service/__init__.py \
    && pip install -c constraints.txt . \
    && pip uninstall -y living-meta-analysis

COPY alembic.ini ./
COPY migrations ./migrations
COPY service ./service
# pip compiled the dependencies' bytecode; the service's own is compiled here, since
# PYTHONDONTWRITEBYTECODE (and a read-only /app) would make every start compile it again.
RUN pip install --no-deps -e . && python -m compileall -q service migrations \
    && mkdir -p /app/var && chown lma:lma /app/var

USER lma
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"

# The workers' metrics files (README "Operating it"): emptied after the migration (whose process
# writes some too) and before uvicorn starts, as prometheus-client's docs require.
# Every replica may migrate at start: `lma db upgrade` holds a PostgreSQL advisory lock meanwhile.
# h11 with a bounded request head (MAX_HEADER_BYTES, README "Limits"): httptools has no limit.
# Requests are logged as JSON lines by the service itself, so uvicorn's access log is off.
CMD ["sh", "-c", "mkdir -p \"$PROMETHEUS_MULTIPROC_DIR\" && lma db upgrade && find \"$PROMETHEUS_MULTIPROC_DIR\" -mindepth 1 -delete && exec uvicorn service.main:app --host 0.0.0.0 --port 8000 --proxy-headers --timeout-graceful-shutdown ${GRACEFUL_SHUTDOWN_SECONDS:-10} --workers ${WEB_CONCURRENCY:-2} --http h11 --h11-max-incomplete-event-size ${MAX_HEADER_BYTES:-16384} --no-access-log"]
