"""Chat templates come from model files: whatever a template does, rendering ends quickly with
text or a ChatTemplateError, never with the process out of memory or spinning."""

import time

import pytest

import llmrt
from llmrt import chat
from llmrt.chat_sandbox import MAX_SIZE

MESSAGES = [{"role": "user", "content": "hi"}]

HOSTILE = {
    "string repetition": "{{ 'a' * 10**10 }}",
    "list repetition": "{{ [1] * 10**10 }}",
    "chained repetition": "{{ 'x' * 5000 * 5000 }}",
    "doubling with ~": "{% set ns = namespace(s='a') %}{% for i in range(60) %}"
                       "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "doubling with +": "{% set ns = namespace(s='a') %}{% for i in range(60) %}"
                       "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
    "squaring integers": "{% set ns = namespace(x=3) %}{% for i in range(40) %}"
                         "{% set ns.x = ns.x * ns.x %}{% endfor %}{{ ns.x }}",
    "huge power": "{{ 7 ** 1000000 }}",
    "nested loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "exponential macro": "{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}"
                         "{% endmacro %}{{ f(60) }}",
    "recursive loop": "{% for x in [1] recursive %}{{ loop([1, 1]) }}{% endfor %}",
    "printf width": "{{ '%999999999999d' % 1 }}",
    "printf star width": "{{ '%*d' % (10**10, 1) }}",
    "format width": "{{ '{:99999999999}'.format(1) }}",
    "format filter width": "{{ '%99999999999s'|format('x') }}",
    "center method": "{{ 'a'.center(10**11) }}",
    "center filter": "{{ 'a'|center(10**11) }}",
    "batch filter": "{{ [1]|batch(10**10, 'x')|list }}",
    "replace method": "{{ ('x' * 1000000).replace('', 'x' * 100000) }}",
    "join method": "{{ ','.join(['x' * 10000000] * 100) }}",
    "tojson indent": "{{ {'a': 1}|tojson(indent=10**10) }}",
    "expandtabs": "{{ 'a\tb'.expandtabs(10**10) }}",
    "output size": "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
}


@pytest.mark.parametrize("template", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_template_raises_chat_template_error_quickly(template):
    start = time.perf_counter()
    with pytest.raises(llmrt.ChatTemplateError):
        chat.render(template, MESSAGES)
    assert time.perf_counter() - start < 5


def test_templates_within_the_limits_render():
    assert chat.render("{{ 'ab' * 3 }}{{ [1, 2] * 2 }}", MESSAGES) == "ababab[1, 2, 1, 2]"
    assert chat.render("{{ '%5d|' % 42 }}{{ '{:>4}'.format('x') }}", MESSAGES) == "   42|   x"
    assert chat.render("{% for m in messages %}{{ m.role ~ ':' ~ m.content }}{% endfor %}",
                       MESSAGES) == "user:hi"
    big = "y" * (MAX_SIZE // 2)
    assert chat.render("{{ messages[0].content }}", [{"role": "user", "content": big}]) == big


@pytest.mark.parametrize("messages", [None, "hi", {"role": "user", "content": "x"}, [None], [["user", "x"]]])
def test_malformed_messages_raise_chat_template_error(messages):
    with pytest.raises(llmrt.ChatTemplateError):
        chat.render(None, messages)


def test_chat_template_error_is_exported():
    assert llmrt.ChatTemplateError is chat.ChatTemplateError
    assert issubclass(llmrt.ChatTemplateError, llmrt.LLMRTError)
