"""Propose a new indicator, end to end
===================================

The contributor's path for a new indicator, KAD-Q90 "share of completed stays
discharged to a nursing home", done by a script in a throw-away copy of the
repository (the real ``spec/`` is never touched):

1. ``kadindicators spec new`` writes a draft spec and a conformance case template;
2. ``spec lint`` lists the texts still marked TODO;
3. the texts, the ``uses`` lists, an exclusion and a hand-worked conformance case
   are filled in, and the spec is marked ``proposed``; lint is then clean;
4. a Python implementation is registered with ``@indicator("KAD-Q90", ...)``;
5. its conformance case runs with :mod:`kadindicators.testing.conformance`, and
   the draft is tried on the synthetic region;
6. ``spec export`` writes the national indicator description (Markdown).

Steps 4 and 5 run in a child process whose ``kadindicators`` is the copy: the
library reads its specifications from the ``spec/`` next to the package (as in a
clone), and has no argument to read them from elsewhere.

``python examples/propose_indicator.py --keep`` keeps the working copy to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import kadindicators as kad
from kadindicators._resources import spec_root
from kadindicators.cli import main
from kadindicators.spec.lint import lint

ID = "KAD-Q90"


def step(title: str) -> None:
    print(f"\n== {title}")


def fill(text: str, values: dict[str, Any]) -> str:
    """Set the values at dotted key paths in a block-style YAML text, keeping everything else.

    Each value is written as JSON, which is valid YAML; the old value (and anything nested
    under the key) is dropped. Every path must be found once.
    """
    lines = text.splitlines()
    out: list[str] = []
    stack: list[tuple[int, str]] = []
    seen: set[str] = set()
    skip_deeper_than: int | None = None
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        if skip_deeper_than is not None:
            if not line.strip() or indent > skip_deeper_than:
                continue
            skip_deeper_than = None
        m = re.match(r"^( *)([A-Za-z_][A-Za-z0-9_]*):( .*)?$", line)
        if m is None or line.lstrip().startswith("#"):
            out.append(line)
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m.group(2)))
        path = ".".join(k for _, k in stack)
        if path in values:
            out.append(f"{m.group(1)}{m.group(2)}: {json.dumps(values[path], ensure_ascii=False)}")
            seen.add(path)
            skip_deeper_than = indent
        else:
            out.append(line)
    missing = set(values) - seen
    assert not missing, f"not found in the YAML: {sorted(missing)}"
    return "\n".join(out) + "\n"


def errors_and_todos(issues: list[Any]) -> tuple[list[str], int]:
    errors = [i.format("en") for i in issues if i.severity == "error"]
    return errors, sum(i.rule == "todo" for i in issues)


# --- a throw-away copy of the repository: the package and the spec next to each other
work = Path(tempfile.mkdtemp(prefix="kad-propose-"))
package = Path(kad.__file__).resolve().parent
shutil.copytree(package, work / "src" / "kadindicators", ignore=shutil.ignore_patterns("_spec", "__pycache__"))
shutil.copytree(spec_root(), work / "spec")
root = work / "spec"
print(f"working copy: {work}")

step("1. spec new")
rc = main(["spec", "new", ID, "--title-nb", "Andel avsluttede opphold utskrevet til sykehjem",
           "--title-en", "Share of completed stays discharged to a nursing home",
           "--type", "outcome", "--spec-root", str(root), "--lang", "en"])
assert rc == 0
spec_path = root / "indicators" / f"{ID}.yaml"
case_path = root / "conformance" / ID / "basic.yaml"
assert spec_path.is_file() and case_path.is_file()

step("2. spec lint: the draft is valid, its texts are still TODO")
errors, todos = errors_and_todos(lint([spec_path], run_conformance=False))
print(f"{len(errors)} errors, {todos} TODO texts (warnings while the spec is a draft)")
assert errors == [] and todos > 10

step("3. write the texts, the definition and a conformance case")
completed = {"nb": "Avsluttede opphold (utskrivningstidspunkt satt, ikke etter as_of) med innleggelse i "
                   "perioden.",
             "en": "Completed stays (discharge time set, not after as_of) admitted in the period."}
spec_text = fill(spec_path.read_text(encoding="utf-8"), {
    "status": "proposed",
    "status_history": [{"status": "draft", "date": "2027-01-10"}, {"status": "proposed", "date": "2027-02-01"}],
    "description.nb": "Andelen av avsluttede KAD-opphold der pasienten ble utskrevet til sykehjem.",
    "description.en": "The share of completed KAD stays where the patient was discharged to a nursing home.",
    "rationale.nb": "Viser om KAD brukes som venteplass for sykehjem i stedet for som alternativ til sykehus.",
    "rationale.en": "Shows whether KAD is used as a waiting place for a nursing home rather than as an "
                    "alternative to hospital.",
    "interpretation.nb": "Verken høy eller lav er i seg selv bedre; les sammen med hvor pasientene kom fra.",
    "interpretation.en": "Neither high nor low is better in itself; read with where the patients came from.",
    "quality_dimension": "coordinated",
    "population.text.nb": "KAD-opphold med innleggelse i perioden.",
    "population.text.en": "KAD stays admitted in the period.",
    "denominator.text": completed,
    "denominator.uses": [{"table": "stays", "field": "admitted_at"}, {"table": "stays", "field": "discharged_at"}],
    "numerator.text.nb": "Opphold i nevneren med utskrevet til = sykehjem.",
    "numerator.text.en": "Stays in the denominator with discharged_to = nursing_home.",
    "numerator.uses": [{"table": "stays", "field": "discharged_to", "values": ["nursing_home"]}],
    "exclusions": [{"id": "not-completed",
                    "text": {"nb": "Opphold som ikke er avsluttet ved uttrekket.",
                             "en": "Stays not completed at the extract."},
                    "uses": [{"table": "stays", "field": "discharged_at"}]}],
    "period_attribution.text.nb": "Perioden (lokal tid, Europe/Oslo, halvåpen) som inneholder innleggelsesdatoen; "
                                  "et opphold over midnatt, en periodegrense eller et sommertidsskifte telles der "
                                  "det startet.",
    "period_attribution.text.en": "The period (local time, Europe/Oslo, half-open) that contains the admission "
                                  "date; a stay across midnight, a period boundary or a change of summer time "
                                  "counts where it started.",
    "data_requirements.fields": [{"table": "stays", "field": f}
                                 for f in ("admitted_at", "discharged_at", "discharged_to")],
    "adjustment.nb": "Ingen (ujustert andel).",
    "adjustment.en": "None (crude share).",
    "owner": "Klinisk samarbeidsutvalg for KAD (eksempel)",
    "review.authored_by": "An example script",
    "review.checked_by": "not yet reviewed",
})
spec_path.write_text(spec_text, encoding="utf-8")

stay = {"patient_id": None, "unit_id": "U1", "age": 80, "sex": "2", "care_track": "somatic"}
case_text = fill(case_path.read_text(encoding="utf-8"), {
    "description.nb": "Fire opphold: ett til sykehjem, ett hjem, ett til sykehus, ett ikke avsluttet. "
                      "Nevner 3, teller 1.",
    "description.en": "Four stays: one to a nursing home, one home, one to hospital, one not completed. "
                      "Denominator 3, numerator 1.",
    "input.stays": [
        {**stay, "stay_id": "S1", "patient_id": "P1", "admitted_at": "2024-03-01T10:00",
         "discharged_at": "2024-03-03T10:00", "discharged_to": "home"},
        {**stay, "stay_id": "S2", "patient_id": "P2", "admitted_at": "2024-04-01T10:00",
         "discharged_at": "2024-04-02T09:00", "discharged_to": "hospital"},
        {**stay, "stay_id": "S3", "patient_id": "P3", "admitted_at": "2024-12-31T22:00"},
        {**stay, "stay_id": "S4", "patient_id": "P4", "admitted_at": "2024-06-10T08:00",
         "discharged_at": "2024-06-14T12:00", "discharged_to": "nursing_home"},
    ],
    "expected": {"rows": [{"period": "2024", "unit_id": "U1", "numerator": 1, "denominator": 3,
                           "value": 0.3333333333, "suppressed": False, "reason": None}],
                 "excluded": {"not-completed": 1}},
})
case_path.write_text(case_text, encoding="utf-8")
errors, todos = errors_and_todos(lint([spec_path], run_conformance=False))
print(f"proposed: {len(errors)} errors, {todos} TODO texts")
assert errors == [] and todos == 0, errors

step("4. the implementation, registered against the spec's id and version")
impl = work / "src" / "kadindicators" / "indicators" / "nursing_home.py"
impl.write_text(textwrap.dedent(f'''\
    """{ID}: share of completed stays discharged to a nursing home."""

    from __future__ import annotations

    import numpy as np
    import pyarrow.compute as pc

    from ._context import Contributions, StayContext
    from ._registry import indicator


    @indicator("{ID}", version="0.1.0")
    def discharged_to_nursing_home(ctx: StayContext) -> Contributions:
        """Per stay: in the denominator, in the numerator, or excluded (and why)."""
        done = ctx.completed
        to_nh = pc.fill_null(pc.equal(ctx.stays["discharged_to"], "nursing_home"), False)
        nursing_home = np.asarray(to_nh.to_numpy(zero_copy_only=False), dtype=bool)
        return ctx.per_stay(denominator=done, numerator=done & nursing_home,
                            excluded={{"not-completed": ~done}})
'''), encoding="utf-8")
print(impl.read_text(encoding="utf-8"))

step("5. run the conformance case and try the draft, with the working copy's kadindicators")
check = textwrap.dedent(f"""\
    import kadindicators as kad
    import kadindicators.indicators.nursing_home  # registers {ID} (in a real change: indicators/__init__.py)
    from kadindicators.cli import main
    from kadindicators.testing.conformance import load_cases, run_case

    assert kad.get_indicator("{ID}").status == "proposed"
    cases = [c for c in load_cases() if c.indicator == "{ID}"]
    for case in cases:
        problems = run_case(case)
        print(case.id, "passes" if not problems else problems)
        assert problems == []
    region = kad.synth.generate(years=(2024,), seed=1)
    res = kad.compute(stays=region.stays, units=region.units, indicators=["{ID}"], by=())
    row = res.to_pylist()[0]
    print(f"synthetic region 2024: {{row['numerator']:.0f}} / {{row['denominator']:.0f}} = "
          f"{{100 * row['value']:.1f}} % (95 % CI {{100 * row['ci_lower']:.1f}}-{{100 * row['ci_upper']:.1f}})")
    assert main(["spec", "lint", "spec/indicators/{ID}.yaml", "--lang", "en"]) == 0
    """)
env = {**os.environ, "PYTHONPATH": str(work / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
done = subprocess.run([sys.executable, "-c", check], cwd=work, env=env, capture_output=True, text=True,
                      timeout=300, check=False)
print(done.stdout, end="")
assert done.returncode == 0, done.stderr[-3000:]
assert f"{ID}/basic passes" in done.stdout

step("6. spec export: the national indicator description")
md = work / f"{ID}.md"
assert main(["spec", "export", ID, "--format", "national-md", "--spec-root", str(root), "-o", str(md),
             "--lang", "en"]) == 0
text = md.read_text(encoding="utf-8")
print("\n".join(text.splitlines()[:12]))
assert ID in text and "nursing home" in text and "TODO" not in text

# the repository's own spec is untouched
assert not (spec_root() / "indicators" / f"{ID}.yaml").exists()
if "--keep" in sys.argv[1:]:
    print(f"\nthe working copy is kept for you to look at: {work}")
else:
    shutil.rmtree(work)
