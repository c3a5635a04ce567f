"""Open (and if need be build) an index with a slow fake embedder; print what this process did.

For tests/test_index_concurrency.py, which starts several of these at once. Not a test module.
Prints `built` when this process embedded the passages, `loaded` when another had built them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from index.store import open_index
from tests.conftest import FakeEmbedder

PASSAGES = {
    "pledges": [(f"p-{n}", f"løfte nummer {n} om fjorden og bussen") for n in range(40)],
    "sections": [("a", "Fjorden"), ("b", "Sykkel")],
}


class SlowEmbedder(FakeEmbedder):
    def embed_passages(self, texts: list[str]):
        time.sleep(0.3)  # long enough for the other process to find the index missing too
        return super().embed_passages(texts)


if __name__ == "__main__":
    embedder = SlowEmbedder()
    stored = open_index(Path(sys.argv[1]), embedder, PASSAGES)
    print("built" if embedder.calls else "loaded", stored.collections["pledges"].index.ntotal, flush=True)
