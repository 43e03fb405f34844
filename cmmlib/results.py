"""What each chapter measured against what the paper claims, gathered for the reproduction report.

A chapter ends by recording its verdicts on the paper's figures and claims::

    cmm.results.record("04_cmfgen_2d", [
        cmm.results.Claim(item="Figure 4", paper="sharp rings and checkerboards",
                          measured=f"{gap:.0%} of the circles' mass in the gap (data {data_gap:.0%})",
                          status="not reproduced", why="...", values={"gap": gap}),
    ])

and the reproduction page (``book/08_reproduction``) reads every chapter's record with
:func:`load`. Each record is one JSON file, ``<folder>/<chapter>.json``, written atomically with
the profile, the hardware and the time, so the page can say where each number came from. The
folder is ``$CMM_RESULTS`` when set (``.ci/build_book.py`` sets it to its output folder), else
``<user cache>/cmm-book/results/<profile>``.

Statuses: ``"reproduced"`` (the paper's number or picture is matched within the stated
tolerance), ``"partly"`` (the qualitative claim holds, the number or the picture does not),
``"not reproduced"`` (measured and missed), ``"not attempted"`` (nothing here measures it).
A chapter decides the status from its numbers, in code, never by hand.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import atomic, config

ENV_VAR = "CMM_RESULTS"
STATUSES = ("reproduced", "partly", "not reproduced", "not attempted")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One figure or claim of the paper as a chapter measured it.

    item: the paper's label ("Figure 4", "Prop. 2", "Figure 13: CMFGen vs baseline").
    paper: what the paper reports or shows.
    measured: what the chapter measured, formatted from its numbers.
    status: one of :data:`STATUSES`.
    why: why the book's result differs from the paper's, or "" when it does not.
    values: the raw numbers behind ``measured`` (plain floats, ints, strings or booleans).
    """

    item: str
    paper: str
    measured: str
    status: str
    why: str = ""
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        for field in ("item", "paper", "measured"):
            if not isinstance(getattr(self, field), str) or not getattr(self, field).strip():
                raise ValueError(f"{field} must be a non-empty string, got {getattr(self, field)!r}")


def folder(profile: str | None = None) -> Path:
    """Where the records are: ``$CMM_RESULTS``, else the user cache folder of the profile."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "cmm-book" / "results" / config.profile_name(profile)


def _plain(value: Any) -> Any:
    from .report import number

    value = number(value, 4)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"results: {value!r} ({type(value).__name__}) is not a number, string or boolean")


def record(chapter: str, claims: Sequence[Claim], profile: str | None = None) -> Path:
    """Write ``chapter``'s claims (replacing its earlier record); return the file written."""
    from .checkpoints import hardware

    if not chapter or "/" in chapter or chapter.startswith("."):
        raise ValueError(f"chapter must be a plain name such as '04_cmfgen_2d', got {chapter!r}")
    if not claims or not all(isinstance(c, Claim) for c in claims):
        raise ValueError("claims must be a non-empty sequence of results.Claim")
    entry = {
        "chapter": chapter,
        "profile": config.profile_name(profile),
        "recorded_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hardware": hardware(),
        "claims": [{**dataclasses.asdict(c), "values": _plain(dict(c.values))} for c in claims],
    }
    return atomic.write_json(folder(profile) / f"{chapter}.json", entry)


def load(chapters: Sequence[str], profile: str | None = None) -> dict[str, dict[str, Any]]:
    """The records of ``chapters``, by chapter.

    Raises:
      FileNotFoundError: a chapter has no record yet (it says which to run first).
      ValueError: a record is not valid JSON.
    """
    out = {}
    base = folder(profile)
    missing = [c for c in chapters if not (base / f"{c}.json").exists()]
    if missing:
        raise FileNotFoundError(
            f"no results of {', '.join(missing)} in {base}: run those chapters first (in the same "
            f"profile), or point ${ENV_VAR} to the folder where they recorded them")
    for chapter in chapters:
        path = base / f"{chapter}.json"
        try:
            out[chapter] = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{path} is not valid JSON ({err}): run {chapter} again") from None
    return out
