from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # JWK Sets and discovery documents are cached: each test sees only its own.
    cache.clear()
    yield
    cache.clear()
