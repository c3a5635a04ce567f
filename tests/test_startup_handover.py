"""`python -m qa serve` checks the programme, model and index, then starts the server in the
same process: the server takes them over instead of loading a second model (qa.answering.startup)."""

from __future__ import annotations

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
    loaded = {pool["filepath"] for pool in threadpool_info() if pool["user_api"] == "blas"}  # numpy's among them
    hand_over(settings, inputs, stored)
    load_answerer(settings)
    # Only the libraries loaded before: another test may have left a lazily loaded one (torch's,
    # scipy's) that nothing here touches, and whose thread count says nothing about numpy's.
    threads = {pool["filepath"]: pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    assert {threads[path] for path in loaded} == {1}
