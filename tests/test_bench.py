"""`python -m qa bench`'s own parts: the pasteable table and the one-pledge edit it rebuilds after."""

from __future__ import annotations

import os

from qa.answering.startup import load_programme
from qa.operations import bench
from qa.operations.settings import load_settings


def test_the_report_is_a_markdown_table_with_the_floor_beside_each_figure():
    table = bench._table([("warm start", "0.90 s", "bare FastAPI app: 0.50 s", "≤ 0.5 s"), ("RSS", "300 MB", "", "")])
    assert table.splitlines() == [
        "| figure | measured | floor (same run) | target |",
        "|---|---|---|---|",
        "| warm start | 0.90 s | bare FastAPI app: 0.50 s | ≤ 0.5 s |",
        "| RSS | 300 MB |  |  |",
    ]


def test_the_edited_copy_changes_exactly_one_pledge_and_leaves_the_programme_alone(tmp_path, monkeypatch):
    settings = load_settings()
    original = settings.corpus.read_bytes()
    changed, env = bench._one_pledge_edited(tmp_path, dict(os.environ))
    assert changed == load_programme(settings.corpus, settings.ids).pledges[0].id
    copy = load_programme(env["QA_CORPUS"], settings.ids).pledges
    assert copy[0].text.startswith("gjerne ")
    assert len(copy) == len(load_programme(settings.corpus, settings.ids).pledges)
    assert settings.corpus.read_bytes() == original and env["QA_CORPUS"].startswith(str(tmp_path))
