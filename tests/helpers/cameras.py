"""Cameras for the capture tests: aiortc tracks that show a specimen ID card (from the
shared samples) on a desk, or a face, as a citizen's browser would send them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from aiortc import RTCPeerConnection, VideoStreamTrack
from av import VideoFrame

from media.vision.face import find_portrait
from tests.helpers.constants import SAMPLES
from tests.helpers.peers import Peer

BACK = SAMPLES / "deu_idcard_2021_back.png"  # the side with the MRZ


FRONT = SAMPLES / "deu_idcard_2021_front.png"  # the side with the portrait


class CardCamera(VideoStreamTrack):
    """A 1280x720 camera that shows an ID card on a desk."""

    def __init__(self, card_file: Path) -> None:
        super().__init__()
        frame = np.full((720, 1280, 3), (60, 90, 120), dtype=np.uint8)
        card = cv2.imread(str(card_file), cv2.IMREAD_COLOR)
        assert card is not None
        height, width = card.shape[:2]
        top, left = (720 - height) // 2, (1280 - width) // 2
        frame[top : top + height, left : left + width] = card
        self.frame = frame

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(self.frame, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


async def close_peer(pc: RTCPeerConnection) -> None:
    """Close the test's own peer, time-boxed: aiortc's close() has been seen to hang
    when it races the transport's shutdown, and a test must fail, never stall."""
    async with asyncio.timeout(10):
        await pc.close()


DESK = (60, 90, 120)


def scene(card_file: Path | None = None, yaw: float = 0.0) -> npt.NDArray[np.uint8]:
    """A 1280x720 frame: the desk, maybe with the card turned ``yaw`` degrees about its
    vertical axis, as a camera 13 cm away would see it."""
    frame = np.full((720, 1280, 3), DESK, dtype=np.uint8)
    if card_file is None:
        return frame
    card = cv2.imread(str(card_file), cv2.IMREAD_COLOR)
    assert card is not None, card_file
    height, width = card.shape[:2]
    corners = np.array([[-428, -270, 0], [428, -270, 0], [428, 270, 0], [-428, 270, 0]], float)
    rotation, _ = cv2.Rodrigues(np.radians([0.0, yaw, 0.0]))
    camera = np.array([[800.0, 0, 640], [0, 800.0, 360], [0, 0, 1]])
    seen, _ = cv2.projectPoints(corners, rotation, np.array([0, 0, 1300.0]), camera, None)
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    warp = cv2.getPerspectiveTransform(source, seen.reshape(4, 2).astype(np.float32))
    mask = np.full((height, width), 255, np.uint8)
    flat = cv2.warpPerspective(card, warp, (1280, 720))
    inside = cv2.warpPerspective(mask, warp, (1280, 720)) > 0
    frame[inside] = flat[inside]
    return frame


def face_scene() -> npt.NDArray[np.uint8]:
    """The citizen looking into the camera: the specimen's portrait, enlarged."""
    card = cv2.imread(str(FRONT), cv2.IMREAD_COLOR)
    assert card is not None
    box = find_portrait(card)
    assert box is not None
    x, y, w, h = box
    pad = w // 2
    face = card[max(y - pad, 0) : y + h + pad, max(x - pad, 0) : x + w + pad]
    face = cv2.resize(face, None, fx=560 / face.shape[0], fy=560 / face.shape[0])
    frame = np.full((720, 1280, 3), DESK, dtype=np.uint8)
    top, left = (720 - face.shape[0]) // 2, (1280 - face.shape[1]) // 2
    frame[top : top + face.shape[0], left : left + face.shape[1]] = face
    return frame


class SceneCamera(VideoStreamTrack):
    """A camera whose picture the test changes by setting ``frame``."""

    def __init__(self) -> None:
        super().__init__()
        self.frame = scene()

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = VideoFrame.from_ndarray(self.frame, format="bgr24")
        frame.pts, frame.time_base = pts, time_base
        return frame


async def nothing_taken(anna: Peer, seconds: float = 1.5) -> bool:
    """No automatic capture within ``seconds`` (three looks of the guidance loop)."""
    before = len(anna.events["capture_taken"])
    await asyncio.sleep(seconds)
    return len(anna.events["capture_taken"]) == before
