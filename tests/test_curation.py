"""Staff curation in the core: the store's checks, the ranker's alternate rows, and keeping several
server processes (here: two Answerers on one database) in step. The store's tests run on SQLite
and on PostgreSQL (`log_db`, tests/conftest.py)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import numpy as np
import pytest

from qa.answering.startup import load_answerer
from qa.curation.search import citation, search
from qa.curation.store import Curation, CurationError, Duplicate, NoSuchEntry, UnknownPledge
from qa.curation.sync import CurationSync, attach
from qa.questionlog.backend import connect
from qa.questionlog.schema import SCHEMA_VERSION, migrate, schema_version
from qa.questionlog.store import QuestionLog, hour_of
from tests.curation_fixtures import NEAR, PLEDGE, QUESTION, curation_settings
from tests.postgres import rows


@pytest.fixture
def csettings(settings, tmp_path, log_db):
    return curation_settings(settings, tmp_path, db=log_db)


@pytest.fixture
def store(csettings, answerer):
    curation = Curation(csettings.db, answerer.programme.by_id)
    yield curation
    curation.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_alternates_are_stored_listed_edited_and_removed(store):
    first = store.add(PLEDGE, "  Blir det   gratis parkering? ")
    second = store.add("samferdsel-1", "Billigere buss?")
    assert first.question == QUESTION  # cleaned as a voter's question is
    assert [(a.id, a.pledge_id, a.question) for a in store.alternates()] == [
        (first.id, PLEDGE, QUESTION),
        (second.id, "samferdsel-1", "Billigere buss?"),
    ]
    edited = store.update(second.id, question="Blir bussen billigere?")
    assert (edited.pledge_id, edited.question, edited.created) == ("samferdsel-1", "Blir bussen billigere?", second.created)
    store.remove(first.id)
    assert [a.question for a in store.alternates()] == ["Blir bussen billigere?"]


@pytest.mark.parametrize(
    ("pledge_id", "question", "error", "message"),
    [
        ("nope-9", QUESTION, UnknownPledge, "unknown pledge id 'nope-9'"),
        (None, QUESTION, UnknownPledge, "unknown pledge id None"),
        (PLEDGE, "   ", CurationError, "the question is empty"),
        (PLEDGE, "x" * 501, CurationError, "the question is 501 characters; at most 500 are allowed"),
        (PLEDGE, 42, CurationError, "the question must be text"),
        (PLEDGE, "hei \ud800 du", CurationError, "the question is not valid text (a lone UTF-16 surrogate)"),
        (PLEDGE, "abc\ufffd\ufffd", CurationError, "the question holds U+FFFD, the mark of bytes that were not UTF-8; send it as UTF-8"),
    ],
)
def test_a_bad_alternate_is_refused_saying_why_and_nothing_is_stored(store, pledge_id, question, error, message):
    with pytest.raises(error) as caught:
        store.add(pledge_id, question)
    assert str(caught.value) == message
    assert store.alternates() == []


def test_the_same_question_twice_for_a_pledge_is_a_duplicate_whatever_its_case(store):
    store.add(PLEDGE, QUESTION)
    with pytest.raises(Duplicate, match="is an alternate of skole-1 already"):
        store.add(PLEDGE, "blir det GRATIS parkering")
    store.add("samferdsel-1", QUESTION)  # another pledge may be the answer too
    assert len(store.alternates()) == 2


def test_unknown_ids_are_no_such_entry(store):
    with pytest.raises(NoSuchEntry):
        store.remove(99)
    with pytest.raises(NoSuchEntry):
        store.update(99, question="Hva?")
    with pytest.raises(NoSuchEntry):
        store.unmark(99)


def test_every_change_moves_the_version_and_reading_does_not(store):
    v0 = store.version()
    a = store.add(PLEDGE, QUESTION)
    v1 = store.version()
    store.alternates()
    assert store.version() == v1 > v0
    store.update(a.id, pledge_id="samferdsel-1")
    mark = store.mark_not_covered("Hva mener MDG om ulv?")
    store.unmark(mark.id)
    store.remove(a.id)
    assert store.version() == v1 + 4


def test_a_question_is_either_attached_or_marked_not_covered_never_both(store):
    attached = store.add(PLEDGE, QUESTION)
    with pytest.raises(Duplicate, match=f"is an alternate of {PLEDGE} \\(id {attached.id}\\); remove it first"):
        store.mark_not_covered(QUESTION.upper())
    mark = store.mark_not_covered("Hva mener dere om ulv?")
    with pytest.raises(Duplicate, match=f"is marked as not covered \\(mark {mark.id}\\)"):
        store.add(PLEDGE, "hva mener dere om ulv")
    with pytest.raises(Duplicate, match="is marked as not covered"):
        store.import_rows([(PLEDGE, "Hva mener dere om ulv?", None)])
    assert [a.question for a in store.alternates()] == [QUESTION] and len(store.marks()) == 1  # nothing else stored


def test_not_covered_marks_are_stored_once(store):
    mark = store.mark_not_covered("Hva mener MDG om ulv?")
    with pytest.raises(Duplicate):
        store.mark_not_covered("hva mener mdg om ulv")
    assert [(m.id, m.question) for m in store.marks()] == [(mark.id, "Hva mener MDG om ulv?")]


def test_a_log_written_before_curation_gains_its_tables_and_keeps_its_questions(csettings):
    db = csettings.db
    conn = connect(db, 5.0)
    migrate(conn, to=3)
    hour = hour_of(datetime.now(UTC))  # recent: not purged on opening
    conn.execute("INSERT INTO asks VALUES ('a', ?, 'q', 'Q', 0, NULL, '[]', 'not_covered', NULL)", (hour,))
    conn.close()
    qlog = QuestionLog.open(csettings)
    qlog.close()
    conn = connect(db, 5.0)
    assert schema_version(conn) == SCHEMA_VERSION
    conn.close()
    assert rows(db, "SELECT count(*) FROM asks") == [(1,)]
    assert rows(db, "SELECT version FROM curation_version") == [(0,)]


# --- the ranker ------------------------------------------------------------------------------


def test_an_alternate_row_raises_its_pledge_like_an_expansion_and_removing_it_restores_the_ranking(answerer):
    ranker = answerer.ranker
    before = ranker.rank(QUESTION)
    assert before.ids[0] != PLEDGE
    vector = ranker.embedder.embed_passages([QUESTION])[0]
    ranker.add_alternate("k", PLEDGE, vector)
    signals = ranker.signals(QUESTION)
    assert signals.expansion[ranker.ids.index(PLEDGE)] == pytest.approx(1.0)
    assert ranker.rank(QUESTION).ids[0] == PLEDGE
    ranker.remove_alternate("k")
    after = ranker.rank(QUESTION)
    assert after.ids == before.ids and np.allclose(after.scores, before.scores)


def test_a_question_within_pin_at_of_an_alternate_is_answered_with_its_pledge_first(answerer):
    from qa.answering.ranking import PIN_AT, Weights

    ranker = answerer.ranker
    ranker.add_alternate("k", PLEDGE, ranker.embedder.embed_queries([QUESTION])[0])
    signals = ranker.signals(QUESTION)
    assert signals.pinned == (ranker.ids.index(PLEDGE),)
    # Even weights that ignore the expansion signal, where the alternate is folded in, answer with it.
    blind = ranker.decide(signals, Weights(expansion=0.0), ranker.bands)
    assert (blind.ids[0], blind.coverage) == (PLEDGE, "answered")
    assert sorted(blind.ids) == sorted(ranker.ids)  # every pledge once
    assert all(a >= b for a, b in zip(blind.scores, blind.scores[1:]))  # scores stay best first
    near = ranker.signals(NEAR)
    assert near.expansion[ranker.ids.index(PLEDGE)] < PIN_AT and near.pinned == ()  # close, not the same


def test_curated_background_counts_in_the_band_features(answerer):
    ranker = answerer.ranker
    vector = ranker.embedder.embed_passages(["Hva mener MDG om ulv?"])
    assert len(ranker.signals("Hva mener MDG om ulv?").background) == 0
    ranker.set_curated({}, vector)
    assert ranker.signals("Hva mener MDG om ulv?").background.tolist() == pytest.approx([1.0])


def test_an_alternate_for_an_unknown_pledge_is_refused_by_the_ranker(answerer):
    with pytest.raises(ValueError, match="unknown pledge id 'nope'"):
        answerer.ranker.add_alternate("k", "nope", np.zeros(256, np.float32))


def test_questions_ranked_while_alternates_change_never_fail(answerer):
    ranker = answerer.ranker
    vectors = ranker.embedder.embed_passages([f"spørsmål {i}" for i in range(20)])
    errors = []

    def ask():
        try:
            for _ in range(200):
                ranker.rank(QUESTION)
        except Exception as exc:  # pragma: no cover - what the test is for
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for t in threads:
        t.start()
    for i, v in enumerate(vectors):
        ranker.add_alternate(i, ranker.ids[i % len(ranker.ids)], v)
    for i in range(len(vectors)):
        ranker.remove_alternate(i)
    for t in threads:
        t.join()
    assert errors == [] and len(ranker.curated.vectors) == 0


# --- keeping answerers in step -----------------------------------------------------------------


def test_attach_loads_stored_alternates_at_start_up(csettings, fake_embedder):
    first = load_answerer(csettings, embedder=fake_embedder)
    attach(first, csettings.db).curation.add(PLEDGE, QUESTION)
    restarted = load_answerer(csettings, embedder=fake_embedder)
    assert restarted.ask(QUESTION).hits[0].pledge.id != PLEDGE  # without curation attached: the plain ranking
    attach(restarted, csettings.db)
    answer = restarted.ask(QUESTION)
    assert (answer.hits[0].pledge.id, answer.coverage) == (PLEDGE, "answered")


def test_two_answerers_on_one_database_see_each_others_changes_within_a_second(csettings, fake_embedder):
    clock = Clock()
    one = load_answerer(csettings, embedder=fake_embedder)
    two = load_answerer(csettings, embedder=fake_embedder)
    sync_one = attach(one, csettings.db, clock=clock)
    sync_two = attach(two, csettings.db, clock=clock)
    assert two.ask(QUESTION).coverage == "not_covered"  # cached now

    alternate = sync_one.curation.add(PLEDGE, QUESTION)
    sync_one.refresh(force=True)  # what the web layer does after a change
    assert one.ask(QUESTION).hits[0].pledge.id == PLEDGE
    clock.now += 0.5
    assert two.ask(QUESTION).coverage == "not_covered"  # not looked yet: at most once a second
    clock.now += 0.6
    answer = two.ask(QUESTION)  # a second on: the other process's change is in, the cache cleared
    assert (answer.hits[0].pledge.id, answer.coverage) == (PLEDGE, "answered")

    sync_two.curation.remove(alternate.id)
    clock.now += 1.1
    assert one.ask(QUESTION).coverage == "not_covered"


def test_a_reload_embeds_only_what_is_new(csettings, fake_embedder):
    answerer = load_answerer(csettings, embedder=fake_embedder)
    sync = attach(answerer, csettings.db)
    sync.curation.add(PLEDGE, QUESTION)
    sync.refresh(force=True)
    calls = fake_embedder.calls
    sync.curation.add(PLEDGE, NEAR)
    sync.refresh(force=True)
    sync.refresh(force=True)
    assert fake_embedder.calls == calls + 1
    assert len(answerer.ranker.curated.vectors) == 2


def test_an_unreadable_store_keeps_the_last_curation_and_answering_goes_on(csettings, fake_embedder, caplog):
    clock = Clock()
    answerer = load_answerer(csettings, embedder=fake_embedder)
    sync = attach(answerer, csettings.db, clock=clock)
    sync.curation.add(PLEDGE, QUESTION)
    sync.refresh(force=True)
    clock.now += 2

    class Broken(Curation):
        def version(self):
            raise CurationError("the question log cannot be used: disk I/O error", "…")

    sync.curation = Broken(csettings.db, ())
    assert sync.refresh() is False
    assert answerer.ask(QUESTION).hits[0].pledge.id == PLEDGE
    assert "curation not reloaded: the question log cannot be used" in caplog.text


def test_the_tuning_and_evaluation_tools_never_see_alternates(csettings, fake_embedder):
    """`qa tune` and `qa eval` build their Answerer with load_answerer, which never reads the log."""
    answerer = load_answerer(csettings, embedder=fake_embedder)
    attach(answerer, csettings.db).curation.add(PLEDGE, QUESTION)
    fresh = load_answerer(csettings, embedder=fake_embedder)
    assert fresh.refresh is None and len(fresh.ranker.curated.vectors) == 0


def test_a_sync_without_a_clock_checks_at_most_once_a_second(csettings, fake_embedder):
    answerer = load_answerer(csettings, embedder=fake_embedder)
    sync = CurationSync(answerer, Curation(csettings.db, answerer.programme.by_id))
    assert sync.refresh() is True  # first look: installs the (empty) curation
    assert sync.refresh() is False  # within the second: not even a look


# --- search ------------------------------------------------------------------------------------


def test_search_finds_a_pledge_by_id_or_by_words_most_words_first(answerer):
    programme = answerer.programme
    assert [p.id for p in search(programme, "skole-1")] == ["skole-1"]
    assert [p.id for p in search(programme, "SKOLE-1")] == ["skole-1"]
    assert [p.id for p in search(programme, "tråling oslofjorden")] == ["oslofjorden-1", "oslofjorden-2"]
    assert [p.id for p in search(programme, "karakter")] == ["skole-1"]  # the start of a word
    assert search(programme, "ulv") == [] and search(programme, "  ") == []
    assert citation(programme.by_id["skole-1"]) == "Et grønt Bærum · Skole · punkt 1 · s. 2"


def test_the_version_check_never_waits_for_a_writer(store, csettings):
    import time

    store.version()  # opened and migrated
    writer = connect(csettings.db, 5.0)
    writer.begin()  # another process in the middle of a write, holding the counter's row
    writer.execute("UPDATE curation_version SET version = version + 1")
    try:
        start = time.monotonic()
        assert store.version() == 0
        assert time.monotonic() - start < 0.5
    finally:
        writer.rollback()
        writer.close()


def test_the_store_opens_a_new_postgresql_connection_when_its_own_is_lost(pg_db, answerer):
    store = Curation(pg_db, answerer.programme.by_id)
    try:
        store.add(PLEDGE, QUESTION)
        assert store.version() == 1
        rows(pg_db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        # The request that finds its connection (reading or writing) gone is a 503; the next reconnects.
        with pytest.raises(CurationError, match="cannot be used"):
            store.version()
        assert store.version() == 1
        with pytest.raises(CurationError, match="cannot be used"):
            store.add(PLEDGE, NEAR)
        store.add(PLEDGE, NEAR)
        assert store.version() == 2
    finally:
        store.close()


def test_an_id_is_never_given_to_another_row_after_its_row_is_removed(store):
    first = store.add(PLEDGE, QUESTION)
    store.remove(first.id)
    again = store.add(PLEDGE, "Blir bussen billigere?")
    assert again.id > first.id  # a stale page removing first.id cannot remove this one
    mark = store.mark_not_covered("Hva mener dere om ulv?")
    store.unmark(mark.id)
    assert store.mark_not_covered("Hva mener dere om gaupe?").id > mark.id
    store.import_rows([(PLEDGE, "Blir det flere sykkelveier?", None)], replace=True)
    assert min(a.id for a in store.alternates()) > again.id  # --replace does not start again from 1


def test_curation_stored_before_migration_6_keeps_its_ids_and_is_counted_on(csettings):
    db = csettings.db
    if db.startswith("postgresql:"):
        pytest.skip("migration 6 is SQLite's: PostgreSQL's identity columns never reused an id")
    conn = connect(db, 5.0)
    migrate(conn, to=5)
    conn.begin()
    for row_id in (1, 2, 7):
        conn.execute(
            "INSERT INTO alternates (id, programme, pledge_id, question, key, created) VALUES (?, 'mdg-baerum', ?, ?, ?, 'x')",
            (row_id, PLEDGE, f"spørsmål {row_id}", f"spørsmål {row_id}"),
        )
    conn.commit()
    conn.close()
    store = Curation(db, {PLEDGE}, programme="mdg-baerum")
    try:
        assert [a.id for a in store.alternates()] == [1, 2, 7]
        assert store.add(PLEDGE, "et nytt spørsmål").id == 8
        before = store.version()
        store.remove(8)
        assert store.version() > before  # the triggers came with the tables
    finally:
        store.close()
