"""docker-compose.yml, read as Docker Compose reads it (no Docker engine runs on the CI
machine, so it is checked, not started): the app built from the Dockerfile, on
PostgreSQL, upgraded at start, uploads in a volume, every setting one the app knows."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_app_is_built_here_and_waits_for_a_healthy_database() -> None:
    app, db = COMPOSE["services"]["app"], COMPOSE["services"]["db"]
    assert app["build"] == "." and (ROOT / "Dockerfile").is_file()
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert app["environment"]["JIFEN_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@db:5432/" in app["environment"]["JIFEN_DATABASE_URL"]


def test_the_schema_is_upgraded_at_start_and_readiness_is_checked() -> None:
    app = COMPOSE["services"]["app"]
    assert app["command"][:2] == ["jifen", "serve"]  # `jifen serve` migrates first (app/cli.py)
    assert "/readyz" in " ".join(app["healthcheck"]["test"])


def test_uploads_live_in_a_volume() -> None:
    app = COMPOSE["services"]["app"]
    upload_dir = app["environment"]["JIFEN_UPLOAD_DIR"]
    mounts = dict(v.split(":", 1)[::-1] for v in app["volumes"])
    assert any(upload_dir.startswith(target) for target in mounts)
    assert set(mounts.values()) <= set(COMPOSE["volumes"])


def test_every_setting_is_one_the_app_reads() -> None:
    names = set(COMPOSE["services"]["app"]["environment"])
    known = {f"JIFEN_{field.upper()}" for field in Settings.model_fields}
    assert names <= known, names - known
    # The secret is never a default: compose stops if it is unset.
    assert re.fullmatch(r"\$\{JIFEN_SECRET_KEY:\?.+\}",
                        COMPOSE["services"]["app"]["environment"]["JIFEN_SECRET_KEY"])
