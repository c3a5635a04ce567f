"""Which words of a quoted pledge matched the question: emphasis only, the quote stays verbatim.

A question's search terms are its words of four letters or more, less question words and the
party's own name, each cut to its first five letters (so "skolen" finds "skoler" and "skolehelsetjenesten").
A pledge word matches when it starts with a term. widget.js (`terms`, `marked`) does the same,
word for word, so the chat page draws the same <mark>s with JavaScript and without it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STOP = frozenset(
    "hvordan hvorfor hvilke hvilken hvem dere deres gjøre gjør noen noe eller også mener synes tenker være blir"
    " kommer sier skal ville vil hva med for what about will your does mdg bærum partiet programmet".split()
)
_WORD = re.compile(r"[^\W]+|\W+")
MIN_LENGTH = 4
STEM = 5


def _is_word(token: str) -> bool:
    return token[0].isalnum() or token[0] == "_"


@dataclass(frozen=True)
class Piece:
    text: str
    marked: bool


def terms(question: str) -> tuple[str, ...]:
    """The question's search terms, lower case, in order."""
    words = _WORD.findall(question.lower())
    return tuple(w[:STEM] for w in words if _is_word(w) and len(w) >= MIN_LENGTH and w not in STOP)


def pieces(text: str, words: tuple[str, ...]) -> list[Piece]:
    """`text` cut into runs, each marked when it is one word that starts with a term; joined they are `text`."""
    out: list[Piece] = []
    plain = ""
    for token in _WORD.findall(text):
        if _is_word(token) and any(token.lower().startswith(w) for w in words):
            if plain:
                out.append(Piece(plain, False))
            out.append(Piece(token, True))
            plain = ""
        else:
            plain += token
    if plain:
        out.append(Piece(plain, False))
    return out
