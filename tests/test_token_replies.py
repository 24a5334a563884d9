from __future__ import annotations

import pytest

from auth_code_flow_django.token_replies import MAX_JSON_DEPTH, json_too_deep


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{}", False),
        ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, False),
        ("[" * (MAX_JSON_DEPTH + 1), True),
        ("[]" * 10_000, False),  # many brackets, never deep
        ('{"a": "' + "[" * 100 + '"}', False),  # brackets in a string do not nest
        ('{"a": "\\"' + "[" * 100 + '"}', False),  # nor after an escaped quote
        ("{" * 20 + "[" * 20, True),  # arrays and objects count together
    ],
)
def test_json_too_deep(text: str, expected: bool) -> None:
    assert json_too_deep(text) is expected
