"""A citizen's aiortc peer for capture tests, with a synthetic camera that shows each
frame's index: four coloured quadrants and, across the middle, the index as eight black
or white blocks. Reading the index back from the server's newest frame shows that the
content arrived and that the server holds a fresh frame, not a backlog."""

from __future__ import annotations

import asyncio
import functools

import numpy as np
import numpy.typing as npt
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import VideoStreamTrack
from av import VideoFrame

from media.loopback import include_loopback_candidates

Image = npt.NDArray[np.uint8]

HD = (1280, 720)
SMALL = (320, 240)  # encoding in Python is slow (~0.1 s a 720p frame): small where size is moot
BITS = 8
QUADRANTS = ((40, 60, 200), (40, 180, 60), (200, 80, 40), (60, 200, 220))  # BGR: TL TR BL BR
CONNECT_SECONDS = 15.0


@functools.cache
def background(width: int, height: int) -> Image:
    image = np.empty((height, width, 3), np.uint8)
    for number, colour in enumerate(QUADRANTS):
        rows = slice(0, height // 2) if number < 2 else slice(height // 2, height)
        cols = slice(0, width // 2) if number % 2 == 0 else slice(width // 2, width)
        image[rows, cols] = colour
    return image


def index_blocks(width: int, height: int) -> list[tuple[slice, slice]]:
    """Where each bit of the index is drawn: blocks in a row across the middle."""
    block = width // (BITS + 2)
    top = height // 2 - block // 2
    return [
        (slice(top, top + block), slice((bit + 1) * block, (bit + 2) * block))
        for bit in range(BITS)
    ]


def pattern(index: int, width: int, height: int) -> Image:
    image = background(width, height).copy()
    for bit, (rows, cols) in enumerate(index_blocks(width, height)):
        image[rows, cols] = 255 if index >> bit & 1 else 0
    return image


def read_index(image: Image) -> int:
    height, width = image.shape[:2]
    index = 0
    for bit, (rows, cols) in enumerate(index_blocks(width, height)):
        inner = image[rows, cols][rows_inner(rows), rows_inner(cols)]  # skip codec ringing
        if inner.mean() > 128:
            index |= 1 << bit
    return index


def rows_inner(span: slice) -> slice:
    quarter = (span.stop - span.start) // 4
    return slice(quarter, span.stop - span.start - quarter)


def quadrant_means(image: Image) -> list[npt.NDArray[np.float64]]:
    height, width = image.shape[:2]
    half = max(width // 40, 2)
    means = []
    for y, x in ((1, 1), (1, 3), (3, 1), (3, 3)):
        cy, cx = y * height // 4, x * width // 4
        means.append(image[cy - half : cy + half, cx - half : cx + half].mean(axis=(0, 1)))
    return means


class PatternCamera(VideoStreamTrack):
    """A camera at 30 frames/s showing its frame index; ``pause()`` stops it."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__()
        self.size = (width, height)
        self.sent = 0
        self._running = asyncio.Event()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    async def recv(self) -> VideoFrame:
        await self._running.wait()  # aiortc's sender task is cancelled when its pc closes
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(pattern(self.sent % 256, *self.size), format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        self.sent += 1
        return frame


class Citizen:
    def __init__(self, size: tuple[int, int], send: bool = True) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.camera = PatternCamera(*size)
        if send:
            self.pc.addTransceiver(self.camera, direction="sendonly")
        else:
            self.pc.addTransceiver("video", direction="recvonly")
        include_loopback_candidates(self.pc)  # the browser's --allow-loopback-in-peer-connection

    async def offer(self) -> str:
        async with asyncio.timeout(CONNECT_SECONDS):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        assert self.pc.localDescription is not None
        return self.pc.localDescription.sdp

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
