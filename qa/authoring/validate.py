"""What counts as a usable list of expansions, from a model's reply or from a reviewed draft.

Strict on purpose: a list of one-line strings, each of a sane length, none repeated, none the
pledge itself. A reply that is not that JSON, is cut off, or is a refusal is rejected with a
reason a person can read; nothing is repaired by guessing.
"""

from __future__ import annotations

import json
import re

from qa.authoring.client import Reply, ReplyRejected

MIN_DRAFTED = 10  # the brief asks for eighteen; fewer than this is not a draft worth reviewing
MIN_REVIEWED = 1  # a reviewer may delete texts
MAX_TEXTS = 25
MIN_CHARS, MAX_CHARS = 2, 600  # the existing texts run from 6 to 386 characters
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)
_REFUSAL = re.compile(
    r"^\W*(i'?m sorry|i am sorry|sorry|i can(?:'|no)?t|i cannot|i am unable|i'?m unable|i won'?t|"
    r"as an ai|i'?m not able|beklager|jeg kan ikke)\b",
    re.IGNORECASE,
)


class BadTexts(ValueError):
    """The texts break a rule; the message says which."""


def texts_from_reply(reply: Reply, pledge: str) -> list[str]:
    """The expansions in a model's reply, checked; `ReplyRejected` with the reason otherwise."""
    if reply.finish_reason == "content_filter":
        raise ReplyRejected("the model refused (finish_reason content_filter)")
    if reply.refusal:
        raise ReplyRejected(f"the model refused: {_short(reply.refusal)}")
    content = reply.content.strip()
    if fenced := _FENCE.match(content):
        content = fenced.group(1)
    try:
        data = json.loads(content)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python's parser goes
        if _REFUSAL.search(content):
            raise ReplyRejected(f"the model refused: {_short(content)}") from None
        if reply.finish_reason == "length":
            raise ReplyRejected("the reply was cut off at the model's length limit (finish_reason length)") from None
        raise ReplyRejected(f"the reply is not JSON: {_short(content)}") from None
    texts = data.get("expansions") if isinstance(data, dict) else data
    if not isinstance(texts, list):
        raise ReplyRejected(f'the reply is not {{"expansions": [...]}}: {_short(content)}')
    try:
        return check_texts(texts, pledge, minimum=MIN_DRAFTED)
    except BadTexts as exc:
        raise ReplyRejected(f"the reply's expansions are not usable: {exc}") from None


def check_texts(texts, pledge: str, *, minimum: int = MIN_REVIEWED) -> list[str]:
    """`texts` with spacing tidied, or `BadTexts` naming the first rule broken."""
    if not isinstance(texts, list):
        raise BadTexts("expansions must be a list of strings")
    if not minimum <= len(texts) <= MAX_TEXTS:
        raise BadTexts(f"{len(texts)} texts; between {minimum} and {MAX_TEXTS} wanted")
    cleaned, seen = [], set()
    own = _key(pledge)
    for i, text in enumerate(texts, start=1):
        if not isinstance(text, str):
            raise BadTexts(f"text {i} is not a string: {_short(json.dumps(text, ensure_ascii=False))}")
        tidy = " ".join(text.split())
        if not MIN_CHARS <= len(tidy) <= MAX_CHARS:
            what = "empty" if not tidy else f"{len(tidy)} characters"
            raise BadTexts(f"text {i} is {what}; {MIN_CHARS} to {MAX_CHARS} wanted")
        key = _key(tidy)
        if key == own:
            raise BadTexts(f"text {i} is the pledge itself")
        if key in seen:
            raise BadTexts(f"text {i} repeats an earlier one: {_short(tidy)}")
        seen.add(key)
        cleaned.append(tidy)
    return cleaned


def _key(text: str) -> str:
    """Case, spacing and the final full stop ignored."""
    return " ".join(text.casefold().split()).rstrip(" .!?")


def _short(text: str, n: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text[:n] + ("…" if len(text) > n else ""))
