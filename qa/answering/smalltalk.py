"""Recognise a message that is only a greeting, thanks or goodbye ("hei", "takk!", "hello").

Such a message gets a short fixed reply that says what can be asked, not pledges. Only a
message made entirely of courtesy words counts: "hei, hva vil dere med bussen?" is a question
and is answered as one. The word lists are ordinary courtesy words of bokmål, nynorsk and
English, not tuned to any question set.
"""

from __future__ import annotations

import re

GREETING = "greeting"
THANKS = "thanks"

_GREETINGS = {
    "hei", "heia", "heisann", "hallo", "halla", "hallaisen", "hoi", "morn", "mornings", "god", "godt", "goddag",
    "morgen", "dag", "kveld", "ettermiddag", "hi", "hiya", "hey", "heyy", "hello", "good", "morning", "afternoon",
    "evening", "yo", "sup", "hola", "salut", "moin", "dere", "du", "alle", "sammen", "there", "everyone", "all",
    "folkens", "bot", "chatbot", "mdg", "igjen", "again",
}  # fmt: skip
_THANKS = {
    "takk", "tusen", "mange", "hjertelig", "takker", "takke", "skal", "ha", "for", "svaret", "svarene", "svar",
    "hjelpen", "det", "deg", "dere", "så", "mye", "thanks", "thank", "you", "thx", "ty", "cheers", "much", "a", "lot",
    "the", "answer", "help", "bra", "flott", "supert", "fint", "great", "nice", "ok", "okay", "greit", "kult",
    "fantastisk", "perfekt", "hadet", "snakkes", "vi", "ses", "bye", "goodbye", "see", "ya",
    "farvel", "natt", "night",
}  # fmt: skip
_THANKS_CORE = {"takk", "takker", "takke", "thanks", "thank", "thx", "ty", "cheers", "hadet", "snakkes", "ses",
                "bye", "goodbye", "farvel", "natt", "night"}  # fmt: skip
_GREETING_CORE = {"hei", "heia", "heisann", "hallo", "halla", "hallaisen", "hoi", "morn", "mornings", "goddag",
                  "dag", "morgen", "kveld", "hi", "hiya", "hey", "heyy", "hello", "morning", "afternoon", "evening", "yo",
                  "sup", "hola", "salut", "moin"}  # fmt: skip
_WORD = re.compile(r"[^\W\d_]+")
_HADET = re.compile(r"\bha\s+det\b")


def smalltalk(question: str) -> str | None:
    """GREETING or THANKS when `question` is only courtesy words, else None."""
    text = _HADET.sub("hadet", question.casefold())
    words = _WORD.findall(text)
    if not words or len(words) > 8 or re.search(r"\d", text):
        return None
    if all(w in _THANKS for w in words) and any(w in _THANKS_CORE for w in words):
        return THANKS
    if all(w in _GREETINGS for w in words) and any(w in _GREETING_CORE for w in words):
        return GREETING
    if all(w in _GREETINGS or w in _THANKS for w in words) and any(w in _GREETING_CORE for w in words):
        return GREETING  # "hei, takk!" or "hello there, thanks"
    return None


_COURTESY_WORDS = _GREETING_CORE | _THANKS_CORE | {"god", "godt", "tusen", "dere", "alle", "sammen", "there", "everyone", "folkens", "mdg"}
_LEADING = re.compile(r"^\s*((?:[^\W\d_]+\s*){1,4}?)[,!.:;]+\s*(?=.*[^\W\d_])", re.DOTALL)


def without_courtesy(question: str) -> str:
    """The question without a greeting or thanks it opens with ("hei, hva vil dere med skolen?"
    -> "hva vil dere med skolen?"), so the courtesy does not weigh in the ranking; unchanged when
    it opens otherwise, or when nothing but courtesy is left."""
    m = _LEADING.match(question)
    if m and all(w in _COURTESY_WORDS for w in m.group(1).casefold().split()) and smalltalk(question[m.end() :]) is None:
        return question[m.end() :]
    return question
