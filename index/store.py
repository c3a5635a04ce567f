"""A FAISS index of passages on disk, with a manifest that says when it must be rebuilt.

Layout of the index folder:

    manifest.json      format version, model id, dimension, content hash, sha256 per file
    keys.json          {collection: [row key, ...]}
    <collection>.faiss one `IndexFlatIP` over L2-normalised vectors per collection

A collection is a named list of (key, text) passages, e.g. "pledges" or "sections"; the
caller decides what they hold. Inner product on normalised vectors is cosine similarity.

An index is rebuilt when the content, the model or the format changes, or a file is
missing, fails its checksum or cannot be read: a hand-edited or damaged manifest, keys.json
or `.faiss` file means "rebuild" (`IndexStale`), never a traceback. A build is written to a
temporary folder (`.<name>.building-*` beside the index) and renamed into place, so a crash
mid-build leaves the previous index untouched.

Several processes may start at once (replicas, `uvicorn --workers N`): building holds an
exclusive `fcntl.flock` on `.<name>.lock` beside the index folder (not inside it: the folder
itself is replaced by each build). A process that finds the index stale waits for the lock,
then loads what the process before it built instead of building again. The lock holder first
removes `.<name>.building-*` and `.<name>.old-*` folders older than its lock: no live build
can own them, so they are left over from a build that crashed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from index.embedcache import EmbeddingCache, cache_path
from index.embedders import Embedder
from index.errors import IndexFailure

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
KEYS = "keys.json"
BATCH = 32

Passages = dict[str, list[tuple[str, str]]]


class IndexStale(IndexFailure):
    """The stored index does not match what is asked for, or is damaged; rebuild it."""


@dataclass(frozen=True)
class Collection:
    """Vectors of one collection and the key of each row."""

    keys: tuple[str, ...]
    index: faiss.Index

    def vectors(self) -> np.ndarray:
        """All rows as an (n, dim) float32 matrix."""
        return self.index.reconstruct_n(0, self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The `k` nearest rows to one normalised query vector, best first."""
        k = max(0, min(k, self.index.ntotal))
        if k == 0:
            return []
        scores, rows = self.index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), k)
        return [(self.keys[r], float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]


@dataclass(frozen=True)
class StoredIndex:
    model_id: str
    dim: int
    content_hash: str
    collections: dict[str, Collection]


def content_hash(passages: Passages) -> str:
    """A hash of everything that is embedded; any change to a text changes it."""
    blob = json.dumps(passages, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def open_index(
    directory: Path, embedder: Embedder, passages: Passages, *, progress: bool = False, cache: bool = False
) -> StoredIndex:
    """Load the index in `directory`, rebuilding it first if it is missing, stale or damaged.

    Safe when several processes call it at once: one builds, the others wait and load. With
    `cache`, a build takes the vectors of texts it has embedded before from its embedding
    cache (index/embedcache.py) and embeds only the others.
    """
    wanted = content_hash(passages)
    try:
        return load(directory, model_id=embedder.model_id, content=wanted)
    except IndexStale as exc:
        reason = exc
    with build_lock(directory):
        try:  # another process may have built it while this one waited for the lock
            return load(directory, model_id=embedder.model_id, content=wanted)
        except IndexStale:
            pass
        log.warning("rebuilding the index in %s: %s", directory, reason)
        return _build(Path(directory), embedder, passages, progress=progress, cache=cache)


def load(directory: Path, *, model_id: str, content: str) -> StoredIndex:
    """Load and verify an index; raise `IndexStale` saying why it cannot be used."""
    directory = Path(directory)
    manifest_path = directory / MANIFEST
    if not manifest_path.is_file():
        raise IndexStale(f"no index at {directory}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise TypeError("not a JSON object")
        files = manifest["files"]
        checks = [
            (manifest["format"] == FORMAT, f"format {manifest['format']} is not {FORMAT}"),
            (manifest["model"] == model_id, f"built with model {manifest['model']!r}, not {model_id!r}"),
            (manifest["content"] == content, "the corpus or its passages changed"),
            (type(manifest["dim"]) is int and manifest["dim"] > 0, f"dim {manifest['dim']!r} is not a size"),
            (_is_file_list(files), f"{manifest_path}: its 'files' is not a list of checksums"),
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexStale(f"{manifest_path} is unreadable ({type(exc).__name__}: {exc})") from None
    for ok, reason in checks:
        if not ok:
            raise IndexStale(reason)
    for name, digest in files.items():
        path = directory / name
        if not path.is_file():
            raise IndexStale(f"{path} is missing")
        try:
            intact = _sha256(path) == digest
        except OSError as exc:
            raise IndexStale(f"{path} cannot be read ({exc.strerror})") from None
        if not intact:
            raise IndexStale(f"{path} fails its checksum")
    keys = _read_keys(directory / KEYS)
    unchecked = {KEYS, *(f"{name}.faiss" for name in keys)} - set(files)
    if unchecked:  # a file the manifest does not vouch for may be anything
        raise IndexStale(f"{manifest_path} has no checksum for {', '.join(sorted(unchecked))}")
    collections = {}
    for name, row_keys in keys.items():
        path = directory / f"{name}.faiss"
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as exc:
            raise IndexStale(f"{path} cannot be read ({str(exc).strip().splitlines()[-1][:200]})") from None
        if index.ntotal != len(row_keys) or index.d != manifest["dim"] or index.metric_type != faiss.METRIC_INNER_PRODUCT:
            raise IndexStale(f"{name}.faiss does not match keys.json")
        collections[name] = Collection(tuple(row_keys), index)
    return StoredIndex(manifest["model"], manifest["dim"], manifest["content"], collections)


def _is_file_list(files: object) -> bool:
    return (
        isinstance(files, dict)
        and bool(files)
        and all(isinstance(n, str) and "/" not in n and n not in ("", ".", "..") and isinstance(d, str) for n, d in files.items())
    )


def _read_keys(path: Path) -> dict[str, list[str]]:
    """keys.json as {collection: [row key, ...]}; `IndexStale` when it is anything else."""
    try:
        keys = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexStale(f"{path} is unreadable ({type(exc).__name__}: {exc})") from None
    if not (
        isinstance(keys, dict)
        and keys
        and all(
            isinstance(n, str) and n and "/" not in n and isinstance(rows, list) and all(isinstance(k, str) for k in rows)
            for n, rows in keys.items()
        )
    ):
        raise IndexStale(f"{path} is not a map of collections to row keys")
    return keys


@contextmanager
def build_lock(directory: Path) -> Iterator[None]:
    """Hold the exclusive build lock of the index at `directory`; clean up stale builds."""
    directory = Path(directory)
    lock_path = directory.with_name(f".{directory.name}.lock")
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        lock = open(lock_path, "a+b")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise IndexFailure(f"cannot build the index in {directory}: {exc.strerror or exc}") from None
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("waiting for another process building the index in %s", directory)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            _remove_stale_builds(directory, before=time.time())
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _remove_stale_builds(directory: Path, *, before: float) -> None:
    """Remove temporary folders of builds that crashed: every one older than our lock."""
    for pattern in (f".{directory.name}.building-*", f".{directory.name}.old-*"):
        for stale in directory.parent.glob(pattern):
            try:
                if stale.is_dir() and stale.stat().st_mtime < before:
                    log.warning("removing %s, left by a build that did not finish", stale)
                    shutil.rmtree(stale, ignore_errors=True)
            except OSError:
                pass


def build(
    directory: Path, embedder: Embedder, passages: Passages, *, progress: bool = False, cache: bool = False
) -> StoredIndex:
    """Embed every passage and write the index into `directory` atomically, under the build lock."""
    with build_lock(directory):
        return _build(Path(directory), embedder, passages, progress=progress, cache=cache)


def _build(directory: Path, embedder: Embedder, passages: Passages, *, progress: bool, cache: bool = False) -> StoredIndex:
    refuse_to_replace(directory)  # every build comes through here, under the build lock
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.building-", dir=directory.parent))
    kept = EmbeddingCache(cache_path(directory), embedder.model_id, embedder.dim) if cache else None
    try:
        collections = {}
        total = sum(len(rows) for rows in passages.values())
        bar = _progress(total, progress)

        def embed(texts: list[str]) -> np.ndarray:
            vectors = embedder.embed_passages(texts)
            bar.update(len(texts))
            return vectors

        for name, rows in passages.items():
            texts = [text for _, text in rows]
            if kept is not None:
                vectors = kept.embed(texts, embed, BATCH)
            else:
                parts = [embed(texts[start : start + BATCH]) for start in range(0, len(texts), BATCH)]
                vectors = np.vstack(parts) if parts else np.zeros((0, embedder.dim), np.float32)
            index = faiss.IndexFlatIP(embedder.dim)
            index.add(vectors)
            faiss.write_index(index, str(tmp / f"{name}.faiss"))
            collections[name] = Collection(tuple(k for k, _ in rows), index)
        bar.close()
        (tmp / KEYS).write_text(
            json.dumps({n: list(c.keys) for n, c in collections.items()}, ensure_ascii=False), encoding="utf-8"
        )
        content = content_hash(passages)
        manifest = {
            "format": FORMAT,
            "model": embedder.model_id,
            "dim": embedder.dim,
            "content": content,
            "files": {p.name: _sha256(p) for p in sorted(tmp.iterdir())},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        _swap_into_place(tmp, directory)
        if kept is not None:
            kept.save()
            log.info("embedded %d passages, %d taken from the embedding cache", kept.misses, kept.hits)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return StoredIndex(embedder.model_id, embedder.dim, content, collections)


def refuse_to_replace(directory: Path) -> None:
    """`IndexFailure` unless `directory` is missing, empty or an index this module wrote: a build
    replaces the whole folder, so QA_INDEX_DIR set to a folder of other files (the checkout's
    `index/` package, a home folder, a folder holding several programmes' indexes) must not be."""
    directory = Path(directory)
    if not directory.exists():
        return
    if not directory.is_dir():
        raise IndexFailure(f"{directory} is a file, not an index folder; point QA_INDEX_DIR at a folder")
    names = {p.name for p in directory.iterdir()}
    ours = {MANIFEST, KEYS} | {n for n in names if n.endswith(".faiss")}
    if names and (MANIFEST not in names or names - ours):
        strays = ", ".join(sorted(names - ours)[:3]) or "no manifest.json"
        raise IndexFailure(
            f"{directory} holds files that are not an index ({strays}); a build replaces the whole folder, "
            "so point QA_INDEX_DIR at an empty or new folder"
        )


def _swap_into_place(new: Path, directory: Path) -> None:
    old = None
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old-{os.getpid()}")
        os.replace(directory, old)
    os.replace(new, directory)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="passage", desc="Embedding", disable=not enabled)
