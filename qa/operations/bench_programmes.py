"""`python -m qa bench --programmes N`: how start-up, memory and answering grow with the number
of programmes one process serves (qa.programmes).

For each count in `counts_up_to(N)` a fresh process generates that many programmes from this
one's text (each its own folder, slug, id and index), starts a `Library` over them on the real model, and asks questions of
randomly chosen programmes in-process. Embedding is shared through a cache keyed by text, since
every generated programme reuses the same pledge texts: the start-up figure is therefore parsing,
index files and ranker set-up per programme, and a programme whose texts are new costs its own
embedding on top (`python -m qa bench` reports the one-programme build). Memory is the
process's peak resident set.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qa.operations.settings import DEFAULT_CORPUS

QUESTIONS = ("vil dere gjøre bussen billigere?", "hva vil dere med Oslofjorden?", "sykkelvei til skolen",
             "flere barnehageplasser", "hva med eldreomsorgen?", "bompenger", "billigere boliger for unge",
             "vern av skog og natur", "what about bike lanes?", "gratis kulturskole")  # fmt: skip


def counts_up_to(n: int) -> list[int]:
    return sorted({c for c in (1, 10, 50, 200, 1000) if c < n} | {n})


def main(programmes: int, asks: int = 200) -> str:
    """Run each count in a process of its own and return the report."""
    rows = []
    for count in counts_up_to(programmes):
        out = subprocess.run(
            [sys.executable, "-m", "qa.operations.bench_programmes", str(count), str(asks)],
            capture_output=True, text=True, check=False, timeout=3600,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"the run with {count} programmes failed: {out.stderr.strip().splitlines()[-1:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    lines = [
        f"many programmes (generated from {DEFAULT_CORPUS.name}; embeddings shared by text; {asks} questions each):",
        f"{'programmes':>10} {'start s':>8} {'+ms/prog':>9} {'peak RSS MB':>11} {'+MB/prog':>9} {'p50 ms':>7} {'p95 ms':>7}",
    ]
    base = rows[0]
    for r in rows:
        extra = r["programmes"] - base["programmes"]
        per_mb = (r["rss_mb"] - base["rss_mb"]) / extra if extra else float("nan")
        per_ms = 1000 * (r["start_s"] - base["start_s"]) / extra if extra else float("nan")
        lines.append(
            f"{r['programmes']:>10} {r['start_s']:>8.1f} {per_ms:>9.0f} {r['rss_mb']:>11.0f}"
            f" {per_mb:>9.1f} {r['p50_ms']:>7.1f} {r['p95_ms']:>7.1f}"
        )
    lines.append("(+ms/prog and +MB/prog: what each programme beyond the first adds; the first one's start includes embedding it)")
    return "\n".join(lines)


class CachedEmbedder:
    """The real embedder, remembering each passage's vector by its text."""

    def __init__(self, inner) -> None:
        self._inner, self._seen = inner, {}
        self.model_id, self.dim = inner.model_id, inner.dim

    def embed_queries(self, texts):
        return self._inner.embed_queries(texts)

    def embed_passages(self, texts):
        new = [t for t in dict.fromkeys(texts) if t not in self._seen]
        if new:
            self._seen.update(zip(new, self._inner.embed_passages(new)))
        return np.array([self._seen[t] for t in texts], dtype=np.float32).reshape(len(texts), self.dim)


def generate(folder: Path, count: int) -> None:
    """`count` programme folders, each with this programme's text under its own slug."""
    text = DEFAULT_CORPUS.read_text(encoding="utf-8")
    for i in range(count):
        sub = folder / f"{i:05d}"
        sub.mkdir(parents=True)
        (sub / "programme.txt").write_text(text, encoding="utf-8")
        (sub / "programme.toml").write_text(
            f'slug = "p{i:05d}"\ntitle = "Program {i}"\nparty = "Parti {i % 7}"\nplace = "Sted {i}"\n'
            f'level = "municipality"\nperiod = "2027–2031"\nsource_url = "https://example.org/{i}.pdf"\n'
            + ("default = true\n" if i == 0 else ""),
            encoding="utf-8",
        )



def _run(count: int, asks: int) -> dict:
    from index.embedders import load_embedder
    from qa.operations.settings import load_settings
    from qa.programmes.library import load_library

    with tempfile.TemporaryDirectory(prefix="qa-bench-programmes-") as tmp:
        folder = Path(tmp) / "programmes"
        generate(folder, count)
        settings = load_settings().model_copy(update={"programmes": folder, "index_dir": Path(tmp) / "index", "db": "off"})
        embedder = CachedEmbedder(load_embedder(settings.model))
        embedder.embed_passages(["oppvarming"])
        start = time.perf_counter()
        library = load_library(settings, embedder=embedder)
        start_s = time.perf_counter() - start
        rng = random.Random(1)
        times = []
        for n in range(asks):
            slug = rng.choice(library.entries).slug
            question = f"{QUESTIONS[n % len(QUESTIONS)]} {n}"  # distinct: no answer cache
            t = time.perf_counter()
            library.ask(question, 5, slug)
            times.append(1000 * (time.perf_counter() - t))
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"programmes": count, "start_s": start_s, "rss_mb": rss_mb,
            "p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}  # fmt: skip


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("QA_DB", "off")
    print(json.dumps(_run(int(sys.argv[1]), int(sys.argv[2]))))
