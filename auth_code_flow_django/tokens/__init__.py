"""Using stored tokens: get a valid access token, call an API, revoke.

One mechanism guards every use of a refresh token, on every database: a **claim**.
Whoever wants to refresh (or remove) a connection first writes its claim on the row
with one conditional ``UPDATE``, which SQLite, PostgreSQL and MySQL/MariaDB all
serialise, and commits it at once. Only the claim's holder calls the provider; the
others wait for the row to change and read the new token. No database lock is held
while the provider answers, and the claim expires if its holder dies.

The claim and the new token are committed on their own, whatever the caller's
transaction does: inside ``atomic()`` or ``ATOMIC_REQUESTS`` the refresh runs on a
connection of its own, so a later rollback cannot bring back a refresh token the
provider has already replaced.

The names here are the package's public ones. They live in modules named for what they
hold, each importing only the ones listed after it:

- ``sessions``: ``authorized_session()`` and ``OAuthSession``, calling the API;
- ``connecting``: ``connect()``, storing a new connection after the callback;
- ``refreshing``: ``get_access_token()``, ``refresh()`` and the background command's
  ``refresh_read()``;
- ``accounts``: who is connected (``identify()``, ``fetch_account()``);
- ``api_urls``: where a token may be sent (``check_api_url()``);
- ``revocation``: ``revoke()``, and revoking every removed connection at the provider;
- ``claims``: the claim on the row;
- ``transactions``: committing on a connection of its own;
- ``rows``: reading and writing the row.
"""

from __future__ import annotations

from .accounts import fetch_account, identify
from .api_urls import check_api_url as check_api_url
from .api_urls import connection_api_base as connection_api_base
from .claims import ClaimedElsewhere as ClaimedElsewhere
from .connecting import connect
from .refreshing import get_access_token, refresh
from .refreshing import refresh_read as refresh_read
from .revocation import connect_signals as connect_signals
from .revocation import revoke
from .rows import POLL_SECONDS as POLL_SECONDS
from .sessions import BearerAuth as BearerAuth
from .sessions import OAuthSession, authorized_session

__all__ = [
    "OAuthSession",
    "authorized_session",
    "connect",
    "fetch_account",
    "get_access_token",
    "identify",
    "refresh",
    "revoke",
]
