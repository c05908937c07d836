"""The ARM expression tokenizer (one regular expression) agrees with the character loop it replaced.

The loop below is the earlier implementation, kept as the reference: tokens (kind, text, column, value) and
error messages must be the same for any text, including unterminated and doubled quotes and lone minus signs.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance_checks.sources.arm_expressions import ExpressionError, Token, _quote, tokenize

# The character classes of the reference loop (the tokenizer itself spells them in its regular expression).
_DIGITS = frozenset("0123456789")
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_REST = _IDENT_START | _DIGITS
_PUNCTUATION = frozenset("(),.[]")


def reference_tokenize(text: str) -> list[Token]:
    """Split an expression (without its outer brackets) into tokens."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in " \t\r\n":
            i += 1
        elif char in _PUNCTUATION:
            tokens.append(Token(char, char, i + 1))
            i += 1
        elif char == "'":
            start, j, parts = i, i + 1, []
            while True:
                end = text.find("'", j)
                if end < 0:
                    raise ExpressionError(f"unterminated string starting at column {start + 1}")
                parts.append(text[j:end])
                if end + 1 < n and text[end + 1] == "'":
                    parts.append("'")
                    j = end + 2
                    continue
                i = end + 1
                break
            tokens.append(Token("string", text[start:i], start + 1, "".join(parts)))
        elif char in _DIGITS or (char == "-" and i + 1 < n and text[i + 1] in _DIGITS):
            start, i = i, i + 1
            while i < n and text[i] in _DIGITS:
                i += 1
            literal = text[start:i]
            if len(literal) > 19:
                raise ExpressionError(f"number {_quote(literal)} at column {start + 1} is too long")
            tokens.append(Token("int", literal, start + 1, int(literal)))
        elif char in _IDENT_START:
            start, i = i, i + 1
            while i < n and text[i] in _IDENT_REST:
                i += 1
            tokens.append(Token("ident", text[start:i], start + 1, text[start:i]))
        else:
            raise ExpressionError(f"unexpected character {_quote(char)} at column {i + 1}")
    tokens.append(Token("end", "", n + 1))
    return tokens


def _tokens(function: Any, text: str) -> Any:
    try:
        return [(t.kind, t.text, t.position, t.value) for t in function(text)]
    except ExpressionError as exc:
        return ("error", str(exc))


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab_19-'(),.[] \t\né$", max_size=16))
def test_tokens_and_errors_equal_the_reference(text: str) -> None:
    assert _tokens(tokenize, text) == _tokens(reference_tokenize, text)


def test_real_expressions_tokenize_alike() -> None:
    for text in (
        "resourceId('Microsoft.Network/virtualNetworks', parameters('name'))",
        "concat('a''b', variables('x')[0].y, -12)",
        "'unterminated",
        "'a'''",
        "1234567890123456789012",
    ):
        assert _tokens(tokenize, text) == _tokens(reference_tokenize, text)
