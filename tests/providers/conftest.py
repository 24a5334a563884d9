from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses
from django.core.cache import cache

from .steps import configure


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    # JWK Sets and discovery documents are cached: each test sees only its own.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _preset(request: pytest.FixtureRequest) -> None:
    """A preset's module (with its ``DOCUMENTED`` replies) runs with that preset as the
    site's one provider, and what it fetches before its token endpoint served."""
    documented = getattr(request.module, "DOCUMENTED", None)
    if documented is None:
        return
    configure(request.getfixturevalue("settings"), documented.slug, **documented.config)
    if documented.serve is not None:
        mocked: responses.RequestsMock = request.getfixturevalue("mocked")
        documented.serve(mocked)
