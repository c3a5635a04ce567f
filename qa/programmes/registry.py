"""The programme registry: which programmes the service answers from, read from `QA_PROGRAMMES`.

`QA_PROGRAMMES` names a folder with one subfolder per programme. Each holds the programme as
`programme.txt` (the parser's text format) or `programme.pdf` (read as `python -m qa import`
reads it), optionally `expansions.jsonl`, `topics.jsonl` and an id ledger `programme.ids.jsonl`,
and `programme.toml`:

    slug = "mdg-baerum"                 # letters, digits and dashes; the URL's /p/SLUG/
    title = "MDG Bærums program 2023–2027"
    party = "MDG"
    place = "Bærum"
    level = "municipality"              # municipality, county or national
    period = "2023–2027"
    source_url = "https://..."          # the party's own PDF or page
    fallback = "mdg-norge"              # optional: a broader programme of the same party
    default = true                      # exactly one programme is the default (or the only one)

The registry's order (subfolders by name) is the fixed order in which compare shows programmes.
A bad or inconsistent registry (unreadable toml, a missing or bad field, a duplicate slug, an
unknown fallback, a fallback of another party, a cycle, no programme file, no or two defaults)
raises `ConfigError` with one line naming the folder and the problem. Unset, the service runs
with the one programme of `QA_CORPUS` (`single`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from qa.errors import ConfigError

LEVELS = ("municipality", "county", "national")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
FIELDS = ("slug", "title", "party", "place", "level", "period", "source_url")
DEFAULT_SLUG = "mdg-baerum"


@dataclass(frozen=True)
class Entry:
    """One programme of the registry."""

    slug: str
    title: str
    party: str
    place: str
    level: str
    period: str
    source_url: str
    programme: Path  # programme.txt or programme.pdf
    fallback: str | None = None
    default: bool = False

    def file(self, name: str) -> Path | None:
        """An optional data file beside the programme (expansions.jsonl, topics.jsonl, ...), if there."""
        path = self.programme.with_name(name)
        return path if path.is_file() else None

    def as_dict(self) -> dict:
        """What the API says about a programme."""
        return {name: getattr(self, name) for name in (*FIELDS, "fallback")}


def single(corpus: Path) -> Entry:
    """The one programme of a service without a registry, `QA_CORPUS` (the service as it always was)."""
    return Entry(DEFAULT_SLUG, "MDG Bærums program", "MDG", "Bærum", "municipality", "", "", corpus, None, True)


def load_registry(folder: Path) -> tuple[Entry, ...]:
    """Every programme under `folder`, in the registry's order; `ConfigError` for any problem."""
    if not folder.is_dir():
        raise ConfigError(f"QA_PROGRAMMES: no such folder: {folder}")
    entries = [_entry(sub) for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))]
    if not entries:
        raise ConfigError(f"QA_PROGRAMMES: {folder} has no programme folders (each with a programme.toml)")
    by_slug: dict[str, Entry] = {}
    for e in entries:
        if e.slug in by_slug:
            raise ConfigError(f"QA_PROGRAMMES: slug {e.slug!r} is used twice ({by_slug[e.slug].programme.parent.name}, {e.programme.parent.name})")
        by_slug[e.slug] = e
    for e in entries:
        if e.fallback is None:
            continue
        broader = by_slug.get(e.fallback)
        if broader is None:
            raise ConfigError(f"QA_PROGRAMMES: {e.slug}: fallback {e.fallback!r} is not a programme of the registry")
        if broader.party != e.party:
            raise ConfigError(f"QA_PROGRAMMES: {e.slug}: fallback {e.fallback!r} is another party's programme")
        seen, at = [e.slug], broader
        while at is not None:
            if at.slug in seen:
                raise ConfigError(f"QA_PROGRAMMES: fallbacks go round in a cycle: {' -> '.join([*seen, at.slug])}")
            seen.append(at.slug)
            at = by_slug.get(at.fallback) if at.fallback else None
    defaults = [e for e in entries if e.default]
    if len(entries) > 1 and len(defaults) != 1:
        named = ", ".join(e.slug for e in defaults) or "none"
        raise ConfigError(f"QA_PROGRAMMES: exactly one programme must say default = true (found: {named})")
    if len(entries) == 1 and not defaults:
        entries = [replace(entries[0], default=True)]  # the only one is the default
    return tuple(entries)


def _entry(folder: Path) -> Entry:
    where = f"QA_PROGRAMMES: {folder.name}/programme.toml"
    try:
        raw = tomllib.loads((folder / "programme.toml").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{where}: missing") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read: {exc}") from None
    for name in FIELDS:
        if not isinstance(raw.get(name), str) or not raw[name].strip():
            raise ConfigError(f"{where}: {name} must be a non-empty string")
    unknown = set(raw) - {*FIELDS, "fallback", "default"}
    if unknown:
        raise ConfigError(f"{where}: unknown fields {', '.join(sorted(unknown))}")
    if not SLUG.match(raw["slug"]):
        raise ConfigError(f"{where}: slug {raw['slug']!r} must be lower-case letters, digits and dashes")
    if raw["level"] not in LEVELS:
        raise ConfigError(f"{where}: level {raw['level']!r} must be one of {', '.join(LEVELS)}")
    fallback = raw.get("fallback")
    if fallback is not None and (not isinstance(fallback, str) or not fallback):
        raise ConfigError(f"{where}: fallback must be the slug of another programme")
    default = raw.get("default", False)
    if not isinstance(default, bool):
        raise ConfigError(f"{where}: default must be true or false")
    files = [folder / name for name in ("programme.txt", "programme.pdf") if (folder / name).is_file()]
    if len(files) != 1:
        problem = "has no programme.txt or programme.pdf" if not files else "has both programme.txt and programme.pdf"
        raise ConfigError(f"QA_PROGRAMMES: {folder.name} {problem}")
    return Entry(*(raw[n].strip() for n in FIELDS), files[0], fallback, default)
