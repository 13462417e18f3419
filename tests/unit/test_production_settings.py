"""ENVIRONMENT=production refuses debug and unsafe settings, each on its own, whether they come
from the environment or an env file; a sound production configuration (the shipped example
with its secret filled in) starts; ``dfims serve`` refuses ``--reload`` in production."""

import json
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT, ConfigurationError, Settings
from tests.support.servers import error_lines, free_port, run_dfims

GOOD_SECRET = "Zq8v3N0tA-default_but-random-enough-4f9c2e71b6"
GOOD_METRICS_TOKEN = "mT4k9-another_random-enough-value-8d1e5a30c2"
PRODUCTION_EXAMPLE = PROJECT_ROOT / ".env.prod.example"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No setting of the test run's environment leaks into the Settings built here."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def production(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    """Settings of a production environment with ``values`` in the environment."""
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("METRICS_TOKEN", GOOD_METRICS_TOKEN)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)


# --------------------------------------------------------------------------- what is refused


@pytest.mark.parametrize(
    ("name", "value"),
    [
        pytest.param("DB_ECHO", "true", id="db-echo"),
        pytest.param("DB_ECHO", "1", id="db-echo-1"),
        pytest.param("DB_ECHO", "yes", id="db-echo-yes"),
        pytest.param("LOG_LEVEL", "DEBUG", id="debug-log"),
        pytest.param("LOG_LEVEL", "debug", id="debug-log-lower-case"),
        pytest.param("CORS_ORIGINS", '["*"]', id="cors-star"),
        pytest.param("CORS_ORIGINS", '["https://shop.example", "*"]', id="cors-star-among-others"),
        pytest.param("SESSION_COOKIE_SECURE", "false", id="insecure-cookie"),
        pytest.param("SESSION_COOKIE_SECURE", "0", id="insecure-cookie-0"),
        pytest.param("SESSION_COOKIE_SECURE", "off", id="insecure-cookie-off"),
    ],
)
def test_production_refuses_each_unsafe_setting(
    clean_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    with pytest.raises(ConfigurationError, match=name) as refused:
        production(clean_env, **{name: value})

    message = str(refused.value)
    assert "production" in message
    others = {"DB_ECHO", "LOG_LEVEL", "CORS_ORIGINS", "SESSION_COOKIE_SECURE"} - {name}
    assert not [other for other in others if other in message], message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_ECHO", True),
        ("LOG_LEVEL", "DEBUG"),
        ("CORS_ORIGINS", ["*"]),
        ("SESSION_COOKIE_SECURE", False),
    ],
)
def test_production_refuses_unsafe_keyword_arguments(
    clean_env: pytest.MonkeyPatch, name: str, value: object
) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings(
            _env_file=None,
            ENVIRONMENT="production",
            SECRET_KEY=GOOD_SECRET,
            **{name: value},
        )


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "change-me",
        "  CHANGE-ME  ",
        "changeme",
        "secret",
        "your-secret-key-here",
        "x" * 31,
    ],
)
def test_production_refuses_a_default_or_short_secret(
    clean_env: pytest.MonkeyPatch, secret: str
) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        production(clean_env, SECRET_KEY=secret)


def test_every_refused_setting_is_named_at_once(clean_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError) as refused:
        production(
            clean_env,
            DB_ECHO="true",
            LOG_LEVEL="DEBUG",
            CORS_ORIGINS='["*"]',
            SESSION_COOKIE_SECURE="false",
            METRICS_TOKEN="",
        )

    message = str(refused.value)
    for name in ("DB_ECHO", "LOG_LEVEL", "CORS_ORIGINS", "SESSION_COOKIE_SECURE", "METRICS_TOKEN"):
        assert name in message


@pytest.mark.parametrize(
    "token",
    ["", "short-metrics-token", GOOD_METRICS_TOKEN[:31]],
    ids=["unset", "short", "one-short"],
)
def test_production_refuses_open_metrics(clean_env: pytest.MonkeyPatch, token: str) -> None:
    """/metrics shows revenue and order counts: production wants its token, or to be told
    that a proxy keeps it private."""
    with pytest.raises(ConfigurationError, match="METRICS_TOKEN") as refused:
        production(clean_env, METRICS_TOKEN=token)

    assert "METRICS_PUBLIC=true" in str(refused.value)


@pytest.mark.parametrize(
    ("token", "public"),
    [(GOOD_METRICS_TOKEN, "false"), ("", "true"), (GOOD_METRICS_TOKEN, "true")],
    ids=["token", "public", "both"],
)
def test_production_accepts_a_metrics_token_or_public_metrics(
    clean_env: pytest.MonkeyPatch, token: str, public: str
) -> None:
    settings = production(clean_env, METRICS_TOKEN=token, METRICS_PUBLIC=public)

    assert settings.ENVIRONMENT == "production"
    assert settings.METRICS_PUBLIC is (public == "true")


def test_an_unsafe_setting_in_the_env_file_is_refused(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env_file = tmp_path / "prod.env"
    env_file.write_text(f"ENVIRONMENT=production\nSECRET_KEY={GOOD_SECRET}\nDB_ECHO=true\n")

    with pytest.raises(ConfigurationError, match="DB_ECHO"):
        Settings(_env_file=env_file)


@pytest.mark.parametrize("environment", ["development", "test", "staging"])
def test_other_environments_allow_debugging(
    clean_env: pytest.MonkeyPatch, environment: str
) -> None:
    clean_env.setenv("ENVIRONMENT", environment)
    clean_env.setenv("SECRET_KEY", "short")
    clean_env.setenv("DB_ECHO", "true")
    clean_env.setenv("LOG_LEVEL", "DEBUG")
    clean_env.setenv("CORS_ORIGINS", '["*"]')
    clean_env.setenv("SESSION_COOKIE_SECURE", "false")

    settings = Settings(_env_file=None)

    assert settings.DB_ECHO is True
    assert settings.LOG_LEVEL == "DEBUG"
    assert settings.session_cookie_secure is False


# --------------------------------------------------------------------------- what passes


def test_a_sound_production_configuration_passes(clean_env: pytest.MonkeyPatch) -> None:
    settings = production(
        clean_env,
        LOG_LEVEL="INFO",
        DB_ECHO="false",
        CORS_ORIGINS=json.dumps(["https://shop.example", "https://admin.example"]),
        SESSION_COOKIE_SECURE="true",
    )

    assert settings.ENVIRONMENT == "production"
    assert settings.signing_key == GOOD_SECRET
    assert settings.session_cookie_secure is True
    assert settings.CORS_ORIGINS == ["https://shop.example", "https://admin.example"]


def test_production_defaults_are_safe(clean_env: pytest.MonkeyPatch) -> None:
    """Only the secret needs setting: the defaults are safe, and the cookie is HTTPS-only."""
    settings = production(clean_env)

    assert settings.DB_ECHO is False
    assert settings.LOG_LEVEL != "DEBUG"
    assert settings.CORS_ORIGINS == []
    assert settings.SESSION_COOKIE_SECURE is None
    assert settings.session_cookie_secure is True


def test_the_shipped_production_example_passes_once_its_secret_is_set(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    example = PRODUCTION_EXAMPLE.read_text(encoding="utf-8")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings(_env_file=PRODUCTION_EXAMPLE)

    filled = tmp_path / ".env.prod"
    filled.write_text(example.replace("\nSECRET_KEY=\n", f"\nSECRET_KEY={GOOD_SECRET}\n"))
    settings = Settings(_env_file=filled)

    assert settings.ENVIRONMENT == "production"
    assert settings.signing_key == GOOD_SECRET
    assert settings.session_cookie_secure is True


# --------------------------------------------------------------------------- dfims serve


def _production_env(test_env: dict[str, str], **values: str) -> dict[str, str]:
    return {
        **test_env,
        "ENVIRONMENT": "production",
        "SECRET_KEY": GOOD_SECRET,
        "METRICS_TOKEN": GOOD_METRICS_TOKEN,
        **values,
    }


def test_serve_refuses_reload_in_production(test_env: dict[str, str]) -> None:
    result = run_dfims(
        _production_env(test_env),
        "serve",
        "--reload",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
    )

    assert result.returncode == 1, (result.stdout, result.stderr)
    [line] = error_lines(result)
    assert line.startswith("error:"), line
    assert "--reload" in line
    assert "production" in line
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_unsafe_production_setting(test_env: dict[str, str]) -> None:
    result = run_dfims(
        _production_env(test_env, LOG_LEVEL="DEBUG"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(free_port()),
    )

    assert result.returncode == 1, (result.stdout, result.stderr)
    [line] = error_lines(result)
    assert line.startswith("error:"), line
    assert "LOG_LEVEL" in line
    assert "Traceback" not in result.stderr
