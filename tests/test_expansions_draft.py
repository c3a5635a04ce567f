"""`python -m qa expansions draft`, end to end against a real OpenAI-compatible server on loopback
(tests/fake_openai.py): good replies, timeouts, bad JSON and wrong shapes, refusals, rate limits,
a refused key, an unreachable URL and missing settings. Whatever happens, the expansions file is
left byte for byte as it was, and every failure is one line, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from qa.operations.cli import main
from qa.operations.settings import DEFAULT_EXPANSIONS
from tests.conftest import REAL_CORPUS, write_jsonl
from tests.fake_openai import FakeOpenAI, Scripted, completion, expansions_reply

KEY = "sk-test-0123456789abcdef"
KAJAKK = "opprette en utleieordning for kajakker og robåter gratis mot at de som leier plukker plast."
SYKKEL = "bygge et sammenhengende sykkelveinett av høy kvalitet."
GOOD = [f"tekst nummer {i} om det velgerne lurer på" for i in range(1, 16)]


@pytest.fixture
def env(monkeypatch, small_env: Path) -> Path:
    """The five-pledge programme, expansions for three; QA_AUTHOR_* left to each test."""
    monkeypatch.setenv("QA_AUTHOR_MODEL", "test-model")
    monkeypatch.setenv("QA_AUTHOR_KEY", KEY)
    return small_env


@pytest.fixture
def drafts(tmp_path: Path) -> Path:
    return tmp_path / "drafts.jsonl"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _draft(fake: FakeOpenAI | None, monkeypatch, drafts: Path, *extra: str) -> int:
    if fake is not None:
        monkeypatch.setenv("QA_AUTHOR_URL", fake.url)
    return main(["expansions", "draft", "--out", str(drafts), *extra])


def _error_line(err: str) -> str:
    """The one error line a failed run ends with (progress notes come before it)."""
    assert "Traceback" not in err
    last = err.rstrip("\n").splitlines()[-1]
    assert last.startswith("error: ")
    return last


# -- a good run ------------------------------------------------------------------------------


def test_drafts_for_the_pledges_without_expansions_are_written_for_review(env, drafts, monkeypatch, capsys):
    before = _sha(env)
    with FakeOpenAI(expansions_reply(*GOOD)) as fake:
        assert _draft(fake, monkeypatch, drafts) == 0
    assert _sha(env) == before
    rows = _rows(drafts)
    assert [(r["pledge_id"], r["text"]) for r in rows] == [("oslofjorden-2", KAJAKK), ("samferdsel-2", SYKKEL)]
    assert rows[0] == {
        "pledge_id": "oslofjorden-2", "text": KAJAKK, "part": "Et grønt Bærum", "section": "Oslofjorden",
        "model": "test-model", "status": "draft", "expansions": GOOD,
    }  # fmt: skip
    out = capsys.readouterr().out
    assert out.startswith(f"drafted 2 pledges into {drafts} (model test-model)\n")
    assert "python -m qa expansions draft --accept" in out


def test_the_request_carries_the_brief_the_pledge_the_model_and_the_key(env, drafts, monkeypatch):
    brief = Path(__file__).resolve().parent.parent / "corpus" / "expansions-brief.md"
    with FakeOpenAI(expansions_reply(*GOOD)) as fake:
        assert _draft(fake, monkeypatch, drafts, "--limit", "1") == 0
    (request,) = fake.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    body = request["body"]
    assert body["model"] == "test-model" and body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system == {"role": "system", "content": brief.read_text(encoding="utf-8")}
    assert "Part: Et grønt Bærum\nSection: Oslofjorden\n" in user["content"] and KAJAKK in user["content"]


def test_no_key_sends_no_authorization_header(env, drafts, monkeypatch):
    monkeypatch.delenv("QA_AUTHOR_KEY")
    with FakeOpenAI(expansions_reply(*GOOD)) as fake:
        assert _draft(fake, monkeypatch, drafts, "--limit", "1") == 0
    assert "Authorization" not in fake.requests[0]["headers"]


def test_a_second_run_drafts_only_what_is_still_missing(env, drafts, monkeypatch, capsys):
    with FakeOpenAI(expansions_reply(*GOOD)) as fake:
        assert _draft(fake, monkeypatch, drafts, "--limit", "1") == 0
        assert "1 pledges still have neither expansions nor a draft" in capsys.readouterr().out
        assert _draft(fake, monkeypatch, drafts) == 0
        assert _draft(fake, monkeypatch, drafts) == 0
    assert [r["pledge_id"] for r in _rows(drafts)] == ["oslofjorden-2", "samferdsel-2"]
    assert len(fake.requests) == 2
    assert capsys.readouterr().out.splitlines()[-1].startswith("nothing to draft")


def test_a_rejected_draft_is_drafted_again_and_replaced(env, drafts, monkeypatch, capsys):
    with FakeOpenAI(expansions_reply(*GOOD)) as fake:
        assert _draft(fake, monkeypatch, drafts) == 0
    rows = _rows(drafts)
    rows[0]["status"] = "rejected"
    write_jsonl(drafts, *rows)
    better = [f"bedre tekst {i} om det velgerne lurer på" for i in range(1, 16)]
    with FakeOpenAI(expansions_reply(*better)) as fake:
        assert _draft(fake, monkeypatch, drafts) == 0
    assert len(fake.requests) == 1  # only the rejected pledge is asked again
    again = _rows(drafts)
    assert [(r["pledge_id"], r["status"]) for r in again] == [("samferdsel-2", "draft"), ("oslofjorden-2", "draft")]
    assert again[1]["expansions"] == better
    capsys.readouterr()


def test_a_reply_in_a_code_fence_is_accepted(env, drafts, monkeypatch):
    fenced = "```json\n" + json.dumps({"expansions": GOOD}) + "\n```"
    with FakeOpenAI(completion(fenced)) as fake:
        assert _draft(fake, monkeypatch, drafts, "--limit", "1") == 0
    assert _rows(drafts)[0]["expansions"] == GOOD


# -- a reply that cannot be used: that pledge is skipped -------------------------------------


@pytest.mark.parametrize(
    "reply, reason",
    [
        (completion('Here are the texts: ["a", "b"'), "the reply is not JSON: 'Here are the texts"),
        (completion(json.dumps({"texts": GOOD})), 'the reply is not {"expansions": [...]}'),
        (completion(json.dumps({"expansions": "one long string"})), 'the reply is not {"expansions": [...]}'),
        (expansions_reply(*GOOD[:14], 15), "text 15 is not a string: '15'"),
        (expansions_reply(*GOOD[:14], "  "), "text 15 is empty"),
        (expansions_reply(*GOOD[:14], "x" * 700), "text 15 is 700 characters; 2 to 600 wanted"),
        (expansions_reply(*GOOD[:14], GOOD[0].upper()), "text 15 repeats an earlier one"),
        (expansions_reply(*GOOD[:14], SYKKEL.capitalize()), "text 15 is the pledge itself"),
        (expansions_reply(*GOOD[:3]), "3 texts; between 10 and 25 wanted"),
        (completion('{"expansions": ["a", "b", "c", "d'), "the reply is not JSON"),
        (completion('{"expansions": ["a", "b", "c", "d', finish_reason="length"), "cut off at the model's length"),
        (completion("[" * 100_000 + "]" * 100_000), "the reply is not JSON"),  # deeper than json.loads goes
    ],
)
def test_an_unusable_reply_skips_its_pledge_with_the_reason(env, drafts, monkeypatch, capsys, reply, reason):
    before = _sha(env)
    with FakeOpenAI(expansions_reply(*GOOD), reply) as fake:
        assert _draft(fake, monkeypatch, drafts) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"drafted 1 pledges into {drafts}")
    (skipped,) = [line for line in out.splitlines() if line.startswith("skipped ")]
    assert skipped.startswith("skipped samferdsel-2: ") and reason in skipped
    assert [r["pledge_id"] for r in _rows(drafts)] == ["oslofjorden-2"]
    assert _sha(env) == before


@pytest.mark.parametrize(
    "reply, reason",
    [
        (completion("I can't help with that."), 'the model refused: "I can\'t help with that."'),
        (completion("Beklager, jeg kan ikke hjelpe med dette."), "the model refused: 'Beklager"),
        (completion("", finish_reason="content_filter"), "the model refused (finish_reason content_filter)"),
        (completion("", refusal="I cannot assist with political content."), "the model refused: 'I cannot assist"),
    ],
)
def test_a_refusal_is_a_reported_skip(env, drafts, monkeypatch, capsys, reply, reason):
    before = _sha(env)
    with FakeOpenAI(reply) as fake:
        assert _draft(fake, monkeypatch, drafts) == 1
    out = capsys.readouterr().out
    assert f"skipped oslofjorden-2: {reason}" in out and f"skipped samferdsel-2: {reason}" in out
    assert out.startswith("drafted 0 pledges") and not drafts.exists()
    assert _sha(env) == before


def test_a_timeout_skips_the_pledge_and_says_how_long_it_waited(env, drafts, monkeypatch, capsys):
    before = _sha(env)
    slow = expansions_reply(*GOOD)
    slow.delay = 2.0
    with FakeOpenAI(slow) as fake:
        started = time.monotonic()
        assert _draft(fake, monkeypatch, drafts, "--timeout", "0.3") == 1
        took = time.monotonic() - started
    out = capsys.readouterr().out
    assert (
        "skipped oslofjorden-2: no reply within 0.3 s" in out and "skipped samferdsel-2: no reply within 0.3 s" in out
    )
    assert took < 3.0 and not drafts.exists()
    assert _sha(env) == before


# -- the endpoint cannot be used: one error line, exit 2 -------------------------------------


def test_rate_limits_are_retried_then_given_up_with_a_clear_error(env, drafts, monkeypatch, capsys):
    before = _sha(env)
    with FakeOpenAI(Scripted(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})) as fake:
        assert _draft(fake, monkeypatch, drafts, "--retries", "2") == 2
    err = capsys.readouterr().err
    assert _error_line(err) == (
        f"error: {fake.url}/chat/completions: rate limited (HTTP 429) on all 3 tries; giving up, try again later"
    )
    assert "rate limited (HTTP 429); waiting 0 s before try 2 of 3" in err
    assert len(fake.requests) == 3 and not drafts.exists()
    assert _sha(env) == before


def test_retry_after_is_honoured_before_the_next_try(env, drafts, monkeypatch):
    script = [Scripted(429, "", {"Retry-After": "1"}), Scripted(503, "", {"Retry-After": "0"}), expansions_reply(*GOOD)]
    with FakeOpenAI(*script) as fake:
        started = time.monotonic()
        assert _draft(fake, monkeypatch, drafts, "--limit", "1") == 0
        took = time.monotonic() - started
    assert len(fake.requests) == 3 and took >= 1.0
    assert _rows(drafts)[0]["expansions"] == GOOD


def test_a_retry_after_longer_than_a_minute_gives_up_at_once(env, drafts, monkeypatch, capsys):
    with FakeOpenAI(Scripted(429, "", {"Retry-After": "3600"})) as fake:
        assert _draft(fake, monkeypatch, drafts) == 2
    assert _error_line(capsys.readouterr().err).endswith(
        "rate limited (HTTP 429), and it asks to wait 3600 s; try again later"
    )
    assert len(fake.requests) == 1


def test_a_refused_key_stops_the_run_and_is_never_shown(env, drafts, monkeypatch, capsys):
    before = _sha(env)
    with FakeOpenAI(Scripted(401, {"error": {"message": f"Incorrect API key provided: {KEY}"}})) as fake:
        assert _draft(fake, monkeypatch, drafts) == 2
    captured = capsys.readouterr()
    assert _error_line(captured.err) == (
        f"error: {fake.url}/chat/completions refused the API key (HTTP 401): check QA_AUTHOR_KEY"
    )
    assert KEY not in captured.err + captured.out
    assert len(fake.requests) == 1 and not drafts.exists()
    assert _sha(env) == before


def test_a_stop_keeps_what_was_drafted_before_it(env, drafts, monkeypatch, capsys):
    with FakeOpenAI(expansions_reply(*GOOD), Scripted(403, "forbidden")) as fake:
        assert _draft(fake, monkeypatch, drafts) == 2
    line = _error_line(capsys.readouterr().err)
    assert line.endswith(
        f"refused the API key (HTTP 403): check QA_AUTHOR_KEY (1 drafted before the stop are kept in {drafts})"
    )
    assert [r["pledge_id"] for r in _rows(drafts)] == ["oslofjorden-2"]


def test_an_unreachable_url_is_a_clear_error(env, drafts, monkeypatch, capsys):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("QA_AUTHOR_URL", f"http://127.0.0.1:{port}/v1")
    before = _sha(env)
    assert _draft(None, monkeypatch, drafts) == 2
    line = _error_line(capsys.readouterr().err)
    assert line.startswith(f"error: cannot reach QA_AUTHOR_URL http://127.0.0.1:{port}/v1: ") and "refused" in line
    assert _sha(env) == before and not drafts.exists()


def test_a_reply_that_is_not_a_chat_completion_is_a_clear_error(env, drafts, monkeypatch, capsys):
    with FakeOpenAI(Scripted(200, "<html>a login page</html>")) as fake:
        assert _draft(fake, monkeypatch, drafts) == 2
    line = _error_line(capsys.readouterr().err)
    expected = "did not answer as an OpenAI-compatible chat completion: '<html>a login page</html>'"
    assert line == f"error: {fake.url}/chat/completions {expected}"


def test_a_wrong_path_says_which_settings_to_check(env, drafts, monkeypatch, capsys):
    with FakeOpenAI(Scripted(404, {"error": "model 'test-model' not found"})) as fake:
        assert _draft(fake, monkeypatch, drafts) == 2
    line = _error_line(capsys.readouterr().err)
    assert "HTTP 404 (check QA_AUTHOR_URL, the base URL such as …/v1, and QA_AUTHOR_MODEL 'test-model')" in line


def test_missing_qa_author_url_is_a_clear_error(env, drafts, monkeypatch, capsys):
    before = _sha(env)
    assert _draft(None, monkeypatch, drafts) == 2
    assert capsys.readouterr().err.startswith("error: QA_AUTHOR_URL is not set: give the base URL of an OpenAI")
    assert _sha(env) == before and not drafts.exists()


def test_missing_qa_author_model_is_a_clear_error(env, drafts, monkeypatch, capsys):
    monkeypatch.delenv("QA_AUTHOR_MODEL")
    monkeypatch.setenv("QA_AUTHOR_URL", "http://127.0.0.1:9/v1")
    assert _draft(None, monkeypatch, drafts) == 2
    assert capsys.readouterr().err == "error: QA_AUTHOR_MODEL is not set: name the model to ask for at QA_AUTHOR_URL\n"


def test_a_url_that_is_not_http_stops_at_the_settings(env, drafts, monkeypatch, capsys):
    monkeypatch.setenv("QA_AUTHOR_URL", "127.0.0.1:8080/v1")
    assert _draft(None, monkeypatch, drafts) == 2
    assert (
        capsys.readouterr().err
        == "error: QA_AUTHOR_URL: must be an http:// or https:// URL (got '127.0.0.1:8080/v1')\n"
    )


def test_a_damaged_drafts_file_is_refused_before_anything_is_asked(env, drafts, monkeypatch, capsys):
    drafts.write_text('{"pledge_id": "oslofjorden-2", "text": "x", "status": "draft", "expansions": []}\n{oops\n')
    before = drafts.read_bytes()
    with FakeOpenAI(expansions_reply(*GOOD)) as fake:
        assert _draft(fake, monkeypatch, drafts) == 2
    assert _error_line(capsys.readouterr().err).startswith(f"error: {drafts} line 2: not JSON")
    assert fake.requests == [] and drafts.read_bytes() == before


@pytest.mark.production_data
def test_drafting_for_a_new_edition_leaves_the_real_expansions_file_untouched(tmp_path, monkeypatch, capsys):
    """A changed pledge in a copy of the real programme; the real expansions file is the one read."""
    text = REAL_CORPUS.read_text(encoding="utf-8")
    old = "beholde de små lokale barnehagene og hindre"
    assert text.count(old) == 1
    corpus = tmp_path / "programme.txt"
    corpus.write_text(text.replace(old, "beholde de små og lokale barnehagene"), encoding="utf-8")
    monkeypatch.setenv("QA_CORPUS", str(corpus))
    monkeypatch.setenv("QA_AUTHOR_MODEL", "test-model")
    before = _sha(DEFAULT_EXPANSIONS)
    drafts = tmp_path / "drafts.jsonl"
    with FakeOpenAI(expansions_reply(*GOOD)) as fake:
        assert _draft(fake, monkeypatch, drafts) == 0
    assert _sha(DEFAULT_EXPANSIONS) == before
    assert [r["pledge_id"] for r in _rows(drafts)] == ["barnehage-1"] and len(fake.requests) == 1
    assert capsys.readouterr().out.startswith(f"drafted 1 pledges into {drafts}")


def test_the_key_is_a_secret_in_the_settings(env, monkeypatch):
    from qa.operations.settings import load_settings

    settings = load_settings()
    assert settings.author_key.get_secret_value() == KEY
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())


def test_three_timeouts_in_a_row_stop_the_run(env, drafts, monkeypatch, capsys):
    rows = env.read_text(encoding="utf-8").splitlines(keepends=True)
    env.write_text("".join(rows[1:]), encoding="utf-8")  # three pledges without expansions now
    slow = expansions_reply(*GOOD)
    slow.delay = 1.0
    with FakeOpenAI(slow) as fake:
        assert _draft(fake, monkeypatch, drafts, "--timeout", "0.2") == 2
    assert _error_line(capsys.readouterr().err) == "error: 3 requests in a row got no reply in time; stopped"
    assert len(fake.requests) == 3 and not drafts.exists()


def test_an_out_folder_that_does_not_exist_is_refused_before_anything_is_asked(env, tmp_path, monkeypatch, capsys):
    with FakeOpenAI(expansions_reply(*GOOD)) as fake:
        assert _draft(fake, monkeypatch, tmp_path / "nope" / "drafts.jsonl") == 2
    assert capsys.readouterr().err == f"error: --out: no such folder: {tmp_path / 'nope'}\n"
    assert fake.requests == []


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    from email.utils import format_datetime

    from qa.authoring.client import retry_after

    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert retry_after("7") == 7.0 and retry_after("0") == 0.0 and retry_after("-3") == 0.0
    assert 25 < retry_after(soon) <= 30
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: no wait
    assert retry_after(None) is None and retry_after("soon") is None
