"""Character n-gram TF-IDF: the lexical signal that survives typos, compounds and inflection.

Norwegian glues words together ("kollektivtrafikken", "jobbsøknader") and voters misspell
them; whole-word matching (BM25) misses both, while shared 3–5 letter grams within words
still match. Vectors are L2-normalised, so a dot product is cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from index.cachefile import keep

log = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
SIZES = (3, 4, 5)
FORMAT = 1  # of the kept table (`cached`); a change here, or in how the table is built, bumps it


def grams(text: str) -> Counter:
    """Character n-grams of each word padded with spaces, like scikit-learn's `char_wb`."""
    out: Counter = Counter()
    for word in _WORD.findall(text.lower()):
        padded = f" {word} "
        for n in SIZES:
            if len(padded) < n:
                continue
            out.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return out


class CharTfidf:
    """TF-IDF over character n-grams of a fixed set of documents."""

    def __init__(self, documents: list[str], counted: list[str] | tuple[str, ...] = ()) -> None:
        """`counted` texts count towards how common each gram is (its idf) but are not scored:
        voters' questions, so that a word nearly every question uses ("politikk", "policy")
        weighs little even where few pledges use it."""
        # Built in whole-array steps (start-up CPU: 1.4-2.0 s in per-document Python, 0.26 s here) with
        # the very float32 operations, in the very order, of the scipy construction it replaced:
        # tests/test_lexical_build.py holds the two equal bit for bit.
        n, every = len(documents), len(documents) + len(counted)
        doc_of, word_of, word_count, word_grams = _document_words([*documents, *counted])
        gram_ids, gram_counts, starts, names = word_grams
        # Gram ids in sorted order, as the vocabulary has always been numbered.
        self._vocab = dict(zip(sorted(names), range(len(names))))
        gram_ids = np.array([self._vocab[g] for g in names], dtype=np.int64)[gram_ids]
        docs, grams_of, tf = _term_counts(every, len(names), doc_of, word_count, word_of, gram_ids, gram_counts, starts)
        df = np.bincount(grams_of, minlength=len(names))
        idf_of = {d: math.log((1 + every) / (1 + d)) + 1 for d in np.unique(df).tolist()}
        self._idf = np.array([idf_of[d] for d in df.tolist()], dtype=np.float64).astype(np.float32)
        scored = docs < n  # pairs come by document: the counted texts' pairs are the last ones
        docs, grams_of, tf = docs[scored], grams_of[scored], tf[scored]
        log_tf = np.array([1 + math.log(t) if t else 0.0 for t in range(int(tf.max(initial=0)) + 1)], np.float64)
        weights = log_tf[tf].astype(np.float32) * self._idf[grams_of]
        # L2-normalise each document: its squares summed in gram order, in float32.
        indptr = np.searchsorted(docs, np.arange(n + 1))
        norms = np.zeros(n, np.float32)
        filled = np.flatnonzero(np.diff(indptr))
        if len(weights):
            norms[filled] = np.add.reduceat(weights * weights, indptr[filled])
        norms = np.sqrt(norms)
        norms[norms == 0] = 1
        values = (1 / norms)[docs] * weights
        # (vocab, docs): the documents' weights for each gram, one row per gram, documents in
        # order. A question has a few dozen grams, so scoring sums those rows; see `scores`.
        # Pairs come by document, then gram: a stable sort by gram (a radix sort on 16 bits) transposes.
        order = np.argsort(grams_of.astype(np.uint16) if len(names) <= 1 << 16 else grams_of, kind="stable")
        self._indptr = np.searchsorted(grams_of[order], np.arange(len(names) + 1)).astype(np.int32)
        self._indices, self._data = docs[order].astype(np.int32), values[order]
        self._row_lengths = np.diff(self._indptr)
        self._n = n

    def arrays(self) -> dict[str, np.ndarray]:
        """Everything the table holds, as arrays (for `cached`; `from_arrays` reads them back)."""
        names = sorted(self._vocab, key=self._vocab.__getitem__)
        return {
            "grams": np.array(names, dtype=f"<U{max(SIZES)}"),
            "idf": self._idf,
            "indptr": self._indptr,
            "indices": self._indices,
            "data": self._data,
            "documents": np.array(self._n, dtype=np.int64),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CharTfidf:
        """The table `arrays()` gave, without building it again; shapes that do not fit raise ValueError."""
        table = cls.__new__(cls)
        grams = arrays["grams"].tolist()
        table._vocab = dict(zip(grams, range(len(grams))))
        table._idf = arrays["idf"].astype(np.float32, copy=False)
        table._indptr = arrays["indptr"].astype(np.int32, copy=False)
        table._indices = arrays["indices"].astype(np.int32, copy=False)
        table._data = arrays["data"].astype(np.float32, copy=False)
        table._n = int(arrays["documents"])
        table._row_lengths = np.diff(table._indptr)
        fits = (
            len(table._vocab) == len(grams) == len(table._idf) == len(table._indptr) - 1
            and len(table._indices) == len(table._data) == (int(table._indptr[-1]) if len(table._indptr) else -1)
            and bool(np.all(table._row_lengths >= 0))
            and (len(table._indices) == 0 or (0 <= int(table._indices.min()) and int(table._indices.max()) < table._n))
        )
        if not fits:
            raise ValueError("the arrays do not make one table")
        return table

    def _weights(self, counts: Counter) -> tuple[list[int], np.ndarray]:
        """The vocabulary ids of a text's grams and their TF-IDF weights (grams not in the vocabulary dropped).

        Each weight is float32((1 + log tf) as float64) * idf in float32, as it always was."""
        vocab = self._vocab
        found = [(vocab[g], tf) for g, tf in counts.items() if g in vocab]
        ids = [j for j, _ in found]
        logs = np.array([1 + math.log(tf) for _, tf in found], dtype=np.float64).astype(np.float32)
        return ids, logs * self._idf[ids]

    def scores(self, query: str) -> np.ndarray:
        """Cosine similarity of `query` to every document, in document order."""
        ids, weights = self._weights(grams(query))
        if not ids:
            return np.zeros(self._n, dtype=np.float32)
        w = np.array(weights, dtype=np.float64)
        w /= np.linalg.norm(w)
        # The stored entries of the question's gram rows, gathered without scipy's per-call setup
        # (which cost more than the arithmetic: ~1 ms a question).
        starts, lengths = self._indptr[ids], self._row_lengths[ids]
        entries = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        scores = np.bincount(
            self._indices[entries], weights=self._data[entries] * np.repeat(w, lengths), minlength=self._n
        )
        return scores.astype(np.float32)


def cached(documents: list[str], path: Path | None, counted: list[str] | tuple[str, ...] = ()) -> CharTfidf:
    """The table of `documents` (and `counted`, as CharTfidf), read from `path` when it was kept
    there for these very texts, else built (0.3-0.5 s at start-up for this programme) and kept there.

    The file is a cache, not data: a missing, damaged or other documents' file means building
    (a damaged one with a warning), and a file that cannot be written is one warning. It is
    replaced whole (temporary file and rename), so servers starting together cannot tear it.
    """
    if path is None:
        return CharTfidf(documents, counted)
    key = _documents_key([*documents, "\0counted", *counted])
    try:
        with np.load(path, allow_pickle=False) as kept:
            if str(kept["key"]) == key:
                return CharTfidf.from_arrays({name: kept[name] for name in kept.files})
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("ignoring the kept lexical table %s (%s); building it", path, exc)
    table = CharTfidf(documents, counted)
    keep(path, lambda f: np.savez(f, key=np.array(key), **table.arrays()), "lexical table")
    return table


def _documents_key(documents: list[str]) -> str:
    digest = hashlib.sha256(f"char-tfidf {FORMAT} {SIZES}".encode())
    for text in documents:
        digest.update(b"\0" + text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _term_counts(n, size, doc_of, word_count, word_of, gram_ids, gram_counts, starts):
    """(document, gram, count) of every gram a document has, by document then gram.

    Each (document, word) pair stands for its word's grams times the word's count; they are
    summed per document with one dense count over a few documents at a time (no sort).
    """
    lengths = np.diff(starts)[word_of]
    entries = np.repeat(starts[:-1][word_of] - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
    grams_all = gram_ids[entries]
    times = np.repeat(word_count, lengths) * gram_counts[entries]
    entry_doc = np.repeat(doc_of, lengths)
    bounds = np.append(0, np.cumsum(lengths))[np.searchsorted(doc_of, np.arange(n + 1))]
    step = max(1, 2_000_000 // max(size, 1))
    docs, grams_of, tf = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for first in range(0, n, step):
        last = min(n, first + step)
        a, b = bounds[first], bounds[last]
        counts = np.bincount((entry_doc[a:b] - first) * size + grams_all[a:b], times[a:b], (last - first) * size)
        found = np.flatnonzero(counts)
        docs.append(found // size + first)
        grams_of.append(found % size)
        tf.append(counts[found].astype(np.int64))
    return np.concatenate(docs), np.concatenate(grams_of), np.concatenate(tf)


def _document_words(documents: list[str]):
    """Each document's distinct words with their counts, and each distinct word's grams.

    Returns (document of each pair, word of each pair, count of each pair, (gram id of each
    word-gram pair, its count, where each word's pairs start, gram names by id)), the same
    grams as `grams` finds, counted in whole-array steps over all words at once.
    """
    tokens = [_WORD.findall(text.lower()) for text in documents]
    words = {w: i for i, w in enumerate(dict.fromkeys(w for t in tokens for w in t))}
    token_docs = np.repeat(np.arange(len(documents)), [len(t) for t in tokens])
    token_words = np.array([words[w] for t in tokens for w in t], dtype=np.int64)
    pairs, word_count = np.unique(token_docs * max(len(words), 1) + token_words, return_counts=True)
    doc_of, word_of = pairs // max(len(words), 1), pairs % max(len(words), 1)

    # Every padded word in one array of small letter codes; a gram is a base-`size` number
    # of its codes, tagged with its length so grams of different sizes never collide.
    padded = "".join(f" {w} " for w in words)
    codes = np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32)
    letters, codes = np.unique(codes, return_inverse=True)
    codes = codes.astype(np.int64) + 1
    size = len(letters) + 1
    lengths = np.array([len(w) + 2 for w in words], dtype=np.int64)
    begins = np.cumsum(lengths) - lengths
    owner, position, key = [], [], []
    for n in SIZES:
        count = np.maximum(lengths - n + 1, 0)
        at = np.repeat(begins - np.cumsum(count) + count, count) + np.arange(count.sum())
        value = np.full(len(at), n, dtype=np.int64)
        for k in range(n):
            value = value * size + codes[at + k]
        owner.append(np.repeat(np.arange(len(words)), count))
        position.append(at)
        key.append(value)
    owner, position, key = np.concatenate(owner), np.concatenate(position), np.concatenate(key)
    unique_keys, first, gram_of = np.unique(key, return_index=True, return_inverse=True)
    names = [padded[p : p + n] for p, n in zip(position[first].tolist(), _sizes(unique_keys, size))]
    word_gram, gram_counts = np.unique(owner * max(len(names), 1) + gram_of, return_counts=True)
    gram_words, gram_ids = word_gram // max(len(names), 1), word_gram % max(len(names), 1)
    starts = np.searchsorted(gram_words, np.arange(len(words) + 1))
    return doc_of, word_of, word_count, (gram_ids, gram_counts.astype(np.int64), starts, names)


def _sizes(keys: np.ndarray, size: int) -> list[int]:
    """The length of each gram key (the tag in front of its codes)."""
    out = np.zeros(len(keys), dtype=np.int64)
    for n in SIZES:
        out[(keys >= n * size**n) & (keys < (n + 1) * size**n)] = n
    return out.tolist()
