"""`python -m qa serve` checks the programme, model and index, then starts the server in the
same process: the server takes them over instead of loading a second model (qa.answering.startup)."""

from __future__ import annotations

from pathlib import Path

from qa.answering import startup
from qa.answering.startup import hand_over, load_answerer, load_inputs, open_stored


def test_the_server_takes_over_what_serve_checked_once(settings, fake_embedder):
    inputs = load_inputs(settings, embedder=fake_embedder)
    stored = open_stored(settings, inputs)
    hand_over(settings, inputs, stored)
    answerer = load_answerer(settings)  # no embedder given: without the hand-over it would load the real model
    assert answerer.ranker.embedder is fake_embedder
    assert answerer.programme is inputs.programme
    assert startup._handed == []  # taken once; the next start-up loads its own


def test_what_was_checked_for_other_settings_is_not_taken(settings, fake_embedder, tmp_path):
    inputs = load_inputs(settings, embedder=fake_embedder)
    hand_over(settings, inputs, open_stored(settings, inputs))
    other = settings.model_copy(update={"index_dir": tmp_path / "other-index"})
    answerer = load_answerer(other, embedder=fake_embedder)
    assert answerer.programme is not inputs.programme
    assert (tmp_path / "other-index" / "manifest.json").is_file()
    assert startup._handed == []


def test_the_taken_over_start_still_keeps_numpy_to_one_blas_thread(settings, fake_embedder):
    from threadpoolctl import threadpool_info, threadpool_limits

    inputs = load_inputs(settings, embedder=fake_embedder)
    stored = open_stored(settings, inputs)
    threadpool_limits(limits=2, user_api="blas")
    hand_over(settings, inputs, stored)
    load_answerer(settings)
    # numpy's own BLAS, which ranking's products use. Others may be loaded too (faiss brings an
    # OpenMP-threaded OpenBLAS that, in the full suite, does not always report the limit back).
    pools = [p for p in threadpool_info() if p["user_api"] == "blas" and Path(p["filepath"]).parent.name.startswith("numpy")]
    assert pools, "numpy's BLAS library was not found"
    assert {pool["num_threads"] for pool in pools} == {1}
