"""The fitted numbers of ranking, kept as data: `qa/answering/fitted.json`.

`python -m qa tune` writes the fusion weights and the band model there, with the sha256 of
every input it was fitted on (programme, expansions, topics, tuning questions) and the model id, and
the cross-validated figures it measured, for two profiles: the programme with its expansions, and
`bare` — the programme alone, as a new edition is on the day it arrives, before anyone has written
its expansions (start-up picks the profile, `qa.answering.startup`). Start-up reads it; a test fails when the recorded
hashes no longer match the inputs in the repo, so a changed input is refitted, not forgotten.
The same inputs give the same file, byte for byte.

The tuning set's out-of-scope questions, with `corpus/background.jsonl`, are the background that
the band model compares a question with (`background_texts`); `qa.measuring.tune` leaves each tuning
question's own fold out of it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from qa.answering.bands import Bands
from qa.answering.ranking import Weights, weights_from
from qa.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT = Path(__file__).resolve().parent / "fitted.json"
FORMAT = 1
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class Profile:
    """Weights and band model fitted for one way of running: with expansions, or bare."""

    weights: Weights
    bands: Bands
    figures: dict = field(default_factory=dict)  # cross-validated figures, for people to read

    def as_dict(self) -> dict:
        return {"weights": asdict(self.weights), "bands": self.bands.as_dict(), "cross_validated": self.figures}

    @classmethod
    def from_dict(cls, body: dict) -> Profile:
        return cls(weights_from(body["weights"]), Bands.from_dict(body["bands"]), body.get("cross_validated", {}))


@dataclass(frozen=True)
class Fitted:
    weights: Weights
    bands: Bands
    model: str
    inputs: dict[str, str]  # input name -> sha256 of its file
    figures: dict = field(default_factory=dict)  # cross-validated figures, for people to read
    bare: Profile | None = None  # fitted without expansions and topics, for a programme that has none yet

    @property
    def main(self) -> Profile:
        return Profile(self.weights, self.bands, self.figures)

    def as_json(self) -> str:
        body = {"format": FORMAT, "model": self.model, "inputs": self.inputs, **self.main.as_dict()}
        if self.bare is not None:
            body["bare"] = self.bare.as_dict()
        return json.dumps(body, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def sha256_of(path: Path | None) -> str:
    """The sha256 of a file's bytes, or "none" when there is no file."""
    if path is None or not Path(path).is_file():
        return "none"
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def input_hashes(settings) -> dict[str, str]:
    """The sha256 of every input a fit depends on, from a `qa.operations.settings.Settings`."""
    return {
        "programme": sha256_of(settings.corpus),
        "expansions": sha256_of(settings.expansions),
        "topics": sha256_of(settings.topics),
        "questions": sha256_of(settings.questions),
        "background": sha256_of(settings.background),
    }


def load_fitted(path: Path) -> Fitted:
    """Read a fitted file; a missing or malformed one raises `ConfigError` naming it."""
    try:
        body = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"QA_FITTED: cannot read {path}: {exc}; run 'python -m qa tune' to write it") from None
    try:
        if body.get("format") != FORMAT:
            raise ValueError(f"format {body.get('format')!r}, expected {FORMAT}")
        main = Profile.from_dict(body)
        return Fitted(
            weights=main.weights,
            bands=main.bands,
            model=str(body["model"]),
            inputs={str(k): str(v) for k, v in body["inputs"].items()},
            figures=main.figures,
            bare=Profile.from_dict(body["bare"]) if "bare" in body else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"QA_FITTED: {path} is not a fitted-parameters file ({exc})") from None


def warn_if_stale(fitted: Fitted, hashes: dict[str, str], model_id: str) -> list[str]:
    """Log (and return) what differs between the fit's inputs and the ones in use."""
    stale = [name for name, digest in hashes.items() if fitted.inputs.get(name) != digest]
    if model_id != fitted.model:
        stale.append(f"model ({model_id}, fitted with {fitted.model})")
    if stale:
        log.warning("ranking was fitted on other inputs (%s); refit with 'python -m qa tune'", ", ".join(stale))
    return stale


def background_texts(questions: Path | None, background: Path | None = None) -> list[tuple[str, str]]:
    """(id, text) of every out-of-scope question in the tuning file, then of every line of the
    background file (messages the programme does not answer); none without the files."""
    out = []
    for path, everything in ((questions, False), (background, True)):
        if path is None or not Path(path).is_file():
            continue
        for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if not isinstance(row, dict) or not isinstance(row.get("q"), str):
                continue
            if everything or row.get("kind") == OUT_OF_SCOPE:
                out.append((str(row.get("id", f"{Path(path).name}:{n}")), " ".join(row["q"].split())))
    return out
