import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import PUBLISHED_KEYS, Settings

# The key every install used until development made its own (issue 14, finding 8).
OLD_DEVELOPMENT_KEY = "development-only-key-do-not-use-in-production-000"
ROOT = Path(__file__).resolve().parents[2]


def test_development_makes_a_random_key_keeps_it_and_reads_it_again(tmp_path: Path) -> None:
    path = tmp_path / "data" / "jifen-secret.key"
    first = Settings(env="development", secret_key="", secret_key_file=str(path)).secret_key
    assert len(first) >= 32 and first not in PUBLISHED_KEYS
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Settings(env="development", secret_key="", secret_key_file=str(path)).secret_key
    assert again == first  # a restart keeps everyone logged in
    other = Settings(env="development", secret_key="",
                     secret_key_file=str(tmp_path / "another.key")).secret_key
    assert other != first  # random, not one key for every install
    assert [p.name for p in path.parent.iterdir()] == ["jifen-secret.key"]  # nothing left over


def test_processes_starting_at_once_agree_on_the_key(tmp_path: Path) -> None:
    """uvicorn's workers start together: every one must sign with the same key."""
    env = {k: v for k, v in os.environ.items() if k != "JIFEN_SECRET_KEY"} | {
        "JIFEN_ENV": "development", "JIFEN_SECRET_KEY_FILE": str(tmp_path / "key")}
    code = "from app.settings import Settings; print(Settings().secret_key)"
    workers = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, text=True) for _ in range(6)]
    keys = {worker.communicate(timeout=60)[0].strip() for worker in workers}
    assert len(keys) == 1 and keys == {(tmp_path / "key").read_text().strip()}


def test_a_key_file_without_a_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jifen-secret.key"
    path.write_text("\n")
    with pytest.raises(ValidationError, match="no usable secret key"):
        Settings(env="development", secret_key="", secret_key_file=str(path))


@pytest.mark.parametrize("env", ["development", "production"])
def test_the_published_development_key_is_refused_everywhere(env: str) -> None:
    with pytest.raises(ValidationError, match="published"):
        Settings(env=env, secret_key=OLD_DEVELOPMENT_KEY)


@pytest.mark.parametrize(
    "key",
    ["", "short", OLD_DEVELOPMENT_KEY, "a" * 40, "abababababababababababababababababab"],
    ids=["unset", "short", "the-development-key", "one-letter", "two-letters"],
)
def test_production_refuses_a_weak_key(key: str) -> None:
    with pytest.raises(ValidationError, match="JIFEN_SECRET_KEY"):
        Settings(env="production", secret_key=key)


def test_production_accepts_a_random_key() -> None:
    key = "Zq3v9XbT1mKp0sLr8yWc2nHd7fJg5eAu6iOx4_-"
    assert Settings(env="production", secret_key=key).secret_key == key


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIFEN_DATABASE_URL", "sqlite:////tmp/elsewhere.db")
    monkeypatch.setenv("JIFEN_TOKEN_TTL_MINUTES", "30")
    settings = Settings()
    assert (settings.database_url, settings.token_ttl_minutes) == (
        "sqlite:////tmp/elsewhere.db", 30)


@pytest.mark.parametrize(
    "bad",
    [{"db_pool_size": 0}, {"db_max_overflow": -1}, {"worker_threads": 0},
     {"hash_concurrency": 0}, {"image_concurrency": 0}, {"image_concurrency": 65},
     {"db_pool_size": 501}],
)
def test_pool_threads_and_hashing_are_bounded(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        Settings(env="development", **bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "value", "said"), [
    ("JIFEN_CORS_ORIGINS", "https://a.example/", "JIFEN_CORS_ORIGINS: 'https://a.example/'"),
    ("JIFEN_DEVICE_DAYS", "0", "JIFEN_DEVICE_DAYS: Input should be greater than or equal to 1"),
])
def test_a_bad_setting_stops_the_command_with_one_line(name: str, value: str,
                                                       said: str) -> None:
    done = subprocess.run([sys.executable, "-m", "app.console", "serve", "--port", "1"],
                          env={**os.environ, name: value}, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith(f"jifen: {said}") and "Traceback" not in done.stderr
