"""Mend a voter's spelling towards the programme's own words before ranking.

Two general repairs, both only for words the programme does not contain, and only to
words it does contain:

- æ, ø, å typed as ae, oe/o, aa/a (foreign keyboards): "pa skolen" -> "på skolen";
- one slip of the finger (a letter missing, extra, swapped or wrong) in words of five or
  more letters: "jobsøknader" -> "jobbsøknader".

A transliteration is used only when it is a far more common Norwegian word than the word
typed is in Norwegian or English; a slip is mended only in words no dictionary knows
(word frequencies from `wordfreq`), so real words the programme happens not to use
("pleier", "gjerder") are left alone.
Nothing here knows any particular question; the vocabulary is the programme itself.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import Counter

_TOKEN = re.compile(r"\w+|\W+")
_LETTERS = "abcdefghijklmnopqrstuvwxyzæøå"
_ASCII_FOR = (("aa", "å"), ("ae", "æ"), ("oe", "ø"), ("a", "å"), ("o", "ø"))
MIN_EDIT_LENGTH = 5
MAX_AMBIGUOUS = 4
MAX_REMEMBERED = 50_000  # words whose correction is kept
MIN_GAIN = 1.5  # Zipf units: the correction must be ~30 times more common than the word typed


_loading = threading.Lock()
_loaded = threading.Event()


def load_word_lists() -> None:
    """Import wordfreq and read its Norwegian and English lists (~0.4 s, once per process)."""
    if _loaded.is_set():
        return
    with _loading:  # a question asked meanwhile waits here for the load in progress
        if not _loaded.is_set():
            from wordfreq import zipf_frequency

            zipf_frequency("og", "nb"), zipf_frequency("and", "en")
            _loaded.set()


def load_word_lists_in_background() -> None:
    """Start `load_word_lists` on a thread; a correction that needs them meanwhile waits for it."""
    if not _loaded.is_set():
        threading.Thread(target=load_word_lists, name="word-lists", daemon=True).start()


def _zipf(word: str) -> float:
    """How common a word is in Norwegian or English, on wordfreq's Zipf scale (0 = unknown)."""
    load_word_lists()
    from wordfreq import zipf_frequency

    return max(zipf_frequency(word, "nb"), zipf_frequency(word, "en"))


def _zipf_nb(word: str) -> float:
    load_word_lists()
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "nb")


class Speller:
    """Corrects words towards a vocabulary, preferring its most common words."""

    def __init__(self, texts: list[str], *, common=_zipf, common_nb=_zipf_nb) -> None:
        self._freq = Counter(w for t in texts for w in re.findall(r"\w+", t.lower()))
        self._common, self._common_nb = common, common_nb
        self._mended: dict[str, str] = {}  # word -> what `_word` makes of it, always the same

    def correct(self, text: str) -> str:
        """`text` with unknown words replaced by their closest known spelling, if any."""
        return "".join(self._cached(tok) if tok[0].isalnum() else tok for tok in _TOKEN.findall(text))

    def _cached(self, word: str) -> str:
        """`_word(word)`, remembered: each question is mended twice (ranked, and shown), and
        voters' words repeat. Bounded: the memory is dropped whole when full."""
        mended = self._mended.get(word)
        if mended is None:
            if len(self._mended) >= MAX_REMEMBERED:
                self._mended.clear()
            mended = self._mended[word] = self._word(word)
        return mended

    def _word(self, word: str) -> str:
        lower = word.lower()
        if lower in self._freq or lower.isdigit():
            return word
        typed = self._common(lower)
        best = self._best(self._transliterations(lower))
        if best is not None and self._common_nb(best) - typed < MIN_GAIN:
            best = None
        if best is None and typed == 0 and len(lower) >= MIN_EDIT_LENGTH:
            best = self._best(_edits(lower))
        if best is None:
            return word
        return best.capitalize() if word[0].isupper() else best

    def _best(self, candidates: set[str]) -> str | None:
        known = [c for c in candidates if c in self._freq]
        return max(known, key=lambda c: (self._common_nb(c), self._freq[c], c)) if known else None

    @staticmethod
    def _transliterations(word: str) -> set[str]:
        """Every way of reading ascii stand-ins as æ, ø, å (bounded)."""
        out = {word}
        for ascii_, letter in _ASCII_FOR:
            grown = set()
            for w in out:
                spots = [m.start() for m in re.finditer(ascii_, w)][:MAX_AMBIGUOUS]
                for choice in itertools.product((False, True), repeat=len(spots)):
                    pieces, last = [], 0
                    for spot, use in zip(spots, choice):
                        if use:
                            pieces += [w[last:spot], letter]
                            last = spot + len(ascii_)
                    grown.add("".join(pieces) + w[last:])
            out |= grown
        out.discard(word)
        return out


def _edits(word: str) -> set[str]:
    """Words one deletion, transposition, replacement or insertion away (Norvig)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    transposes = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    replaces = {a + c + b[1:] for a, b in splits if b for c in _LETTERS}
    inserts = {a + c + b for a, b in splits for c in _LETTERS}
    return deletes | transposes | replaces | inserts
