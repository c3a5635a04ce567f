"""Read `q`, `k`, `prev` and `exact` from a raw query string, strictly, and say in Norwegian what is wrong.

The question endpoints parse their own query string instead of letting the framework do it:
the framework silently replaces invalid UTF-8, keeps only the last of repeated parameters and
answers type errors with a list of dicts. Here every such case is one clear sentence.

The checks on the question itself (empty, too long, control and bidi characters, no letters)
belong to `qa.answering.limits.clean_question`, whose errors carry their Norwegian wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from qa.answering import limits
from qa.errors import BadQuestion

DEFAULT_K = 5
MAX_FIELDS = 20  # a question URL has two parameters; anything past this is junk

_INTEGER = re.compile(r"[+-]?[0-9]{1,6}")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NOT_UTF8 = "Adressen inneholder tegn som ikke er gyldig UTF-8."


class InvalidQuery(ValueError):
    """The query string cannot be used; the message is the `detail` a voter may see."""


class MissingQuestion(InvalidQuery):
    """There is no `q` at all (the chat page then simply shows no answer)."""


@dataclass(frozen=True)
class QuestionParams:
    q: str
    k: int
    programme: str | None = None  # a programme's slug (qa.programmes); None for the default one
    prev: str | None = None  # the previous question of the conversation; checked by the core
    exact: bool = False  # answer the words as typed: no spelling mended (`exact=1`)


def parse_question(query_string: bytes, *, k_default: int = DEFAULT_K) -> QuestionParams:
    """Parse `q` (required, once), `k` (optional, once, 1..`limits.MAX_K`) and `prev` (optional,
    once; empty means none, as the chat form sends it before its first answer) from a raw query string."""
    values = _parse_pairs(query_string)
    q = _single(values, "q")
    if q is None:
        raise MissingQuestion("Spørsmålet mangler: oppgi det som parameteren q, for eksempel ?q=sykkel.")
    raw_k = _single(values, "k")
    programme = _single(values, "programme") or None
    prev = _single(values, "prev") or None
    exact = _parse_exact(_single(values, "exact"))
    k = k_default if raw_k is None else _parse_k(raw_k)
    return QuestionParams(q, k, programme=programme, prev=prev, exact=exact)


def parse_compare(query_string: bytes) -> tuple[QuestionParams, list[str]]:
    """`q` (and `k`) as `parse_question`, and `programmes`: comma-separated slugs, once."""
    params = parse_question(query_string, k_default=3)
    raw = _single(_parse_pairs(query_string), "programmes")
    slugs = [s.strip() for s in (raw or "").split(",") if s.strip()]
    if not slugs:
        raise InvalidQuery("Programmene mangler: oppgi dem som programmes=a,b,c.")
    return params, list(dict.fromkeys(slugs))


def _parse_pairs(query_string: bytes) -> dict[str, list[str]]:
    try:
        text = query_string.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidQuery(_NOT_UTF8) from None
    if _BAD_PERCENT.search(text):
        raise InvalidQuery("Adressen har et %-tegn som ikke er en gyldig koding; skriv det som %25.")
    try:
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=MAX_FIELDS)
    except UnicodeDecodeError:
        raise InvalidQuery(_NOT_UTF8) from None
    except ValueError:  # more than MAX_FIELDS
        raise InvalidQuery(f"Adressen har for mange parametre (over {MAX_FIELDS}).") from None
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def check_sent_lengths(params: QuestionParams) -> None:
    """The API's `q` and `prev` are at most MAX_QUESTION characters as sent, spaces included (as the
    pages' and the widget's maxlength count), so the maxLength its OpenAPI document gives is the one
    enforced; the core counts again after trimming. The chat page keeps counting after trimming."""
    for text, prefix in ((params.q, ""), (params.prev or "", "Forrige spørsmål (prev): ")):
        if len(text) > limits.MAX_QUESTION:
            raise InvalidQuery(
                f"{prefix}Spørsmålet er {len(text)} tegn langt; det kan være på høyst {limits.MAX_QUESTION} tegn."
            )


def _single(values: dict[str, list[str]], name: str) -> str | None:
    given = values.get(name)
    if not given:
        return None
    if len(given) > 1:
        raise InvalidQuery(f"Parameteren {name} er oppgitt {len(given)} ganger; oppgi den én gang.")
    return given[0]


def _parse_k(raw: str) -> int:
    wrong = f"k må være et helt tall fra 1 til {limits.MAX_K}"
    if not _INTEGER.fullmatch(raw.strip()):
        shown = raw if len(raw) <= 20 else raw[:20] + "…"
        raise InvalidQuery(f"{wrong}, ikke «{shown}».")
    k = int(raw)
    if not 1 <= k <= limits.MAX_K:
        raise InvalidQuery(f"{wrong}, ikke {k}.")
    return k


def _parse_exact(raw: str | None) -> bool:
    """`exact=1` answers the question as typed; `0`, empty or absent mends its spelling."""
    if raw is None or raw.strip() in ("", "0"):
        return False
    if raw.strip() == "1":
        return True
    shown = raw if len(raw) <= 20 else raw[:20] + "…"
    raise InvalidQuery(f"exact må være 1 (svar på nøyaktig det som ble skrevet) eller 0, ikke «{shown}».")


def explain(error: BadQuestion) -> str:
    """The Norwegian `detail` for a `BadQuestion` from the core."""
    return error.voter_message
