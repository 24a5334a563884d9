"""The form of this app's check ids: ``auth_code_flow_django.E001``..."""

from __future__ import annotations


def check_id(number: int) -> str:
    return f"auth_code_flow_django.E{number:03d}"
