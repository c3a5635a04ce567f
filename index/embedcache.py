"""Passage vectors kept between index builds, by model and text: a build embeds only new texts.

An edit to the programme changes a few texts among ~10,000 (pledges, expansions, topics,
background); rebuilding the index then embeds those few and takes the rest from here. The
key of a vector is the sha256 of the model id and the text, so another model or engine build
never reuses a vector, and the engine embeds each text alone (its vector does not depend on
the other texts of its batch), so a build from the cache equals a build from nothing bit for bit.

One file beside the index folder, `.<index>.embeddings.npy`: a structured numpy array of
(key, vector) rows, read with `allow_pickle=False` and replaced whole (temporary file and
rename). It holds the vectors of the last build, and of the build before it as many as the last
build has (those it did not use), so it never grows past twice one build however many edits
come: switching back to the previous passages (a rollback to the last edition, or expansions
switched off for a bare evaluation and on again) embeds nothing. A missing, damaged or foreign
file is an empty cache, never an error; it is a cache of what the model gives, not data:
delete it at will. Vectors are never committed to git (var/).
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from index.cachefile import beside, keep

log = logging.getLogger(__name__)


def cache_path(index_dir: Path) -> Path:
    """Where the cache of the index at `index_dir` lives: beside it, not inside it."""
    return beside(index_dir, "embeddings.npy")


def text_key(model_id: str, text: str) -> bytes:
    return hashlib.sha256(f"{model_id}\0passage\0{text}".encode()).digest()


class EmbeddingCache:
    """The vectors of one model, by text; `embed` fills in what is missing, `save` keeps them."""

    def __init__(self, path: Path, model_id: str, dim: int) -> None:
        self.path, self.model_id, self.dim = Path(path), model_id, dim
        self._rows: dict[bytes, np.ndarray] = self._read()
        self._used: dict[bytes, np.ndarray] = {}
        self.hits = self.misses = 0

    def embed(self, texts: list[str], embed_many: Callable[[list[str]], np.ndarray], batch: int) -> np.ndarray:
        """Vectors of `texts` in order: cached ones taken, the others embedded `batch` at a time."""
        keys = [text_key(self.model_id, t) for t in texts]
        out = np.zeros((len(texts), self.dim), np.float32)
        missing = [i for i, k in enumerate(keys) if k not in self._rows]
        for i, k in enumerate(keys):
            if k in self._rows:
                out[i] = self._rows[k]
        for start in range(0, len(missing), batch):
            rows = missing[start : start + batch]
            out[rows] = embed_many([texts[i] for i in rows])
        for i, k in enumerate(keys):
            self._used[k] = out[i]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        return out

    def save(self) -> None:
        """Keep the vectors this build used, and as many of the cache's others, atomically; a
        failure is one warning."""
        kept = dict(self._used)
        earlier = (k for k in self._rows if k not in self._used)  # the previous build's, first
        for k in itertools.islice(earlier, len(self._used)):
            kept[k] = self._rows[k]
        table = np.zeros(len(kept), dtype=self._dtype())
        if kept:
            table["key"] = np.frombuffer(b"".join(kept), dtype=np.uint8).reshape(-1, 32)
            table["vector"] = np.stack(list(kept.values()))
        keep(self.path, lambda f: np.save(f, table, allow_pickle=False), "embedding cache")

    def _dtype(self) -> np.dtype:
        return np.dtype([("key", "u1", (32,)), ("vector", "<f4", (self.dim,))])

    def _read(self) -> dict[bytes, np.ndarray]:
        try:
            table = np.load(self.path, allow_pickle=False)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, EOFError) as exc:
            log.warning("ignoring the embedding cache %s: %s", self.path, exc)
            return {}
        if table.dtype != self._dtype() or table.ndim != 1:
            return {}  # another model's dimension, or not ours
        vectors = table["vector"]
        sound = np.all(np.isfinite(vectors), axis=1) & (np.abs(np.linalg.norm(vectors, axis=1) - 1) < 1e-3)
        return {k.tobytes(): v for k, v, ok in zip(table["key"], vectors, sound) if ok}
