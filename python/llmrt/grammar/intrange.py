"""GBNF for the decimal integers in [lo, hi] (either bound may be None), no leading zeros."""

from __future__ import annotations


def _fixed(a: str, b: str) -> str:
    """Digit strings of one length between a and b inclusive (leading zeros allowed)."""
    if a == b:
        return f'"{a}"'
    i = 0
    while a[i] == b[i]:
        i += 1
    pre, a, b = a[:i], a[i:], b[i:]
    n = len(a)
    if n == 1:
        body = f"[{a}-{b}]"
    elif a[1:] == "0" * (n - 1) and b[1:] == "9" * (n - 1):
        body = f"[{a[0]}-{b[0]}] [0-9]{{{n - 1}}}"
    else:
        alts = [f'"{a[0]}" ' + _fixed(a[1:], "9" * (n - 1))]
        if int(b[0]) - int(a[0]) > 1:
            alts.append(f"[{int(a[0]) + 1}-{int(b[0]) - 1}] [0-9]{{{n - 1}}}")
        alts.append(f'"{b[0]}" ' + _fixed("0" * (n - 1), b[1:]))
        body = "(" + " | ".join(alts) + ")"
    return (f'"{pre}" ' if pre else "") + body


def _uint(lo: int, hi: int | None) -> list[str]:
    alts = []
    top = len(str(hi)) if hi is not None else len(str(lo))
    for n in range(len(str(lo)), top + 1):
        a = max(lo, 10 ** (n - 1) if n > 1 else 0)
        b = 10 ** n - 1 if hi is None else min(hi, 10 ** n - 1)
        if a <= b:
            alts.append(_fixed(str(a), str(b)))
    if hi is None:
        alts.append(f"[1-9] [0-9]{{{len(str(lo))},}}")
    return alts


def int_range_gbnf(lo: int | None, hi: int | None) -> str:
    alts = []
    if hi is None or hi >= 0:
        alts += _uint(max(lo, 0) if lo is not None else 0, hi)
    if lo is None or lo < 0:
        mlo = -hi if hi is not None and hi < 0 else 1
        mhi = None if lo is None else -lo
        alts += ['"-" ' + a for a in _uint(mlo, mhi)]
    return " | ".join(f"({a})" for a in alts)
