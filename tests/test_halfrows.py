"""Half-precision rows (index/halfrows.py): the kernel and numpy agree, and a question's scores
do not depend on what it is scored with."""

from __future__ import annotations

import ctypes
import os

import numpy as np
import pytest

from index.embedders import FAST_ENGINE, fast_engine_problem
from index.halfrows import HalfRows, bind_kernel


def _unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    rows = rng.standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def kernel():
    problem = fast_engine_problem()
    if problem is not None:
        if os.environ.get("CI") == "true":  # CI builds the fast engine (make engine ENGINE_STRICT=1)
            pytest.fail(f"CI must have the fast engine's kernel, but {problem}")
        pytest.skip(problem)
    return bind_kernel(ctypes.CDLL(str(FAST_ENGINE)))


def test_without_the_kernel_scores_are_the_rounded_rows_times_the_vectors():
    rng = np.random.default_rng(1)
    rows, vectors = _unit(rng, 300, 384), _unit(rng, 3, 384)
    half = HalfRows(rows)
    assert not half.on_kernel and half.shape == (300, 384) and len(half) == 300
    rounded = rows.astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(half.scores(vectors), rounded @ vectors.T, atol=1e-6)
    # Rounding to half precision moves a cosine of unit vectors by far less than ranking resolves.
    assert np.abs(half.scores(vectors) - rows @ vectors.T).max() < 1e-3
    assert half.scores(vectors[0]).shape == (300, 1)  # one vector is a matrix of one column


@pytest.mark.parametrize("dim", [384, 24, 16, 13, 8, 1])  # 16 and 8 lanes at a time, and the rest
def test_the_kernel_agrees_with_numpy(kernel, dim):
    rng = np.random.default_rng(dim)
    rows, vectors = _unit(rng, 257, dim), _unit(rng, 5, dim)
    np.testing.assert_allclose(HalfRows(rows, kernel).scores(vectors), HalfRows(rows).scores(vectors), atol=2e-6)


def test_with_the_kernel_a_question_scores_the_same_alone_as_in_a_batch(kernel):
    rng = np.random.default_rng(7)
    half = HalfRows(_unit(rng, 1000, 384), kernel)
    batch = _unit(rng, 8, 384)
    together = half.scores(batch)
    for i, vector in enumerate(batch):
        assert half.scores(vector)[:, 0].tobytes() == together[:, i].tobytes()


def test_no_rows_score_nothing_and_a_wrong_dimension_is_an_error(kernel):
    for k in (None, kernel):
        empty = HalfRows(np.zeros((0, 384), np.float32), k)
        assert empty.scores(np.ones((2, 384), np.float32)).shape == (0, 2)
        with pytest.raises(ValueError, match="dimension 383"):
            HalfRows(np.ones((3, 384), np.float32), k).scores(np.ones(383, np.float32))
    with pytest.raises(ValueError, match="matrix"):
        HalfRows(np.ones(384, np.float32))
