"""``spec diff``: classify the change between two versions of an indicator spec.

Two checks decide the version bump that ``spec/VERSIONING.md`` requires:

1. **Field by field.** Every changed field is put in a class, with the bump it needs:

   - **major**: a change of ``population``, ``numerator``, ``denominator``, ``exclusions``
     (their order too: a stay is counted under the first that catches it),
     ``period_attribution`` or ``unit``, in the prose as in the structure, since the prose is
     the normative definition (class *definition*); a grouping or stratification removed
     (*output*); a change of ``statistics`` ``suppression``, ``minimum_denominator``,
     ``multiplier`` or ``standard_population``, which change what is shown or its value
     (*statistics*);
   - **minor**: a grouping or stratification added (*output*); ``statistics`` ``interval``,
     ``confidence`` or ``funnel`` (*statistics*); ``direction``, ``targets``, ``type``,
     ``quality_dimension``, ``data_requirements`` (*classification*);
   - **patch**: ``title``, ``description``, ``rationale``, ``interpretation``,
     ``data_source``, ``adjustment``, ``owner``, ``references`` (*text*);
   - **none**: ``status``, ``status_history``, ``review``, ``changelog`` (*record*).

2. **The decisive check.** The old version's conformance cases are run against the current
   implementation (the registered one, :func:`kadindicators.compute`). A case whose expected
   result no longer holds means the definition changed, whatever the fields say: the change is
   **major**.

The required version is the old one bumped by the larger of the two. While the major version
is 0 (a draft), a change that would be major needs a minor bump (semantic versioning, item 4).
A new version below the required one *understates* the change (:attr:`SpecDiff.ok` is false;
``spec diff`` exits with 1).

.. versionadded:: 0.2.0
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pyarrow as pa

from .. import _yaml
from .._resources import spec_root
from ..errors import KadError, SpecError
from .indicators import jsonable, schema_errors

__all__ = ["BUMPS", "FieldChange", "RevisionDiff", "SpecDiff", "classify", "diff_files", "diff_revision",
           "diff_specs", "required_version"]

#: Bump levels, weakest first.
BUMPS = ("none", "patch", "minor", "major")

DEFINITION = ("population", "numerator", "denominator", "exclusions", "period_attribution", "unit")
STATISTICS_MAJOR = ("suppression", "minimum_denominator", "multiplier", "standard_population")
CLASSIFICATION = ("direction", "targets", "type", "quality_dimension", "data_requirements")
TEXT = ("title", "description", "rationale", "interpretation", "data_source", "adjustment", "owner",
        "references")
RECORD = ("status", "status_history", "review", "changelog")
OUTPUT_LISTS = ("groupings", "stratifications")
_REV = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./~^@{}+-]*$")


def _max(*levels: str) -> str:
    return max(levels, key=BUMPS.index, default="none")


def _vt(version: str) -> tuple[int, int, int]:
    a, b, c = (int(x) for x in str(version).split("."))
    return a, b, c


def required_version(old_version: str, level: str) -> str:
    """The lowest version allowed after a change of ``level`` to ``old_version``.

    Examples
    --------
    >>> required_version("1.2.3", "major"), required_version("1.2.3", "minor"), required_version("1.2.3", "patch")
    ('2.0.0', '1.3.0', '1.2.4')
    >>> required_version("0.3.1", "major")   # major 0: a breaking change is a minor bump
    '0.4.0'
    >>> required_version("1.2.3", "none")
    '1.2.3'

    .. versionadded:: 0.2.0
    """
    major, minor, patch = _vt(old_version)
    if level == "major" and major == 0:
        level = "minor"
    if level == "major":
        return f"{major + 1}.0.0"
    if level == "minor":
        return f"{major}.{minor + 1}.0"
    if level == "patch":
        return f"{major}.{minor}.{patch + 1}"
    return old_version


@attrs.frozen(kw_only=True)
class FieldChange:
    """One changed field: where, how, its class and the bump it needs.

    .. versionadded:: 0.2.0
    """

    path: str
    kind: str  # added | removed | changed
    category: str  # definition | output | statistics | classification | text | record
    bump: str
    old: Any = None
    new: Any = None


def classify(path: Sequence[str], kind: str) -> tuple[str, str]:
    """The class and bump of a change at ``path`` (key path into the spec).

    Examples
    --------
    >>> classify(["numerator", "uses", "0", "values"], "changed")
    ('definition', 'major')
    >>> classify(["stratifications"], "added"), classify(["stratifications"], "removed")
    (('output', 'minor'), ('output', 'major'))
    >>> classify(["rationale", "en"], "changed")
    ('text', 'patch')

    .. versionadded:: 0.2.0
    """
    top = str(path[0]) if path else ""
    if top in DEFINITION:
        return "definition", "major"
    if top in OUTPUT_LISTS:
        return "output", "minor" if kind == "added" else "major"
    if top == "statistics":
        sub = str(path[1]) if len(path) > 1 else ""
        return "statistics", "major" if sub in STATISTICS_MAJOR or not sub else "minor"
    if top in CLASSIFICATION:
        return "classification", "minor"
    if top in RECORD or top == "version":
        return "record", "none"
    return "text", "patch"


def _fmt_path(path: Sequence[str]) -> str:
    out = ""
    for p in path:
        if p.startswith("[") or not out:
            out += p
        else:
            out += "." + p
    return out


def _changes(old: Any, new: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str, Any, Any]]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for k in [*old, *(k for k in new if k not in old)]:
            if k not in new:
                yield (*path, str(k)), "removed", old[k], None
            elif k not in old:
                yield (*path, str(k)), "added", None, new[k]
            else:
                yield from _changes(old[k], new[k], (*path, str(k)))
    elif isinstance(old, list) and isinstance(new, list):
        if path and path[-1] in OUTPUT_LISTS and len(path) == 1:
            for item in old:
                if item not in new:
                    yield path, "removed", item, None
            for item in new:
                if item not in old:
                    yield path, "added", None, item
        elif all(isinstance(x, Mapping) and "id" in x for x in [*old, *new]) and (old or new):
            old_by = {str(x["id"]): x for x in old}
            new_by = {str(x["id"]): x for x in new}
            for k in [*old_by, *(k for k in new_by if k not in old_by)]:
                where = (*path, f"[{k}]")
                if k not in new_by:
                    yield where, "removed", old_by[k], None
                elif k not in old_by:
                    yield where, "added", None, new_by[k]
                else:
                    yield from _changes(old_by[k], new_by[k], where)
            if [k for k in old_by if k in new_by] != [k for k in new_by if k in old_by]:
                yield path, "changed", list(old_by), list(new_by)  # the order matters (first match counts)
        elif all(isinstance(x, Mapping | list) for x in [*old, *new]):
            for i, (a, b) in enumerate(zip(old, new, strict=False)):
                yield from _changes(a, b, (*path, f"[{i}]"))
            for i in range(len(new), len(old)):
                yield (*path, f"[{i}]"), "removed", old[i], None
            for i in range(len(old), len(new)):
                yield (*path, f"[{i}]"), "added", None, new[i]
        elif old != new:
            yield path, "changed", old, new
    elif old != new:
        yield path, "changed", old, new


@attrs.frozen(kw_only=True)
class CaseOutcome:
    """The result of one old conformance case against the current implementation.

    .. versionadded:: 0.2.0
    """

    case: str
    problems: tuple[str, ...]

    @property
    def holds(self) -> bool:
        """True when the case's expected result still holds."""
        return not self.problems


def _short(value: Any, width: int = 70) -> str:
    text = " ".join(repr(value).split()) if not isinstance(value, str) else repr(" ".join(value.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


@attrs.frozen(kw_only=True)
class SpecDiff:
    """The classified change between two versions of one indicator spec.

    .. versionadded:: 0.2.0
    """

    indicator: str
    old_version: str
    new_version: str
    changes: tuple[FieldChange, ...]
    cases: tuple[CaseOutcome, ...] = ()
    conformance_note_en: str | None = None
    conformance_note_nb: str | None = None
    notes_en: tuple[str, ...] = ()
    notes_nb: tuple[str, ...] = ()

    @property
    def field_bump(self) -> str:
        """The bump the changed fields need."""
        return _max(*(c.bump for c in self.changes))

    @property
    def conformance_bump(self) -> str:
        """``major`` when an old case no longer holds, else ``none``."""
        return "major" if any(not c.holds for c in self.cases) else "none"

    @property
    def required_bump(self) -> str:
        """The larger of :attr:`field_bump` and :attr:`conformance_bump`."""
        return _max(self.field_bump, self.conformance_bump)

    @property
    def minimum_version(self) -> str:
        """The lowest new version the change allows."""
        return required_version(self.old_version, self.required_bump)

    @property
    def ok(self) -> bool:
        """True when the new version is at least :attr:`minimum_version` (and not below the old)."""
        new = _vt(self.new_version)
        return new >= _vt(self.minimum_version) and new >= _vt(self.old_version)

    def to_dict(self) -> dict[str, Any]:
        """The diff as JSON data."""
        return {
            "indicator": self.indicator, "old_version": self.old_version, "new_version": self.new_version,
            "changes": [{"path": c.path, "kind": c.kind, "class": c.category, "bump": c.bump,
                         "old": c.old, "new": c.new} for c in self.changes],
            "conformance": {"cases": [{"case": c.case, "holds": c.holds, "problems": list(c.problems)}
                                      for c in self.cases],
                            "note": self.conformance_note_en},
            "field_bump": self.field_bump, "conformance_bump": self.conformance_bump,
            "required_bump": self.required_bump, "minimum_version": self.minimum_version, "ok": self.ok,
            "notes": list(self.notes_en),
        }

    def text(self, lang: str = "nb") -> str:
        """A report for people, in ``lang`` (``nb`` or ``en``)."""
        en = lang == "en"

        def t(nb: str, e: str) -> str:
            return e if en else nb

        kinds = {"added": t("lagt til", "added"), "removed": t("fjernet", "removed"),
                 "changed": t("endret", "changed")}
        out = [f"{self.indicator}: {self.old_version} → {self.new_version}"]
        if not self.changes:
            out.append("  " + t("ingen endrede felt", "no changed fields"))
        for c in self.changes:
            what = kinds[c.kind]
            if c.kind == "changed":
                what += f": {_short(c.old)} → {_short(c.new)}"
            elif c.kind == "added":
                what += f": {_short(c.new)}"
            else:
                what += f": {_short(c.old)}"
            out.append(f"  {c.category:<14} {c.bump:<5}  {c.path} {what}")
        note = self.conformance_note_en if en else self.conformance_note_nb
        if self.cases:
            failed = [c for c in self.cases if not c.holds]
            out.append(t(f"Konformitet: {len(self.cases)} gamle tester kjørt mot implementasjonen: "
                         f"{len(self.cases) - len(failed)} holder, {len(failed)} holder ikke lenger",
                         f"Conformance: {len(self.cases)} old cases run against the implementation: "
                         f"{len(self.cases) - len(failed)} hold, {len(failed)} no longer hold"))
            for outcome in failed:
                out += [f"  {outcome.case}: {p}" for p in outcome.problems[:5]]
        if note:
            out.append(t("Konformitet: ", "Conformance: ") + note)
        out += [f"  {n}" for n in (self.notes_en if en else self.notes_nb)]
        verdict = t(f"Nødvendig økning: {self.required_bump} (felt: {self.field_bump}, konformitet: "
                    f"{self.conformance_bump}); laveste tillatte versjon {self.minimum_version}.",
                    f"Required bump: {self.required_bump} (fields: {self.field_bump}, conformance: "
                    f"{self.conformance_bump}); lowest allowed version {self.minimum_version}.")
        out.append(verdict)
        if not self.ok:
            out.append(t(f"FEIL: versjon {self.new_version} underdriver endringen; bruk minst "
                         f"{self.minimum_version} (spec/VERSIONING.md).",
                         f"ERROR: version {self.new_version} understates the change; use at least "
                         f"{self.minimum_version} (spec/VERSIONING.md)."))
        return "\n".join(out)


def _version_le(a: str, b: str) -> bool:
    try:
        return _vt(a) <= _vt(b)
    except ValueError:
        return True


def run_old_cases(indicator: str, cases: Sequence[Any], old_version: str,
                  compute: Callable[..., pa.Table] | None = None,
                  ) -> tuple[tuple[CaseOutcome, ...], str | None, str | None]:
    """Run ``cases`` (of the old version) against the current implementation.

    Returns the outcomes and, when the cases could not be run, a note (en, nb) saying why.
    """
    from ..indicators import REGISTRY
    from ..spec.indicators import load_indicators
    from ..testing.conformance import run_case

    mine = [c for c in cases if c.indicator == indicator and _version_le(c.since_version, old_version)]
    if not mine:
        return ((), "the old version has no conformance cases; the classification rests on the fields only",
                "den gamle versjonen har ingen konformitetstester; klassifiseringen bygger bare på feltene")
    if compute is None:
        if indicator not in REGISTRY:
            return ((), f"{indicator} has no registered implementation; the {len(mine)} old cases were not run",
                    f"{indicator} har ingen registrert implementasjon; de {len(mine)} gamle testene ble ikke kjørt")
        installed = load_indicators().get(indicator)
        impl_version = REGISTRY[indicator][0]
        if installed is None or installed.version != impl_version:
            have = installed.version if installed else "none"
            en = f"the implementation ({impl_version}) and the spec in spec/ ({have}) disagree; fix that first"
            nb = f"implementasjonen ({impl_version}) og spesifikasjonen i spec/ ({have}) er uenige; rett det først"
            return (), en + " (spec lint)", nb + " (spec lint)"
    outcomes = []
    for case in mine:
        try:
            problems = run_case(case, compute) if compute is not None else run_case(case)
        except (KadError, ValueError, KeyError, TypeError) as exc:
            problems = [f"does not run any more: {type(exc).__name__}: {exc}"]
        outcomes.append(CaseOutcome(case=case.id, problems=tuple(problems)))
    return tuple(outcomes), None, None


def _load_raw(path: Path) -> dict[str, Any]:
    raw = _yaml.load(path)
    if not isinstance(raw, Mapping) or "id" not in raw or "version" not in raw:
        raise SpecError(f"{path}: not an indicator spec (no id or version)",
                        f"{path}: ikke en indikatorspesifikasjon (mangler id eller version)")
    return dict(jsonable(raw))


def diff_specs(old: Mapping[str, Any], new: Mapping[str, Any], *, old_cases: Sequence[Any] = (),
               run_conformance: bool = True, compute: Callable[..., pa.Table] | None = None) -> SpecDiff:
    """Classify the change from the spec document ``old`` to ``new``.

    Parameters
    ----------
    old, new : mapping
        The two spec documents (as loaded from YAML).
    old_cases : sequence of ConformanceCase
        The old version's conformance cases
        (:func:`kadindicators.testing.conformance.load_cases`).
    run_conformance : bool
        Run the old cases against the current implementation (the decisive check).
    compute : callable, optional
        Another implementation with the keyword interface of :func:`kadindicators.compute`.

    Returns
    -------
    SpecDiff

    Examples
    --------
    >>> import copy
    >>> import kadindicators as kad
    >>> from kadindicators.spec.diff import diff_specs
    >>> old = kad.get_indicator("KAD-Q01").raw
    >>> new = copy.deepcopy(dict(old))
    >>> new["rationale"] = {"nb": "Ny begrunnelse.", "en": "A new rationale."}
    >>> d = diff_specs(old, new, run_conformance=False)
    >>> [(c.path, c.category, c.bump) for c in d.changes], d.minimum_version, d.ok
    ([('rationale.nb', 'text', 'patch'), ('rationale.en', 'text', 'patch')], '1.0.1', False)

    .. versionadded:: 0.2.0
    """
    old, new = jsonable(old), jsonable(new)
    if old.get("id") != new.get("id"):
        raise SpecError(f"the specs have different ids ({old.get('id')} and {new.get('id')}); "
                        "an id is never renamed",
                        f"spesifikasjonene har ulike id-er ({old.get('id')} og {new.get('id')}); "
                        "en id endres aldri")
    changes = []
    for path, kind, a, b in _changes(old, new, ()):
        if path == ("version",):
            continue
        category, bump = classify(path, kind)
        changes.append(FieldChange(path=_fmt_path(path), kind=kind, category=category, bump=bump, old=a, new=b))
    notes_en: list[str] = []
    notes_nb: list[str] = []
    order = ("draft", "proposed", "adopted", "retired")
    if old.get("status") in order and new.get("status") in order and \
            order.index(new["status"]) < order.index(old["status"]):
        notes_en.append(f"the status goes back from {old['status']} to {new['status']}")
        notes_nb.append(f"statusen går tilbake fra {old['status']} til {new['status']}")
    if not any(c.get("version") == new.get("version") for c in new.get("changelog") or ()):
        notes_en.append(f"the changelog has no entry for {new.get('version')}")
        notes_nb.append(f"endringsloggen mangler en oppføring for {new.get('version')}")
    errors = schema_errors(new)
    if errors:
        notes_en.append(f"the new spec is not valid: {errors[0][0]}: {errors[0][1]} (run spec lint)")
        notes_nb.append(f"den nye spesifikasjonen er ikke gyldig: {errors[0][0]}: {errors[0][1]} (kjør spec lint)")
    cases: tuple[CaseOutcome, ...] = ()
    note_en: str | None = None
    note_nb: str | None = None
    if run_conformance:
        cases, note_en, note_nb = run_old_cases(str(new["id"]), old_cases, str(old["version"]), compute)
        failed = [c for c in cases if not c.holds]
        if failed and max((c.bump for c in changes), key=BUMPS.index, default="none") != "major":
            notes_en.append("old cases no longer hold although no definition field changed: the implementation "
                            "now computes something else than the old definition")
            notes_nb.append("gamle tester holder ikke lenger selv om ingen definisjonsfelt er endret: "
                            "implementasjonen beregner nå noe annet enn den gamle definisjonen")
        if cases and not failed and any(c.category == "definition" and c.path.split(".")[0].split("[")[0]
                                        in DEFINITION and ".text" not in c.path for c in changes):
            notes_en.append("the structure of the definition changed but every old case still holds: "
                            "add a case that pins the change")
            notes_nb.append("definisjonens struktur er endret, men alle gamle tester holder: "
                            "legg til en test som fastsetter endringen")
    else:
        note_en, note_nb = "not run (--no-conformance)", "ikke kjørt (--no-conformance)"
    return SpecDiff(indicator=str(new["id"]), old_version=str(old["version"]), new_version=str(new["version"]),
                    changes=tuple(changes), cases=cases, conformance_note_en=note_en,
                    conformance_note_nb=note_nb, notes_en=tuple(notes_en), notes_nb=tuple(notes_nb))


def _cases_in(conformance_dir: Path | None) -> list[Any]:
    from ..testing.conformance import load_cases

    if conformance_dir is None or not conformance_dir.is_dir():
        return []
    # load_cases reads <root>/conformance/*/*.yaml
    if conformance_dir.name == "conformance":
        root = conformance_dir.parent
    elif conformance_dir.parent.name == "conformance":
        root = conformance_dir.parent.parent
    else:
        raise SpecError(f"{conformance_dir}: expected a conformance/ or conformance/<ID>/ folder",
                        f"{conformance_dir}: forventet en mappe conformance/ eller conformance/<ID>/")
    try:
        return load_cases(root)
    except ValueError as exc:
        raise SpecError(str(exc), str(exc)) from None


def diff_files(old_path: Path, new_path: Path, *, old_conformance: Path | None = None,
               run_conformance: bool = True) -> SpecDiff:
    """Classify the change between two spec files.

    The old cases are read from ``old_conformance`` (a ``conformance/`` or
    ``conformance/<ID>/`` folder), by default from the ``conformance/`` folder beside the old
    file's ``indicators/`` folder.

    .. versionadded:: 0.2.0
    """
    old_path, new_path = Path(old_path), Path(new_path)
    old, new = _load_raw(old_path), _load_raw(new_path)
    if old_conformance is None and old_path.resolve().parent.name == "indicators":
        old_conformance = old_path.resolve().parent.parent / "conformance"
    cases = _cases_in(old_conformance) if run_conformance else []
    return diff_specs(old, new, old_cases=cases, run_conformance=run_conformance)


# -- against a git revision ------------------------------------------------------------------

def _git(cwd: Path, *args: str) -> bytes:
    git = shutil.which("git")
    if git is None:
        raise SpecError("git is not installed", "git er ikke installert")
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_NO_LAZY_FETCH": "1", "GIT_OPTIONAL_LOCKS": "0"}
    proc = subprocess.run([git, "-C", str(cwd), *args], capture_output=True, env=env, check=False,
                          timeout=60)
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = msg[-1] if msg else f"exit {proc.returncode}"
        raise SpecError(f"git {args[0]} failed: {detail}", f"git {args[0]} feilet: {detail}")
    return proc.stdout


@attrs.frozen(kw_only=True)
class RevisionDiff:
    """The specs changed since a git revision: one :class:`SpecDiff` per indicator in both.

    .. versionadded:: 0.2.0
    """

    revision: str
    diffs: tuple[SpecDiff, ...]
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no version understates its change and no indicator was removed."""
        return all(d.ok for d in self.diffs) and not self.removed

    def to_dict(self) -> dict[str, Any]:
        """The diffs as JSON data."""
        return {"revision": self.revision, "added": list(self.added), "removed": list(self.removed),
                "ok": self.ok, "indicators": [d.to_dict() for d in self.diffs]}

    def text(self, lang: str = "nb") -> str:
        """A report for people, in ``lang``."""
        en = lang == "en"
        out = [d.text(lang) for d in self.diffs]
        if self.added:
            out.append(("New indicators: " if en else "Nye indikatorer: ") + ", ".join(self.added))
        if self.removed:
            out.append(("ERROR: removed indicators (retire them instead; ids are never reused): " if en else
                        "FEIL: fjernede indikatorer (sett dem til retired i stedet; id-er brukes aldri på nytt): ")
                       + ", ".join(self.removed))
        if not out:
            out.append(f"No indicator spec changed since {self.revision}." if en else
                       f"Ingen indikatorspesifikasjon er endret siden {self.revision}.")
        return "\n\n".join(out)


def diff_revision(revision: str, *, root: Path | None = None, ids: Sequence[str] = (),
                  run_conformance: bool = True) -> RevisionDiff:
    """Classify the changes of the specs in the working tree since a git ``revision``.

    The old specs and conformance cases are read with ``git show`` from the repository that
    holds ``root`` (default: ``spec/``); nothing is fetched. Only specs whose content differs
    are diffed; ``ids`` limits the comparison to those indicators.

    Examples
    --------
    >>> from kadindicators.spec.diff import diff_revision
    >>> diff_revision("--help")
    Traceback (most recent call last):
    ...
    kadindicators.errors.SpecError: not a git revision: '--help' / ikke en git-revisjon: '--help'

    .. versionadded:: 0.2.0
    """
    if not _REV.fullmatch(revision) or ".." in revision:
        raise SpecError(f"not a git revision: {revision!r}", f"ikke en git-revisjon: {revision!r}")
    root = Path(root or spec_root()).resolve()
    top = Path(_git(root, "rev-parse", "--show-toplevel").decode().strip())
    prefix = root.relative_to(top.resolve()).as_posix()
    prefix = "" if prefix == "." else prefix + "/"
    try:
        _git(top, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}")
    except SpecError:
        raise SpecError(f"unknown git revision {revision!r} in {top}",
                        f"ukjent git-revisjon {revision!r} i {top}") from None
    listing = _git(top, "ls-tree", "-r", "-z", "--name-only", revision, "--",
                   f"{prefix}indicators", f"{prefix}conformance").decode("utf-8").split("\0")
    files = [f for f in listing if f.endswith(".yaml")]
    old_specs = {Path(f).stem: f for f in files if f.startswith(f"{prefix}indicators/") and f.count("/") ==
                 prefix.count("/") + 1}
    new_specs = {p.stem: p for p in sorted((root / "indicators").glob("*.yaml"))}
    wanted = set(ids) if ids else set(old_specs) | set(new_specs)
    diffs: list[SpecDiff] = []
    with tempfile.TemporaryDirectory(prefix="kad-diff-") as tmp:
        tmp_root = Path(tmp)
        for f in files:
            if not f.startswith(f"{prefix}conformance/"):
                continue
            rel = Path(f[len(prefix):])
            if len(rel.parts) != 3 or rel.parts[1] not in wanted:
                continue
            dest = tmp_root / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(_git(top, "show", f"{revision}:{f}"))
        cases = _cases_in(tmp_root / "conformance") if run_conformance else []
        for sid in sorted(wanted & set(old_specs) & set(new_specs)):
            text = _git(top, "show", f"{revision}:{old_specs[sid]}").decode("utf-8")
            old = _yaml.loads(text, source=f"{revision}:{old_specs[sid]}")
            new = _load_raw(new_specs[sid])
            if jsonable(old) == new:
                continue
            diffs.append(diff_specs(old, new, old_cases=cases, run_conformance=run_conformance))
    return RevisionDiff(revision=revision, diffs=tuple(diffs),
                        added=tuple(sorted(wanted & (set(new_specs) - set(old_specs)))),
                        removed=tuple(sorted(wanted & (set(old_specs) - set(new_specs)))))
