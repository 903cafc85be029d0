# Jifen 积分: production image (SQLite in a volume; uvicorn on port 8000).
#
#   docker build -t jifen .
#   docker run -d --name jifen -p 8000:8000 -v jifen-data:/srv/jifen/data \
#       -e JIFEN_SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')" jifen
#   docker exec -it jifen jifen create-admin --username admin   # asks for the password
#
# JIFEN_SECRET_KEY is required: in production the app refuses to start without a
# strong one. Keep the same key across restarts, or every login token becomes invalid.
# `jifen serve` upgrades the database schema before it starts serving.
# For PostgreSQL instead of SQLite, set JIFEN_DATABASE_URL=postgresql+psycopg://...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1

# pango and a Chinese font for the PDF notices (WeasyPrint); nothing else from apt.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 jifen \
    && useradd --system --uid 10001 --gid jifen --no-create-home \
        --home-dir /srv/jifen --shell /usr/sbin/nologin jifen

WORKDIR /srv/jifen

# The code stays owned by root (read-only for the app); only data/ is writable.
# README* is optional (pyproject names README.md; a wildcard may match nothing).
COPY pyproject.toml README* ./
COPY app/ app/
COPY migrations/ migrations/
COPY alembic.ini ./
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info \
    && python -m compileall -q app migrations
COPY templates/ templates/
COPY static/ static/

RUN mkdir -p /srv/jifen/data && chown jifen:jifen /srv/jifen/data

# PYTHONPATH: run the code in /srv/jifen (next to migrations/, templates/, static/,
# alembic.ini), not the copy pip put in site-packages, so that paths the app
# derives from its own location, and `alembic` run from here, find those folders.
ENV JIFEN_ENV=production \
    JIFEN_DATABASE_URL=sqlite:////srv/jifen/data/jifen.db \
    PYTHONPATH=/srv/jifen

VOLUME ["/srv/jifen/data"]
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["jifen", "serve", "--host", "0.0.0.0", "--port", "8000"]
