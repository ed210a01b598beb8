"""ICE servers for the browsers, with TURN credentials in coturn's REST-API scheme.

coturn's ``use-auth-secret`` mode: the username is ``<expiry unix time>:<user>``, the
password is base64(HMAC-SHA1(shared secret, username)). The server and coturn share
the secret; a credential stops working at its expiry without any revocation list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiortc import RTCIceServer


@dataclass(frozen=True)
class IceConfig:
    stun_urls: Sequence[str] = ()
    turn_urls: Sequence[str] = ()
    turn_secret: str | None = None
    turn_ttl_seconds: int = 6 * 3600
    # Every browser connection (the call and the capture) only through TURN: no
    # member learns another's address, and a home network sees only the town's TURN.
    relay_only: bool = False

    @property
    def transport_policy(self) -> str:
        """The browsers' ``iceTransportPolicy``."""
        return "relay" if self.relay_only else "all"

    def server_peer(self, user: str, now: float) -> list[RTCIceServer]:
        """The same servers for the server's own capture peer (aiortc), with a
        credential of its own: it can meet a relay-only browser at the TURN server
        even when it cannot be reached directly."""
        return [
            RTCIceServer(
                urls=server["urls"],
                username=server.get("username"),
                credential=server.get("credential"),
            )
            for server in self.servers(user, now)
        ]

    def servers(self, user: str, now: float) -> list[dict[str, Any]]:
        """The ``iceServers`` list for one call member."""
        servers: list[dict[str, Any]] = []
        if self.stun_urls:
            servers.append({"urls": list(self.stun_urls)})
        if self.turn_urls and self.turn_secret:
            username, credential = turn_credentials(
                self.turn_secret, user, int(now) + self.turn_ttl_seconds
            )
            servers.append(
                {"urls": list(self.turn_urls), "username": username, "credential": credential}
            )
        return servers


def turn_credentials(secret: str, user: str, expires_at: int) -> tuple[str, str]:
    username = f"{expires_at}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
