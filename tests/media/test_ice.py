"""TURN credentials in coturn's REST-API scheme (``use-auth-secret``), and the ICE
configuration each call member and the server's capture peer get.

The browser test (tests/browser/webrtc/test_turn.py) shows a real coturn accepting them."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from signalling.settings import Settings
from signalling.sockets.ice import IceConfig, turn_credentials

SECRET = "coturn-static-auth-secret"


def test_a_credential_matches_an_independent_hmac() -> None:
    # echo -n "1700000000:a-3f2a9c1b" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64
    username, credential = turn_credentials(SECRET, "a-3f2a9c1b", 1_700_000_000)
    assert username == "1700000000:a-3f2a9c1b"  # the expiry first, as coturn reads it
    assert credential == "eusw9Stdlx3AH0zHCUeJUdWdzZ8="
    assert len(base64.b64decode(credential)) == 20  # SHA-1


def test_each_member_gets_a_credential_of_its_own_that_expires() -> None:
    ice = IceConfig(
        stun_urls=("stun:turn.stadt.test:3478",),
        turn_urls=("turn:turn.stadt.test:3478?transport=udp", "turns:turn.stadt.test:5349"),
        turn_secret=SECRET,
        turn_ttl_seconds=3600,
    )
    citizen = ice.servers("a-3f2a9c1b", now=1_700_000_000.7)
    clerk = ice.servers("c-7", now=1_700_000_000.7)
    assert citizen[0] == {"urls": ["stun:turn.stadt.test:3478"]}
    turn = citizen[1]
    assert turn["urls"] == ["turn:turn.stadt.test:3478?transport=udp", "turns:turn.stadt.test:5349"]
    assert turn["username"] == "1700003600:a-3f2a9c1b"  # now + TTL, whole seconds
    assert (turn["username"], turn["credential"]) == turn_credentials(
        SECRET, "a-3f2a9c1b", 1_700_003_600
    )
    assert clerk[1]["username"] == "1700003600:c-7"
    assert clerk[1]["credential"] != turn["credential"]
    later = ice.servers("a-3f2a9c1b", now=1_700_000_060)
    assert later[1]["username"] == "1700003660:a-3f2a9c1b"  # minted anew, not reused
    assert ice.transport_policy == "all"


def test_without_a_secret_there_is_no_turn_entry() -> None:
    ice = IceConfig(stun_urls=("stun:x:3478",), turn_urls=("turn:x:3478",), turn_secret=None)
    assert ice.servers("c-1", now=0) == [{"urls": ["stun:x:3478"]}]
    assert IceConfig().servers("c-1", now=0) == []


def test_the_capture_peer_gets_the_same_servers_with_its_own_credential() -> None:
    ice = IceConfig(turn_urls=("turn:t:3478",), turn_secret=SECRET, relay_only=True)
    [server] = ice.server_peer("capture-peer", now=1_700_000_000)
    assert server.urls == ["turn:t:3478"]
    assert server.username == "1700021600:capture-peer"  # the default TTL: six hours
    assert (server.username, server.credential) == turn_credentials(
        SECRET, "capture-peer", 1_700_021_600
    )
    assert ice.transport_policy == "relay"


def test_relay_only_needs_a_turn_server() -> None:
    with pytest.raises(ValidationError, match="BB_ICE_RELAY_ONLY needs"):
        Settings(_env_file=None, ice_relay_only=True)
    with pytest.raises(ValidationError, match="BB_ICE_RELAY_ONLY needs"):
        Settings(_env_file=None, ice_relay_only=True, turn_urls=["turn:t:3478"])
    settings = Settings(
        _env_file=None, ice_relay_only=True, turn_urls=["turn:t:3478"], turn_secret=SECRET
    )
    assert settings.ice_relay_only
