"""The database servers of the suite are set up as the README asks sites to set theirs."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from auth_code_flow_django.flow import TokenResponse
from auth_code_flow_django.models import OAuthToken

User = get_user_model()


@pytest.mark.mariadb
def test_mariadb_reads_committed_rows_and_stores_any_unicode(mariadb: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@SESSION.tx_isolation, @@character_set_connection")
        isolation, charset = cursor.fetchone()
    assert (isolation, charset) == ("READ-COMMITTED", "utf8mb4")
    user = User.objects.create_user("alice")
    OAuthToken.objects.store(user, "example", TokenResponse(access_token="t", scope="read 🐙"))
    assert OAuthToken.objects.get().scope == "read 🐙"


@pytest.mark.postgres
def test_postgres_reads_committed_rows_and_stores_any_unicode(postgres: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        (isolation,) = cursor.fetchone()
        cursor.execute("SHOW server_encoding")
        (encoding,) = cursor.fetchone()
    assert (isolation, encoding) == ("read committed", "UTF8")
    user = User.objects.create_user("alice")
    OAuthToken.objects.store(user, "example", TokenResponse(access_token="t", scope="read 🐙"))
    assert OAuthToken.objects.get().scope == "read 🐙"
