"""String atoms -> GBNF: value sets, exclusions, lengths, one pattern, formats.

Expressions here match a whole JSON string token, quotes included, as written by a JSON
encoder: characters that must be escaped appear escaped, others may appear raw or as \\u
escapes (lengths count decoded characters). Formats are asserted (JSON Schema 2020-12 treats
them as annotations by default; asserting only narrows the language). Supported formats:
date, time, date-time, duration, email, hostname, ipv4, ipv6, uri, uuid.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re

from ..regex import regex_to_gbnf_body
from .model import Str, Undecidable, str_ok

_DATE = (r'( [1-9] [0-9]{3} "-" ( ( "0" [13578] | "1" [02] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] )'
         r' | ( "0" [469] | "11" ) "-" ( "0" [1-9] | [12] [0-9] | "30" )'
         r' | "02-" ( "0" [1-9] | "1" [0-9] | "2" [0-8] ) )'
         r' | ( [1-9] [0-9] ( [02468] [48] | [13579] [26] | [2468] "0" )'
         r' | ( [13579] [26] | [2468] [048] ) "00" ) "-02-29" )')
_TIME = (r'( [01] [0-9] | [2] [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,9} )? '
         r'( "Z" | ( "+" | "-" ) ( [01] [0-9] | [2] [0-3] ) ":" [0-5] [0-9] )')
_OCTET = r'( "25" [0-5] | "2" [0-4] [0-9] | "1" [0-9] [0-9] | [1-9] [0-9] | [0-9] )'
_IPV4 = f'{_OCTET} "." {_OCTET} "." {_OCTET} "." {_OCTET}'
_LABEL = r'[a-zA-Z0-9] ( [a-zA-Z0-9-]{0,61} [a-zA-Z0-9] )?'
_H16 = "[0-9a-fA-F]{1,4}"


def _ipv6() -> str:
    """RFC 3986's IPv6address: n groups before '::' and m after, with an IPv4 tail option."""
    def groups(n):      # n x (h16 ":")
        return " ".join([f'{_H16} ":"'] * n)
    ls32 = f'( {_H16} ":" {_H16} | {_IPV4} )'
    alts = [f"{groups(6)} {ls32}"]
    tails = [f"{groups(5)} {ls32}", f"{groups(4)} {ls32}", f"{groups(3)} {ls32}",
             f"{groups(2)} {ls32}", f"{groups(1)} {ls32}", ls32, _H16, '""']
    for i, tail in enumerate(tails):
        head = '""' if i == 0 else f'( ( {_H16} ":" ){{0,{i - 1}}} {_H16} )?'
        alts.append(f'{head} "::" {tail}')
    return "( " + " | ".join(f"( {a} )" for a in alts) + " )"


_DUR_TIME = ('"T" ( [0-9]+ "H" ( [0-9]+ "M" ( [0-9]+ "S" )? )? | [0-9]+ "M" ( [0-9]+ "S" )? '
             '| [0-9]+ "S" )')
_DUR_DATE = ('( [0-9]+ "Y" ( [0-9]+ "M" ( [0-9]+ "D" )? )? | [0-9]+ "M" ( [0-9]+ "D" )? '
             '| [0-9]+ "D" )')
_EMAIL_ATOM = "[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+"

FORMATS = {
    "date": _DATE,
    "time": _TIME,
    "date-time": _DATE + ' "T" ' + _TIME,
    "duration": f'"P" ( {_DUR_DATE} ( {_DUR_TIME} )? | {_DUR_TIME} | [0-9]+ "W" )',
    "uuid": r'[0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" '
            r'[0-9a-fA-F]{12}',
    "ipv4": _IPV4,
    "ipv6": _ipv6(),
    # at most 4 labels of at most 61 characters: well under the 253-character limit
    "hostname": f'{_LABEL.replace("61", "59")} ( "." {_LABEL.replace("61", "59")} ){{0,3}}',
    "email": f'{_EMAIL_ATOM} ( "." {_EMAIL_ATOM} )* "@" '
             f'{_LABEL.replace("61", "59")} ( "." {_LABEL.replace("61", "59")} ){{0,3}}',
    "uri": r'[a-zA-Z] [a-zA-Z0-9+.-]* ":" ( [a-zA-Z0-9._~!$&' + "'" +
           r'()*+,;=:@/?-] | "%" [0-9a-fA-F] [0-9a-fA-F] )*',
}

_PY_FORMATS = {
    "uuid": re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
    "hostname": re.compile(r"(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                           r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*"),
    "duration": re.compile(r"P(?=.)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?"),
    "uri": re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:([a-zA-Z0-9._~!$&'()*+,;=:@/?-]|%[0-9a-fA-F]{2})*"),
}


def format_ok(fmt: str, s: str) -> bool:
    """Whether s is in the format's language (used to filter enum values against a format)."""
    try:
        if fmt == "date":
            return bool(re.fullmatch(r"\d{4}-\d\d-\d\d", s)) and bool(datetime.date.fromisoformat(s))
        if fmt in ("time", "date-time"):
            return _accepts_grammar(fmt, s)
        if fmt == "ipv4":
            return bool(re.fullmatch(r"[0-9.]+", s)) and bool(ipaddress.IPv4Address(s))
        if fmt == "ipv6":
            return ":" in s and bool(ipaddress.IPv6Address(s)) and "%" not in s
        if fmt == "email":
            local, _, host = s.rpartition("@")
            return bool(local) and _PY_FORMATS["hostname"].fullmatch(host) is not None
    except ValueError:
        return False
    rx = _PY_FORMATS.get(fmt)
    return rx is not None and rx.fullmatch(s) is not None


def _accepts_grammar(fmt: str, s: str) -> bool:
    from .. import Grammar
    return Grammar.from_gbnf(f"root ::= {FORMATS[fmt]}\n").accepts(s)


def json_lits(s: str) -> list[str]:
    """GBNF literals for the JSON encodings of s (raw non-ASCII and \\u-escaped)."""
    from .emit import lit
    forms = dict.fromkeys([json.dumps(s, ensure_ascii=False), json.dumps(s)])
    return [lit(f) for f in forms]


def str_expr(em, a: Str) -> str:
    """A GBNF expression for the JSON string tokens of atom a (quotes, no trailing space)."""
    if a.values is not None:
        alts = [x for v in sorted(a.values) if str_ok(a, v) for x in json_lits(v)]
        return " | ".join(alts) if alts else em.NEVER
    excluded = sorted(v for v in a.excluded if str_ok(Str(a.min_len, a.max_len, a.patterns,
                                                          a.formats), v))
    pats = list(dict.fromkeys(a.patterns))
    fmts = list(dict.fromkeys(a.formats))
    lengths = a.min_len > 0 or a.max_len is not None
    if excluded:
        if pats or fmts or lengths:
            raise Undecidable("excluded strings combined with pattern, format or length")
        return not_strings(excluded)
    if fmts and (pats or lengths):     # format is an annotation: the assertions win
        em.warnings.append(f"format {fmts[0]!r} not asserted beside pattern/length")
        fmts = []
    if pats and lengths:
        pats = [_with_lengths(pats[0], a.min_len, a.max_len)]
        lengths = False
    if len(pats) > 1:
        raise Undecidable("more than one pattern on one string")
    if pats:
        try:
            return '"\\"" ' + regex_to_gbnf_body(pats[0]) + ' "\\""'
        except Exception as e:
            raise Undecidable(str(e)) from None
    if fmts:
        if fmts[0] not in FORMATS:
            raise Undecidable(f"format {fmts[0]!r}")
        return '"\\"" ' + FORMATS[fmts[0]] + ' "\\""'
    if not lengths:
        return "string-body"
    rep = f"{{{a.min_len},}}" if a.max_len is None else f"{{{a.min_len},{a.max_len}}}"
    return f'"\\"" char{rep} "\\""'


_ONE_REPEAT = re.compile(r"\^(\[(?:\\.|[^\]\\])*\]|\\.|[^\\\[\](){}|*+?.^$])"
                         r"(?:([*+])|\{(\d+)(?:(,)(\d*))?\})\$")


def _with_lengths(p: str, lo: int, hi) -> str:
    """A pattern equal to p restricted to lengths lo..hi: p itself when its matches already
    satisfy them, or `^X{m,n}$` for a pattern `^X+$` / `^X*$` / `^X{a,b}$` of one character X."""
    try:
        parsed = re._parser.parse(p)
        wmin, wmax = parsed.getwidth()
    except Exception as e:
        raise Undecidable(f"pattern {p!r}: {e}") from None
    items = list(parsed)
    at = re._constants.AT
    anchored = (len(items) >= 2 and items[0] == (at, re._constants.AT_BEGINNING)
                and items[-1] == (at, re._constants.AT_END) and p.endswith("$"))
    if wmax >= re._constants.MAXREPEAT:
        wmax = None
    if lo <= wmin and (hi is None or (anchored and wmax is not None and wmax <= hi)):
        return p
    m = _ONE_REPEAT.fullmatch(p)
    if m:
        atom, star, a, comma, b = m.groups()
        q_lo = {"*": 0, "+": 1}[star] if star else int(a)
        q_hi = None if star or (comma and not b) else int(b) if comma else int(a)
        n_lo = max(q_lo, lo)
        n_hi = hi if q_hi is None else q_hi if hi is None else min(q_hi, hi)
        if n_hi is None:
            return f"^{atom}{{{n_lo},}}$"
        if n_lo <= n_hi:
            return f"^{atom}{{{n_lo},{n_hi}}}$"
    raise Undecidable(f"pattern {p!r} with minLength/maxLength")


def _class_escape(c: str) -> str:
    if c in "\\]^-[\"" or ord(c) < 0x20 or ord(c) == 0x7F:
        return f"\\x{ord(c):02X}"
    return c


def not_strings(values: list[str]) -> str:
    """A JSON string token whose decoded value is none of `values`. At a position where some
    excluded value continues, \\u escapes are not offered (they could spell that character)."""
    from .emit import lit
    trie: dict = {}
    for v in values:
        node = trie
        for ch in v:
            node = node.setdefault(ch, {})
        node[""] = True
    simple = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n",
              "\r": "\\r", "\t": "\\t"}

    def node_rule(node) -> str:
        chars = sorted(c for c in node if c)
        alts = []
        if chars:
            excl = "".join(_class_escape(c) for c in chars)
            alts.append(f'[^"\\\\\\x7F\\x00-\\x1F{excl}] char*')
            esc = [e for c, e in simple.items() if c not in chars]
            alts.append("(" + " | ".join(lit(e) for e in esc) + ") char*")
            for c in chars:
                enc = json.dumps(c, ensure_ascii=False)[1:-1]
                alts.append(f"{lit(enc)} {node_rule(node[c])}")
        else:
            alts.append("char+")
        if "" not in node:
            alts.append('""')
        return "(" + " | ".join(alts) + ")"
    return '"\\"" ' + node_rule(trie) + ' "\\""'
