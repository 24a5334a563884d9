"""An ``OAUTH_PROVIDERS`` entry merged over its preset, and the preset placeholders
(``{base_uri}``, ``{tenant}``...) filled from the merged values."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .catalog import PRESETS

#: Provider keys a preset's strings may name as ``{key}``.
PLACEHOLDERS = ("base_uri", "tenant", "realm", "issuer", "user_agent")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


def _fill(value: Any, fill: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: fill.get(m.group(1), m.group(0)), value)
    if isinstance(value, tuple):
        return tuple(_fill(v, fill) for v in value)
    if isinstance(value, Mapping):
        return {k: _fill(v, fill) for k, v in value.items()}
    return value


def merged_values(raw: Mapping[Any, Any]) -> dict[Any, Any]:
    """An ``OAUTH_PROVIDERS`` entry's values over its preset's, the preset's placeholders
    filled from the merged values. An ``identity`` mapping in the entry is merged over
    the preset's (and its ``params`` over the preset's ``params``). An unknown preset
    gives the entry's own values."""
    preset_name = raw.get("preset")
    preset = PRESETS.get(preset_name) if isinstance(preset_name, str) else None
    values: dict[Any, Any] = dict(preset or {})
    values.update((k, v) for k, v in raw.items() if k != "preset")
    if preset is None:
        return values
    fill = {
        name: value.rstrip("/") if name == "base_uri" else value
        for name in PLACEHOLDERS
        if isinstance(value := values.get(name), str) and value
    }
    for key, preset_value in preset.items():
        if key not in raw:
            values[key] = _fill(preset_value, fill)
    own_identity = raw.get("identity")
    preset_identity = preset.get("identity")
    if isinstance(own_identity, Mapping) and isinstance(preset_identity, Mapping):
        identity = {**_fill(preset_identity, fill), **own_identity}
        own_params, preset_params = own_identity.get("params"), preset_identity.get("params")
        if isinstance(own_params, Mapping) and isinstance(preset_params, Mapping):
            identity["params"] = {**preset_params, **own_params}
        values["identity"] = identity
    return values


def unfilled_placeholders(values: Mapping[Any, Any]) -> list[str]:
    """The placeholders (``tenant``, ``realm``...) still unfilled in ``values``."""
    found: set[str] = set()

    def scan(value: object) -> None:
        if isinstance(value, str):
            found.update(_PLACEHOLDER.findall(value))
        elif isinstance(value, (list, tuple)):
            for item in value:
                scan(item)
        elif isinstance(value, Mapping):
            for item in value.values():
                scan(item)

    for value in values.values():
        scan(value)
    return sorted(found)
