"""corpus.files: the programme text, the id ledger and drafts are replaced whole, keep their
permissions and links, and a failure is one sentence for a person with nothing changed."""

from __future__ import annotations

import os
import stat

import pytest

from corpus.files import CannotWrite, write_text_atomically


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600])
def test_a_replaced_file_keeps_its_permissions(tmp_path, mode):
    path = tmp_path / "programme.txt"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(mode)
    write_text_atomically(path, "ny tekst – med æøå\n")
    assert path.read_text(encoding="utf-8") == "ny tekst – med æøå\n"
    assert _mode(path) == mode
    assert [p.name for p in tmp_path.iterdir()] == ["programme.txt"]  # no temporary file left


def test_a_new_file_gets_the_usual_permissions_not_a_temporary_files(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomically(tmp_path / "ids.jsonl", "{}\n")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "ids.jsonl") == 0o644  # readable by a service running as another user


def test_a_symbolic_link_is_written_through_and_stays_a_link(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_text_atomically(link, "new\n")
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new\n"


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda tmp: "", "cannot write '': give the path of a file"),
        (lambda tmp: tmp, "it is a folder; give the path of a file"),
        (lambda tmp: tmp / "missing" / "ids.jsonl", "no folder"),
    ],
)
def test_a_path_that_cannot_be_a_file_is_one_sentence(tmp_path, where, message):
    with pytest.raises(CannotWrite, match=message) as caught:
        write_text_atomically(where(tmp_path), "text\n")
    assert ".tmp" not in str(caught.value) and "Errno" not in str(caught.value)


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary_one(tmp_path, monkeypatch):
    path = tmp_path / "programme.txt"
    path.write_text("the programme in use\n", encoding="utf-8")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(CannotWrite, match=r"^cannot write .*programme.txt: No space left on device$"):
        write_text_atomically(path, "half a programme")
    assert path.read_text(encoding="utf-8") == "the programme in use\n"
    assert [p.name for p in tmp_path.iterdir()] == ["programme.txt"]
