"""The limits of a question, in one place: its length, and how many pledges may be asked for.

The server checks them here, reading these names when it checks (so a test may change them).
The chat page's `maxlength` and the widget's are MAX_QUESTION as well: the web layer hands it to
the templates and writes it into widget.js as it serves it (web/assets.py, `browser_limits`), so
no other file carries its own copy. MAX_K bounds the API's `k`; neither page sends one.
"""

from __future__ import annotations

import re

from qa.errors import BadQuestion

MAX_QUESTION = 500
MAX_K = 20

# Right-to-left overrides and isolates change how text is displayed without being visible,
# so a quoted question could read differently from what was asked.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
# Half of a UTF-16 pair on its own ("\\ud800" in JSON): not text, and no database can store it.
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_question(question: str) -> str:
    """Trim and check a question; raise `BadQuestion` saying what is wrong."""
    if not isinstance(question, str):
        raise BadQuestion("the question must be text", "Spørsmålet må være tekst.")
    if _CONTROLS.search(question.replace("\n", " ").replace("\t", " ").replace("\r", " ")):
        raise BadQuestion("the question contains control characters", "Spørsmålet inneholder kontrolltegn.")
    if _SURROGATES.search(question):
        raise BadQuestion("the question is not valid text (a lone UTF-16 surrogate)", "Spørsmålet inneholder ugyldige tegn.")
    if _BIDI_CONTROLS.search(question):
        raise BadQuestion(
            "the question contains right-to-left override characters",
            "Spørsmålet inneholder usynlige tegn som snur skriveretningen.",
        )
    question = " ".join(question.split())
    if not question:
        raise BadQuestion("the question is empty", f"Spørsmålet er tomt. Skriv et spørsmål på 1–{MAX_QUESTION} tegn.")
    if len(question) > MAX_QUESTION:
        raise BadQuestion(
            f"the question is {len(question)} characters; at most {MAX_QUESTION} are allowed",
            f"Spørsmålet er {len(question)} tegn langt; det kan være på høyst {MAX_QUESTION} tegn.",
        )
    if not any(c.isalnum() for c in question):
        raise BadQuestion("the question has no letters or digits", "Spørsmålet må inneholde bokstaver eller tall.")
    return question


def check_k(k: int) -> None:
    """Raise `BadQuestion` unless 1 <= k <= MAX_K."""
    if not 1 <= k <= MAX_K:
        raise BadQuestion(f"k must be between 1 and {MAX_K}, got {k}", f"k må være et helt tall fra 1 til {MAX_K}.")
