"""Several processes starting at once build the index once; leftovers of crashed builds go;
a damaged or hand-edited index means "rebuild", never a traceback."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from index.store import KEYS, MANIFEST, IndexStale, build, build_lock, content_hash, load, open_index
from tests.conftest import FakeEmbedder

CHECKOUT = Path(__file__).resolve().parent.parent
PASSAGES = {
    "pledges": [("a-1", "forby tråling i fjorden"), ("a-2", "sone 1 for bussen")],
    "sections": [("a", "Fjorden")],
}


def _start(index: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.build_index_once", str(index)],
        cwd=CHECKOUT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_processes_starting_at_once_build_the_index_once_and_all_load_it(tmp_path):
    index = tmp_path / "var" / "index"
    processes = [_start(index) for _ in range(3)]
    results = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err for _, err in results]
    said = sorted(out.strip() for out, _ in results)
    assert said == ["built 40", "loaded 40", "loaded 40"]
    assert all("Traceback" not in err for _, err in results)
    assert sorted(p.name for p in index.parent.iterdir()) == [".index.lock", "index"]


def test_a_process_that_finds_the_index_stale_waits_for_the_builder_then_loads(tmp_path):
    index = tmp_path / "index"
    with build_lock(index):
        waiting = _start(index)
        time.sleep(1.0)
        assert waiting.poll() is None  # blocked on the lock, not building beside us
        build_in_place = subprocess.run(  # what the lock holder builds, from the same script
            [sys.executable, "-c", "import tests.build_index_once as b, index.store as s, pathlib, sys;"
             "s._build(pathlib.Path(sys.argv[1]), b.SlowEmbedder(), b.PASSAGES, progress=False)", str(index)],
            cwd=CHECKOUT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert build_in_place.returncode == 0, build_in_place.stderr
    out, err = waiting.communicate(timeout=120)
    assert out.strip() == "loaded 40", err


def test_leftovers_of_a_crashed_build_are_removed_by_the_next_lock_holder(tmp_path, caplog):
    index = tmp_path / "index"
    build(index, FakeEmbedder(), PASSAGES)
    stale = [tmp_path / ".index.building-k2j4x", tmp_path / ".index.old-4242"]
    for folder in stale:
        folder.mkdir()
        (folder / "pledges.faiss").write_bytes(b"half")
        os.utime(folder, (time.time() - 3600, time.time() - 3600))
    unrelated = tmp_path / ".other.building-1"
    unrelated.mkdir()
    with caplog.at_level(logging.WARNING, logger="index.store"):
        build(index, FakeEmbedder(), PASSAGES)
    assert not any(folder.exists() for folder in stale)
    assert unrelated.exists()  # another index's folder is not ours to remove
    assert "left by a build that did not finish" in caplog.text


# --- damaged or hand-edited index files --------------------------------------------------------


def _edit_manifest(index: Path, change) -> None:
    manifest = json.loads((index / MANIFEST).read_text())
    change(manifest)
    (index / MANIFEST).write_text(json.dumps(manifest))


DAMAGE = {
    "empty files": lambda i: _edit_manifest(i, lambda m: m.update(files={})),
    "files without keys.json": lambda i: _edit_manifest(i, lambda m: m["files"].pop(KEYS)),
    "files as a list": lambda i: _edit_manifest(i, lambda m: m.update(files=["keys.json"])),
    "a path in files": lambda i: _edit_manifest(i, lambda m: m["files"].update({"../../etc/passwd": "0"})),
    "no dim": lambda i: _edit_manifest(i, lambda m: m.pop("dim")),
    "dim as text": lambda i: _edit_manifest(i, lambda m: m.update(dim="256")),
    "manifest a list": lambda i: (i / MANIFEST).write_text("[1, 2]"),
    "manifest truncated": lambda i: (i / MANIFEST).write_text((i / MANIFEST).read_text()[:40]),
    "manifest not utf-8": lambda i: (i / MANIFEST).write_bytes(b"\xff\xfe{}"),
    "keys.json truncated": lambda i: (i / KEYS).write_text((i / KEYS).read_text()[:10]),
    "garbage .faiss": lambda i: (i / "pledges.faiss").write_bytes(os.urandom(300)),
}


def _unchecked(index: Path, damage) -> None:
    """Damage a file, then make the manifest's checksums agree, as a hand edit would."""
    import hashlib

    damage(index)
    try:
        manifest = json.loads((index / MANIFEST).read_text())
        for name in list(manifest.get("files", {}) if isinstance(manifest.get("files"), dict) else []):
            if (index / name).is_file() and "/" not in name:
                manifest["files"][name] = hashlib.sha256((index / name).read_bytes()).hexdigest()
        (index / MANIFEST).write_text(json.dumps(manifest))
    except (ValueError, AttributeError, TypeError):
        pass  # the manifest itself is the damage


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("checksums_fixed", [False, True])
def test_a_damaged_index_is_stale_and_is_rebuilt_never_a_traceback(tmp_path, damage, checksums_fixed, caplog):
    index = tmp_path / "index"
    build(index, FakeEmbedder(), PASSAGES)
    (_unchecked if checksums_fixed else lambda i, d: d(i))(index, DAMAGE[damage])
    with pytest.raises(IndexStale):
        load(index, model_id=FakeEmbedder.model_id, content=content_hash(PASSAGES))
    with caplog.at_level(logging.WARNING, logger="index.store"):
        stored = open_index(index, FakeEmbedder(), PASSAGES)
    assert "rebuilding the index" in caplog.text
    assert stored.collections["pledges"].keys == ("a-1", "a-2")
    load(index, model_id=FakeEmbedder.model_id, content=content_hash(PASSAGES))  # sound again
