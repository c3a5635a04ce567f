"""Lighthouse gate (issue 14): `/`, an answer (`/?q=...`) and `/program`, on the mobile preset,
score 100 in Accessibility, Best Practices and SEO, and at least 95 in Performance.

Lighthouse comes from npm at the locked version (tests/browser/package.json, `npm ci`); it drives
Debian's Chromium (CHROME_PATH), never a downloaded browser, against the session's real server.
Offline-safe: error reporting is off, and Chromium gets a proxy that does not exist, so anything
but loopback fails rather than reaching the network (nothing here needs it).

Performance is measured, not counted: on a busy machine (two cores shared by several jobs) one
run can miss 95 by load alone, so a URL gets up to `ATTEMPTS` runs and passes on the first that
meets every bar. The other three categories are the same on every run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote_plus

import pytest

from tests.browser.conftest import CHROMIUM, need
from tests.browser.test_browser import QUESTION

LIGHTHOUSE = Path(__file__).parent / "node_modules" / "lighthouse" / "cli" / "index.js"
BARS = {"accessibility": 1.0, "best-practices": 1.0, "seo": 1.0, "performance": 0.95}
ATTEMPTS = 3
CHROME_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--proxy-server=http://127.0.0.1:9",  # nothing listens there; loopback bypasses proxies
]


def lighthouse(url: str, out: Path) -> dict:
    """One Lighthouse run (mobile preset, the four categories) on `url`; its JSON report."""
    node = shutil.which("node")
    need(node is not None, "node")
    # Its Chromium's profile goes into a temporary folder of its own, removed afterwards; a short
    # path, since Chromium's lock socket under it must fit a Unix socket address (108 bytes).
    tmp = tempfile.mkdtemp(prefix="lh-")
    env = {**os.environ, "CHROME_PATH": str(CHROMIUM), "TMPDIR": tmp}
    command = [
        node,
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--no-enable-error-reporting",
        f"--only-categories={','.join(BARS)}",
        "--output=json",
        f"--output-path={out}",
        f"--chrome-flags={' '.join(CHROME_FLAGS)}",
    ]
    try:
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert run.returncode == 0, f"lighthouse failed on {url}: {run.stderr[-2000:]}"
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report.get("runtimeError") is None, report["runtimeError"]
    return report


def shortfalls(report: dict) -> list[str]:
    """Each category under its bar, with the audits that cost it points."""
    found = []
    for name, bar in BARS.items():
        category = report["categories"][name]
        if category["score"] is None or category["score"] < bar:
            lost = [
                f"{ref['id']} {report['audits'][ref['id']]['score']} {report['audits'][ref['id']].get('displayValue', '')}".strip()
                for ref in category["auditRefs"]
                if ref["weight"] > 0 and (report["audits"][ref["id"]]["score"] or 0) < 1
            ]
            found.append(f"{name} {category['score']} < {bar}: {lost}")
    return found


@pytest.mark.parametrize(
    "path", ["/", f"/?q={quote_plus(QUESTION)}", "/program"], ids=["chat", "answer", "programme"]
)
def test_lighthouse_scores_100_and_performance_at_least_95_on_mobile(server, tmp_path, path):
    need(LIGHTHOUSE.exists(), f"{LIGHTHOUSE} (run npm ci in tests/browser)")
    runs = []
    for attempt in range(ATTEMPTS):
        report = lighthouse(server + path, tmp_path / f"run{attempt}.json")
        assert report["configSettings"]["formFactor"] == "mobile"
        assert report["finalDisplayedUrl"] == server + path  # what was measured is the page itself
        runs.append(shortfalls(report))
        if not runs[-1]:
            break
    assert not runs[-1], f"{path}, {len(runs)} runs: {runs}"
