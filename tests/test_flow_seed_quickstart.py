"""The seed package's Stack Exchange quick-start, run as written.

Only the import line differs from the seed README; the provider is mocked with
``responses`` at Stack Exchange's real endpoints.
"""

from __future__ import annotations

import json
from collections import defaultdict
from urllib.parse import parse_qs, urlsplit

import responses

from auth_code_flow_django.flow import AbstractBaseFlowManager, code_challenge_s256

STORE: defaultdict[object, dict[str, str]] = defaultdict(dict)


# --- from the seed README, unchanged but for the import line -------------------------
class StackExchangeFlowManager(AbstractBaseFlowManager):
    access_token_path = "/oauth/access_token/json"
    authorization_path = "/oauth"
    base_uri = "https://stackoverflow.com"
    client_id = "your stack exchange client id"
    client_secret = "your stack exchange client secret"
    redirect_uri = "http://localhost:8000/oauth/callback/stackexchange"
    scope = "no_expiry"

    def store_user_state(self, user, state):  # type: ignore[no-untyped-def]
        STORE[user]["state"] = state

    def check_user_state(self, user, state):  # type: ignore[no-untyped-def]
        try:
            return STORE[user]["state"] == state
        except KeyError:
            return False


stack_exchange_flow_manager = StackExchangeFlowManager()
# ----------------------------------------------------------------------------------


@responses.activate
def test_seed_quickstart_runs_end_to_end_with_pkce_and_a_form_body() -> None:
    user = "alice"
    token_call = responses.post(
        "https://stackoverflow.com/oauth/access_token/json",
        json={"access_token": "yJNAvcyD120SY6lzBDkrWw))"},
    )

    state = stack_exchange_flow_manager.make_state()
    stack_exchange_flow_manager.store_user_state(user, state)
    authorization_endpoint = stack_exchange_flow_manager.get_authorization_endpoint(state)

    url = urlsplit(authorization_endpoint)
    assert (url.scheme, url.netloc, url.path) == ("https", "stackoverflow.com", "/oauth")
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert params["state"] == state
    assert params["scope"] == "no_expiry"
    assert params["code_challenge_method"] == "S256"

    # What Stack Exchange would redirect back with.
    code = "code-from-stack-exchange"
    resp = stack_exchange_flow_manager.fetch_access_token(user, code, state, post_form_data=True)
    resp_json = resp.json()

    assert resp_json == {"access_token": "yJNAvcyD120SY6lzBDkrWw))"}
    request = token_call.calls[0].request
    body = {k: v[0] for k, v in parse_qs(str(request.body)).items()}
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Accept"] == "application/json"
    assert "state" not in body
    assert body["code"] == code
    assert code_challenge_s256(body["code_verifier"]) == params["code_challenge"]
    assert state not in body["code_verifier"]


@responses.activate
def test_seed_quickstart_default_call_is_form_encoded_too() -> None:
    token_call = responses.post(
        "https://stackoverflow.com/oauth/access_token/json",
        json={"access_token": "tok"},
    )
    state = stack_exchange_flow_manager.make_state()
    stack_exchange_flow_manager.store_user_state("bob", state)
    stack_exchange_flow_manager.fetch_access_token("bob", "c", state)
    request = token_call.calls[0].request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(str(request.body))["grant_type"] == ["authorization_code"]


@responses.activate
def test_seed_post_form_data_false_still_sends_json_for_legacy_providers() -> None:
    token_call = responses.post(
        "https://stackoverflow.com/oauth/access_token/json", json={"access_token": "tok"}
    )
    state = stack_exchange_flow_manager.make_state()
    stack_exchange_flow_manager.store_user_state("carol", state)
    stack_exchange_flow_manager.fetch_access_token("carol", "c", state, post_form_data=False)
    request = token_call.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body or b"{}")["code"] == "c"
