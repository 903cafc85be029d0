import pytest
from pydantic import ValidationError

from app.settings import DEVELOPMENT_KEY, Settings


def test_development_runs_without_a_key() -> None:
    assert Settings(env="development", secret_key="").secret_key == DEVELOPMENT_KEY


@pytest.mark.parametrize(
    "key",
    ["", "short", DEVELOPMENT_KEY, "a" * 40, "abababababababababababababababababab"],
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
