"""Rows of unit vectors kept in half precision, scored against questions in single precision.

Ranking scores every expansion row for every question (qa/answering/ranking.py). In float32
those rows are 10 MB, read from memory each time, because the question's embedding has just
pushed them out of the CPU's caches (and they push the model's weights out in turn). In
float16 they are half that. The scores differ from float32 rows by under 1e-4 (a unit
vector's components are rounded to 11 significant bits).

`HalfRows.scores` runs on the fast engine's `halfdots` kernel (index/engine/halfdots.c) when
the embedder has it, else on numpy with the same rounded values widened to float32 (what the
kernel computes, summed in another order). Either way each score is summed in one fixed order
whatever the number of vectors scored with it: a question's scores are the same alone or in a
batch.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable

import numpy as np

Kernel = Callable[..., None]  # halfdots(rows, n, d, vectors, m, out), as index/engine/halfdots.c


class HalfRows:
    """An (n, dim) matrix of float16 rows; `scores(vectors)` is `rows @ vectors.T` in float32."""

    def __init__(self, rows: np.ndarray, kernel: Kernel | None = None) -> None:
        rows = np.asarray(rows, dtype=np.float32)
        if rows.ndim != 2:
            raise ValueError(f"rows must be a matrix, not of shape {rows.shape}")
        self._half = np.ascontiguousarray(rows, dtype=np.float16)
        self._kernel = kernel
        # Without the kernel, the rounded values widened once: twice the memory, the same numbers.
        self._wide = None if kernel is not None else self._half.astype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return self._half.shape

    def __len__(self) -> int:
        return self._half.shape[0]

    @property
    def on_kernel(self) -> bool:
        return self._kernel is not None

    def widened(self) -> np.ndarray:
        """The rows as float32 (the rounded values), for start-up work such as section centres."""
        return self._half.astype(np.float32)

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """(n, m) float32: every row against each of the m vectors (an (m, dim) array, or one vector)."""
        vectors = np.ascontiguousarray(np.atleast_2d(vectors), dtype=np.float32)
        n, dim = self._half.shape
        if vectors.shape[1] != dim:
            raise ValueError(f"vectors of dimension {vectors.shape[1]} against rows of dimension {dim}")
        if self._kernel is None:
            return self._wide @ vectors.T
        out = np.empty((n, len(vectors)), dtype=np.float32)
        if n and len(vectors):
            self._kernel(self._half.ctypes.data, n, dim, vectors.ctypes.data, len(vectors), out.ctypes.data)
        return out


def bind_kernel(library: ctypes.CDLL) -> Kernel:
    """`halfdots` from a loaded fast-engine library, typed (ctypes releases the GIL while it runs)."""
    kernel = library.halfdots
    kernel.restype = None
    kernel.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    return kernel
