"""Every packet a client sends gets its documented answer, or the connection closes.

python-socketio and python-engineio are written for well-behaved clients. A plain
websocket can send what they do not expect, and then a command waits for ever or the
connection breaks untidily (docs/protocol.md, "Packets", lists what happens instead):

- An Engine.IO frame a client never sends (not a close, pong, message, upgrade or
  noop: "x", "", "2", "7"). Engine.IO decodes a frame outside its error handling, so
  such a frame ended the websocket handler with an exception: aiohttp then wrote an
  HTTP 500 into the websocket stream, and the session's disconnect ran only after the
  ping timeout. Here it ends the session as a client's close would.
- A Socket.IO packet that does not decode (JSON cut short, an ack id over 100 digits),
  or of a kind a client must not send (connect_error) or that this protocol does not
  use (binary events and acks): python-socketio raised in a background task and the
  client never heard. Here the connection closes, as Node's socket.io server does.
- An event packet whose data is not ``[name, ...args]`` with a string name: python-
  socketio raised before the handler, so a command with an ack id waited for ever.
  Here it is answered ``invalid_payload``.
- An event for a namespace the socket has not joined: dropped with a log line, so its
  ack never came. Here the connection closes (Node's socket.io does the same).
"""

from __future__ import annotations

import contextlib
import logging
import weakref
from collections.abc import Iterable
from typing import Any

import socketio
from engineio import packet as eio_packet
from engineio.async_drivers.aiohttp import WebSocket
from socketio import packet

from signalling.sockets.protocol import INVALID_PAYLOAD

log = logging.getLogger(__name__)

# Engine.IO v4 packet types a client sends: close, pong, message, upgrade, noop.
CLIENT_ENGINEIO_TYPES = frozenset("13456")
# Socket.IO v5 packet types a client of this protocol sends: connect, disconnect,
# event, ack. Never connect_error, and no binary event or ack (nothing here is binary).
CLIENT_SOCKETIO_TYPES = frozenset("0123")


class ClientFramesOnly(WebSocket):  # type: ignore[misc]  # engineio is untyped
    """Engine.IO's aiohttp websocket, ending the session at a frame a client never
    sends: ``None`` is how a closed websocket reads, and Engine.IO then closes the
    session in order (the writer stops, Socket.IO's disconnect handlers run).

    Every open one is known to its server, which closes them all when the node stops
    (see :meth:`ProtocolServer.close_transports`)."""

    async def __call__(self, environ: dict[str, Any]) -> Any:
        open_sockets: weakref.WeakSet[ClientFramesOnly] = self.server.bb_open_websockets
        open_sockets.add(self)
        try:
            return await super().__call__(environ)
        finally:
            open_sockets.discard(self)

    async def wait(self) -> Any:
        data = await super().wait()
        if isinstance(data, str) and data[:1] not in CLIENT_ENGINEIO_TYPES:
            log.info("closing a connection: an Engine.IO frame no client sends")
            return None
        return data


class ProtocolServer(socketio.AsyncServer):  # type: ignore[misc]  # socketio is untyped
    """python-socketio's server, answering or closing where it would stay silent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # python-engineio has no public way to choose the websocket class of a mode;
        # the mode's table is copied (it is shared by every server of the process)
        # with our class in it. tests/signalling/sockets/test_raw_packets.py fails if this stops
        # taking effect.
        self.eio._async = {**self.eio._async, "websocket": ClientFramesOnly}
        self.eio.bb_open_websockets = weakref.WeakSet()

    async def close_transports(self) -> None:
        """Close every websocket now, as a lost connection: clients reconnect at once
        (through the proxy, to another node) and keep their places. Left alone, the
        websockets would hold the node's shutdown until aiohttp gives up on them; and
        an Engine.IO close packet instead would tell a client the server ended the
        session on purpose, after which some clients do not reconnect."""
        open_sockets: weakref.WeakSet[ClientFramesOnly] = self.eio.bb_open_websockets
        for websocket in list(open_sockets):
            with contextlib.suppress(Exception):  # already closing: nothing to do
                await websocket.close()

    async def push(self, sids: Iterable[str], namespace: str, event: str, data: Any) -> None:
        """An event to these sockets of this node: encoded once, then put in each
        socket's send queue. ``emit`` does the same but starts a task per socket and
        waits for them all, which in a fan-out to thousands of waiting citizens cost
        more than the sending itself."""
        encoded = self.packet_class(packet.EVENT, namespace=namespace, data=[event, data])
        frame = eio_packet.Packet(eio_packet.MESSAGE, encoded.encode())
        for sid in sids:
            eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
            if eio_sid is not None:  # gone meanwhile: nothing to tell
                await self.eio.send_packet(eio_sid, frame)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        if not isinstance(data, str) or data[:1] not in CLIENT_SOCKETIO_TYPES:
            await self._close(eio_sid, "a Socket.IO packet this protocol has no use for")
            return
        try:
            await super()._handle_eio_message(eio_sid, data)
        except ValueError:  # does not decode: JSON, ack id, packet type
            await self._close(eio_sid, "a Socket.IO packet that does not decode")

    async def _handle_event(
        self, eio_sid: str, namespace: str | None, id: int | None, data: Any
    ) -> None:
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            await self._close(eio_sid, "an event for a namespace the socket has not joined")
            return
        if not (isinstance(data, list) and data and isinstance(data[0], str)):
            if id is not None:  # a command: it gets its answer
                answer = self.packet_class(
                    packet.ACK, namespace=namespace, id=id, data=[INVALID_PAYLOAD]
                )
                await self._send_packet(eio_sid, answer)
            return
        await super()._handle_event(eio_sid, namespace, id, data)

    async def _close(self, eio_sid: str, why: str) -> None:
        log.info("closing a connection: %s", why)
        await self.eio.disconnect(eio_sid)
