"""Loopback ICE candidates for tests in a network namespace with only loopback.

aioice 0.13 never gathers 127.0.0.1, so there a peer's answer would carry no
candidates at all. Never used in production (the setting is refused there).
"""

from __future__ import annotations

from aioice import Candidate, Connection
from aiortc import RTCPeerConnection

LOOPBACK = "127.0.0.1"


def include_loopback_candidates(pc: RTCPeerConnection) -> None:
    """Make ``pc`` gather a host candidate on 127.0.0.1 as well. Tests only.

    Call it after the transceivers exist (after ``setRemoteDescription`` on an
    answerer, after ``addTransceiver`` on an offerer) and before
    ``setLocalDescription``, which is where aiortc gathers.

    Why a patch: aioice's ``get_host_addresses`` drops 127.0.0.1 and neither
    aioice's ``Connection`` nor aiortc's ``RTCConfiguration`` has a parameter to
    add addresses. Patching that module function would change every peer in the
    process; instead this wraps ``get_component_candidates`` (which
    ``Connection.gather_candidates`` calls through ``self``) on this peer's own
    ICE connections only. The one private attribute used is aiortc's
    ``RTCIceGatherer._connection``.
    """
    connections: dict[int, Connection] = {}
    for transceiver in pc.getTransceivers():
        gatherer = transceiver.receiver.transport.transport.iceGatherer
        connections[id(gatherer._connection)] = gatherer._connection
    if pc.sctp is not None:
        gatherer = pc.sctp.transport.transport.iceGatherer
        connections[id(gatherer._connection)] = gatherer._connection
    for connection in connections.values():
        _wrap_with_loopback(connection)


def _wrap_with_loopback(connection: Connection) -> None:
    original = connection.get_component_candidates

    async def with_loopback(
        component: int,
        addresses: list[str],
        timeout: int = 5,  # noqa: ASYNC109 - aioice's own signature, passed through
    ) -> list[Candidate]:
        if LOOPBACK not in addresses:
            addresses = [*addresses, LOOPBACK]
        return await original(component=component, addresses=addresses, timeout=timeout)

    connection.get_component_candidates = with_loopback  # type: ignore[method-assign]
