"""The jinja2 environment chat templates run in: jinja2's immutable sandbox (no attribute
tricks, no mutation of the caller's data) plus limits on what a template can build, because a
template comes from the model file and one line such as {{ 'a' * 10**10 }} would otherwise take
all memory, and nested loops or recursive macros all CPU time.

Limits, each raising ChatTemplateError:
  - strings and lists a template builds (repetition, +, ~, %, format, join, replace, padding
    filters and methods) hold at most MAX_SIZE characters or items, checked before building;
  - integers from * and ** keep at most MAX_INT_BITS bits;
  - loop iterations and calls together take at most MAX_STEPS per render;
  - the rendered text is at most MAX_SIZE characters;
  - recursive for-loops are refused (their recursion bypasses the iteration count).
"""

from __future__ import annotations

import contextvars
import re
from typing import Any, Iterable, Iterator

from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from .errors import ChatTemplateError

MAX_SIZE = 1 << 24        # characters of a string / items of a list / characters rendered
MAX_INT_BITS = 4096
MAX_STEPS = 250_000       # loop iterations + calls in one render

_steps_left: contextvars.ContextVar[list[int]] = contextvars.ContextVar("chat_template_steps")


def _too_big(what: str, size: int) -> None:
    if size > MAX_SIZE:
        raise ChatTemplateError(f"chat template builds {what} of {size} characters or items "
                                f"(the limit is {MAX_SIZE})")


def _step(n: int = 1) -> None:
    left = _steps_left.get(None)
    if left is None:  # rendering outside render_limited(): count nothing
        return
    left[0] -= n
    if left[0] < 0:
        raise ChatTemplateError(f"chat template runs more than {MAX_STEPS} loop iterations and calls")


def _size(x: Any) -> int:
    return len(x) if isinstance(x, (str, list, tuple)) else len(str(x))


_SPEC_NUMBERS = re.compile(r"\d+")


def _format_size(fmt: str, args: Iterable[Any]) -> int:
    """An upper bound on what printf- or str.format-style formatting of `fmt` can produce:
    every number in the format (widths, precisions) may become that many characters, '*' and
    nested '{}' widths come from the arguments."""
    args = list(args)
    size = len(fmt) + sum(int(n) for n in _SPEC_NUMBERS.findall(fmt))
    size += sum(_size(a) for a in args)
    if "*" in fmt or "{" in fmt:
        size += sum(a for a in args if isinstance(a, int) and a > 0)
    return size


def _replace_size(s: str, old: str, new: str, count: int = -1) -> int:
    hits = s.count(old) if old else len(s) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    return len(s) + hits * len(new)


# Size of the result of the str methods that can grow a string, from (string, *args).
_STR_METHODS = {
    "center": lambda s, width=0, *_: max(len(s), int(width)),
    "ljust": lambda s, width=0, *_: max(len(s), int(width)),
    "rjust": lambda s, width=0, *_: max(len(s), int(width)),
    "zfill": lambda s, width=0, *_: max(len(s), int(width)),
    "expandtabs": lambda s, tabsize=8: len(s) * max(1, int(tabsize)),
    "replace": _replace_size,
    "join": lambda s, items: sum(_size(x) for x in items) + len(s) * max(0, len(items) - 1),
}


def _guard_filter(env, name: str, size) -> None:
    """Make filter `name` refuse arguments whose result would exceed MAX_SIZE."""
    original = env.filters[name]

    def guarded(*args, **kwargs):
        _too_big(f"a '{name}' result", size(*args, **kwargs))
        return original(*args, **kwargs)

    for attr in ("jinja_pass_arg",):  # keep the eval-context / context passing marks
        if hasattr(original, attr):
            setattr(guarded, attr, getattr(original, attr))
    env.filters[name] = guarded


def _indent_size(s, width=4, first=False, blank=False):
    pad = len(width) if isinstance(width, str) else int(width)
    return len(str(s)) + (str(s).count("\n") + 1) * pad


class _BoundLoops(NodeTransformer):
    """Rewrite every for-loop to iterate through environment.bounded_iter, and every `~`
    concatenation to go through environment.bounded_concat."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        if node.recursive:
            raise ChatTemplateError("chat template uses a recursive for-loop, which is not supported")
        self.generic_visit(node)
        node.iter = nodes.Call(nodes.EnvironmentAttribute("bounded_iter"), [node.iter], [], None, None,
                               lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Call:
        self.generic_visit(node)
        return nodes.Call(nodes.EnvironmentAttribute("bounded_concat"), node.nodes, [], None, None,
                          lineno=node.lineno)


class LimitedEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options):
        super().__init__(**options)
        _guard_filter(self, "center", lambda s, width=80: max(len(str(s)), int(width)))
        _guard_filter(self, "indent", _indent_size)
        _guard_filter(self, "batch", lambda value, linecount, *_: int(linecount))
        _guard_filter(self, "slice", lambda value, slices, *_: int(slices))
        _guard_filter(self, "format", lambda value, *args, **kw: _format_size(str(value), [*args, *kw.values()]))
        _guard_filter(self, "join", lambda ctx, value, d="", attribute=None:
                      sum(_size(x) for x in value) + len(str(d)) * max(0, len(value) - 1)
                      if isinstance(value, (list, tuple, str)) else 0)
        _guard_filter(self, "replace", lambda ctx, s, old, new, count=None:
                      _replace_size(str(s), str(old), str(new), -1 if count is None else int(count)))
        _guard_filter(self, "tojson", lambda ctx, value, indent=None:
                      len(indent) if isinstance(indent, str) else int(indent or 0))

    def _parse(self, source, name, filename):
        return _BoundLoops().visit(super()._parse(source, name, filename))

    @staticmethod
    def bounded_iter(iterable: Iterable[Any]) -> Iterator[Any]:
        for item in iterable:
            _step()
            yield item

    @staticmethod
    def bounded_concat(*parts: Any) -> str:
        strings = [str(p) for p in parts]
        _too_big("a string", sum(map(len, strings)))
        return "".join(strings)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (jinja2's signature)
        _step()
        owner = getattr(__obj, "__self__", None)
        grow = _STR_METHODS.get(getattr(__obj, "__name__", ""))
        if isinstance(owner, str) and grow is not None:
            if __obj.__name__ == "join":
                args = (list(args[0]),) + args[1:] if args else args
            _too_big(f"a str.{__obj.__name__} result", grow(owner, *args, **kwargs))
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value):
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        def checked(*args, **kwargs):
            values = [*args, *kwargs.values()]
            if len(args) == 1 and isinstance(args[0], dict) and not kwargs:  # format_map
                values = list(args[0].values())
            _too_big("a formatted string", _format_size(fmt, values))
            return wrapped(*args, **kwargs)

        return checked

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
                    _too_big("a repeated sequence", len(seq) * max(n, 0))
            if isinstance(left, int) and isinstance(right, int):
                self._check_int_bits(left.bit_length() + right.bit_length())
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                self._check_int_bits(max(left.bit_length(), 1) * right)
        elif operator == "+":
            if isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
                _too_big("a concatenation", len(left) + len(right))
        elif operator == "%" and isinstance(left, str):
            values = right if isinstance(right, tuple) else (
                list(right.values()) if isinstance(right, dict) else (right,))
            _too_big("a formatted string", _format_size(left, values))
        return super().call_binop(context, operator, left, right)

    @staticmethod
    def _check_int_bits(bits: int) -> None:
        if bits > MAX_INT_BITS:
            raise ChatTemplateError(f"chat template computes an integer of about {bits} bits "
                                    f"(the limit is {MAX_INT_BITS})")


def render_limited(template, **variables) -> str:
    """Render a template of a LimitedEnvironment within the step and output-size limits."""
    token = _steps_left.set([MAX_STEPS])
    try:
        out, size = [], 0
        for piece in template.generate(**variables):
            size += len(piece)
            _too_big("rendered text", size)
            out.append(piece)
        return "".join(out)
    finally:
        _steps_left.reset(token)
