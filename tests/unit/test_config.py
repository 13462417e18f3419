"""Settings: defaults, the env file, and the production guard on SECRET_KEY."""

from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT, ConfigurationError, Settings

SETTING_NAMES = (
    "SECRET_KEY",
    "ENVIRONMENT",
    "DATABASE_URL",
    "DB_POOL_SIZE",
    "LOG_LEVEL",
    "REDIS_URL",
    "LOG_DIR",
    "DATA_DIR",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("secret", ["", "change-me", "secret", "short-but-not-default"])
def test_production_refuses_missing_default_or_short_secret(
    clean_env: pytest.MonkeyPatch, secret: str
) -> None:
    clean_env.setenv("ENVIRONMENT", "production")
    clean_env.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings(_env_file=None)


def test_production_accepts_a_real_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ENVIRONMENT", "production")
    clean_env.setenv("SECRET_KEY", "x" * 20 + "a-real-random-value-0123")
    clean_env.setenv("METRICS_PUBLIC", "true")
    settings = Settings(_env_file=None)
    assert settings.signing_key == settings.SECRET_KEY


def test_development_keeps_a_generated_key_across_restarts(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("DATA_DIR", str(tmp_path))
    first = Settings(_env_file=None).signing_key
    assert len(first) >= 32
    assert (tmp_path / ".secret_key").read_text() == first
    assert (tmp_path / ".secret_key").stat().st_mode & 0o077 == 0
    assert Settings(_env_file=None).signing_key == first


def test_env_file_is_read(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("DB_POOL_SIZE=17\nLOG_LEVEL=debug\n")
    settings = Settings(_env_file=env_file)
    assert settings.DB_POOL_SIZE == 17
    assert settings.LOG_LEVEL == "DEBUG"


def test_defaults_run_a_newcomers_copy(clean_env: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)
    assert f"sqlite:///{PROJECT_ROOT / 'data' / 'dfims.db'}" == settings.DATABASE_URL
    assert settings.LOG_DIR == PROJECT_ROOT / "logs"
    assert settings.REDIS_URL is None
    assert settings.MAX_FAILED_LOGINS == 5
    assert settings.LOCKOUT_MINUTES == 15
    assert 0 < settings.DB_POOL_TIMEOUT <= 5


def test_malformed_redis_url_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("REDIS_URL", "localhost:6379")
    with pytest.raises(ValueError, match="redis://"):
        Settings(_env_file=None)


def test_empty_redis_url_means_not_configured(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("REDIS_URL", "")
    assert Settings(_env_file=None).REDIS_URL is None
