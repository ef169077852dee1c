"""Tables and JSON of claim results, and the mutation kill matrix.

Table columns: the claim, its status, the two compared quantities, the tolerance and the
exact pass rule, the negative control's outcome, the result and the seconds taken.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict

from tnreg.theory.registry import ClaimResult

__all__ = ["format_kill_matrix", "format_table", "results_to_json"]


def _num(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.3g}"


def _control(r: ClaimResult) -> str:
    if r.control_holds is None:
        return "none"
    return f"{_num(r.control_value)} " + ("HOLDS" if r.control_holds else "fails")


def format_table(results: Sequence[ClaimResult], *, markdown: bool = False) -> str:
    """The results as a text (or Markdown) table.

    The control column shows the control's measured value and whether the pass rule
    ``fails`` on it (as it must) or ``HOLDS`` (the claim then fails).

    Examples
    --------
    >>> r = ClaimResult("one", "theorem", 2.0, 2.0, 0.0, True, 0.01, rule="measured == 2",
    ...                 rule_held=True, control="1 + 0", control_value=1.0, control_holds=False)
    >>> print(format_table([r]).splitlines()[2])
    one    theorem  2          2         0    measured == 2  1 fails  PASS    0.01
    """
    head = ["claim", "status", "predicted", "measured", "tol", "pass rule", "control",
            "result", "seconds"]  # fmt: skip
    rows = [
        [
            r.name, r.status, _num(r.predicted), _num(r.measured), _num(r.tolerance), r.rule,
            _control(r), "PASS" if r.passed else "FAIL", f"{r.seconds:.2f}",
        ]
        for r in results
    ]  # fmt: skip
    if markdown:  # with the citation (theorem number) after the status
        head.insert(2, "citation")
        for row, r in zip(rows, results):
            row.insert(2, r.citation)
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*row).rstrip() for row in rows]
    return "\n".join(lines)


def results_to_json(results: Sequence[ClaimResult]) -> str:
    """The results as JSON (NaN written as null)."""
    rows = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(r).items()}
        for r in results
    ]
    return json.dumps({"claims": rows, "passed": all(r.passed for r in results)}, indent=2)


def format_kill_matrix(
    matrix: Mapping[str, Sequence[ClaimResult | None]],
    *,
    names_given: Sequence[str] = (),
    markdown: bool = False,
) -> str:
    """Claim x mutant: ``K`` killed (the claim failed), ``E`` killed by an error, ``.`` survived,
    ``-`` not run (the claim fails on the real code), ``T`` stopped at the time limit (not a
    kill). ``names_given``: the claims' names.

    Columns are numbered mutants (a legend follows the table); the last row counts the claims
    that killed each mutant (0: the mutant survived every claim).

    Examples
    --------
    >>> ok = ClaimResult("c", "derived", 0, 0, 0, True, 0.1)
    >>> bad = ClaimResult("c", "derived", 0, 1, 0, False, 0.1)
    >>> print(format_kill_matrix({"m-one": [ok], "m-two": [bad]}))
    claim      1  2
    ---------  -  -
    c          .  K
    killed by  0  1
    1: m-one; 2: m-two
    """
    mutants = list(matrix)
    first = matrix[mutants[0]] if mutants else []
    names = [r.name if r is not None else f"({k})" for k, r in enumerate(first)]
    if names_given:
        names = list(names_given)
    head = ["claim", *(str(k + 1) for k in range(len(mutants)))]
    marks = {m: [_mark(r) for r in matrix[m]] for m in mutants}
    rows = [[n, *(marks[m][i] for m in mutants)] for i, n in enumerate(names)]
    rows.append(["killed by", *(str(sum(x in "KE" for x in marks[m])) for m in mutants)])
    legend = "; ".join(f"{k + 1}: {m}" for k, m in enumerate(mutants))
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join([*lines, "", legend])
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    return "\n".join([*lines, *(fmt.format(*row).rstrip() for row in rows), legend])


def _mark(r: ClaimResult | None) -> str:
    if r is None:
        return "-"
    if r.passed:
        return "."
    if "ClaimTimeout" in r.detail:
        return "T"
    return "E" if r.detail.startswith("error:") else "K"
