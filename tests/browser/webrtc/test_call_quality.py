"""The call's audio-only mode (static/js/quality.js) in real Chromium.

End to end, the line really is made too narrow for video: the kernel throttles the
loopback's UDP (tests/helpers/throttle.py; DevTools' network emulation does not touch
WebRTC), Chrome's congestion controller lowers its estimate, the citizen's page stops
sending video and says so, and the clerk's console reads "camera off" (media_state).
Once the line is wide again, "Video erneut versuchen" brings the video back.

The decision itself (BB.QualityJudge) is fed readings, and BB.qualitySample the
statistics Chrome reported in such a throttled call (recorded below), on the page.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from playwright.async_api import Browser, Page, expect

from signalling.keys import APPOINTMENTS
from tests.helpers.call_pages import (
    MEDIA_MS,
    assert_accessible,
    assert_remote_video_plays,
    book_soon,
    call_taken,
    citizen_with_cookie,
    open_all_day,
)
from tests.helpers.throttle import UDP, throttled

# What it takes: the estimate falls within seconds, then three readings 2 s apart.
SWITCH_MS = 30_000

# Chrome's statistics of the citizen's call connection, reduced to the reports and
# fields the judge reads: with the line open, and 5 s after UDP was throttled to
# 200 kbit/s (the estimate down from 2.8 Mbit/s to 84 kbit/s).
OPEN = [
    {"id": "CP1", "type": "candidate-pair", "availableOutgoingBitrate": 2828888,
     "nominated": True, "state": "succeeded"},
    {"id": "OT01V", "type": "outbound-rtp", "kind": "video", "framesSent": 99},
    {"id": "RIA", "type": "remote-inbound-rtp", "kind": "audio", "fractionLost": 0,
     "roundTripTime": 0.004044, "localId": "OT01A", "timestamp": 1796687396024.859},
    {"id": "RIV", "type": "remote-inbound-rtp", "kind": "video", "fractionLost": 0,
     "roundTripTime": 0.001, "localId": "OT01V", "timestamp": 1796687395914.418},
    {"id": "T01", "type": "transport", "selectedCandidatePairId": "CP1"},
]  # fmt: skip
THROTTLED = [
    {"id": "CP1", "type": "candidate-pair", "availableOutgoingBitrate": 84400,
     "nominated": True, "state": "in-progress"},
    {"id": "OT01V", "type": "outbound-rtp", "kind": "video", "framesSent": 174},
    {"id": "RIA", "type": "remote-inbound-rtp", "kind": "audio", "fractionLost": 0,
     "roundTripTime": 0.004044, "localId": "OT01A", "timestamp": 1796687396024.859},
    {"id": "RIV", "type": "remote-inbound-rtp", "kind": "video", "fractionLost": 0.25,
     "packetsLost": 130, "roundTripTime": 1.917603, "localId": "OT01V",
     "timestamp": 1796687400466.234},
    {"id": "T01", "type": "transport", "selectedCandidatePairId": "CP1"},
]  # fmt: skip
# Firefox names no selected pair on a transport; it marks the pair.
FIREFOX = [
    {"id": "a", "type": "candidate-pair", "availableOutgoingBitrate": 9e6, "selected": False},
    {"id": "b", "type": "candidate-pair", "availableOutgoingBitrate": 120000, "selected": True},
]

JUDGE = """
({readings, limits}) => {
  const judge = new BB.QualityJudge(limits); // LIMITS in quality.js
  return readings.map((reading) => judge.next(reading));
}
"""


def readings(*kbps: float, start: int = 0, **fields: float | None) -> list[dict[str, Any]]:
    """One reading every 2 s from ``start`` ms with these estimates (kbit/s)."""
    defaults: dict[str, float | None] = {"videoLoss": 0, "audioLoss": 0}
    return [
        {"at": start + 2000 * index, "availableKbps": value, **defaults, **fields}
        for index, value in enumerate(kbps)
    ]


async def judged(page: Page, series: list[dict[str, Any]]) -> list[str | None]:
    """What the judge answers to each reading in turn."""
    answer: list[str | None] = await page.evaluate(JUDGE, {"readings": series, "limits": {}})
    return answer


async def actions_at(page: Page, series: list[dict[str, Any]]) -> dict[int, str]:
    """When (ms) the judge asked for something, and what."""
    actions = await judged(page, series)
    return {
        reading["at"]: action for reading, action in zip(series, actions, strict=True) if action
    }


async def test_the_judge_switches_on_what_lasts_and_backs_off(
    app: web.Application, server: str, browser: Browser
) -> None:
    await open_all_day(app)
    desk = app[APPOINTMENTS]
    context, citizen = await citizen_with_cookie(browser, server, desk, await book_soon(desk))
    page = citizen.page
    await page.goto(f"{server}/termin/warteraum")

    # Chrome's own statistics, read as the watcher reads them.
    sample = "(reports) => BB.qualitySample(reports)"
    assert await page.evaluate(sample, OPEN) == {
        "availableKbps": 2828.888,
        "videoLoss": 0,
        "audioLoss": 0,
        "videoLossAt": 1796687395914.418,
        "audioLossAt": 1796687396024.859,
    }
    assert await page.evaluate(sample, THROTTLED) == {
        "availableKbps": 84.4,
        "videoLoss": 0.25,
        "audioLoss": 0,
        "videoLossAt": 1796687400466.234,
        "audioLossAt": 1796687396024.859,
    }
    assert (await page.evaluate(sample, FIREFOX))["availableKbps"] == 120
    assert await page.evaluate(sample, []) == {
        "availableKbps": None,
        "videoLoss": None,
        "audioLoss": None,
        "videoLossAt": None,
        "audioLossAt": None,
    }
    recorded = await page.evaluate(
        "(reports) => [0, 1, 2].map((i) => ({...BB.qualitySample(reports), at: 2000 * i}))",
        THROTTLED,
    )
    assert await judged(page, recorded) == [None, None, "audio_only"]
    # A receiver report counts once: the same one read again is no new loss.
    stale = readings(3000, 3000, 3000, videoLoss=0.3, videoLossAt=1)
    assert await judged(page, stale) == [None] * 3
    fresh = [{**reading, "videoLossAt": index} for index, reading in enumerate(stale)]
    assert await judged(page, fresh) == [None, None, "audio_only"]

    # A blip, or two, does not switch; three low readings in a row do.
    assert await judged(page, readings(3000, 100, 100, 3000, 100, 3000)) == [None] * 6
    assert await judged(page, readings(3000, 100, 100, 100)) == [None, None, None, "audio_only"]
    # Losing our video switches as well, however high the estimate.
    lossy = readings(3000, 3000, 3000, videoLoss=0.3)
    assert await judged(page, lossy) == [None, None, "audio_only"]

    # Sound only, the estimate low (it hardly grows while only sound is sent): video
    # is tried after 20 s. During a trial the estimate may climb; at its end (12 s) it
    # is still low, so the trial failed, and the next comes after 40 s.
    dropped = readings(100, 100, 100)  # audio only at 4 s
    waiting = readings(*[60] * 10, start=6000)  # 6-24 s: the trial at 24 s
    failing = readings(*[100] * 6, start=26000)  # 26-36 s: audio only again at 36 s
    longer = readings(*[60] * 20, start=38000)  # 38-76 s: the next trial at 76 s
    assert await actions_at(page, dropped + waiting + failing + longer) == {
        4000: "audio_only",
        24000: "video",
        36000: "audio_only",
        76000: "video",
    }
    # A trial that loses video fails at once (three readings), whatever the estimate.
    lossy_trial = readings(100, 100, 100) + readings(*[60] * 10, start=6000)
    lossy_trial += readings(3000, 3000, 3000, start=26000, videoLoss=0.3)
    assert await actions_at(page, lossy_trial) == {
        4000: "audio_only",
        24000: "video",
        30000: "audio_only",
    }

    # Sound losing packets too: no trial, however long.
    stuck = readings(100, 100, 100) + readings(*[60] * 30, start=6000, audioLoss=0.2)
    assert await actions_at(page, stuck) == {4000: "audio_only"}

    # The estimate recovers while sound only: video at once, and after a trial of
    # 12 s (its first readings still low: the estimate climbs) it has held.
    recovering = readings(100, 100, 100) + readings(900, 900, 120, 140, *[2000] * 4, start=6000)
    assert await actions_at(page, recovering) == {
        4000: "audio_only",
        8000: "video",
        20000: "recovered",
    }
    assert citizen.problems == []
    await context.close()


# Two connections on one page (a call with a third member has one per peer), stood in
# for by objects with what the watcher reads of a Call: no peer connection yet, so
# only the page's note and button act.
TWO_CONNECTIONS = """
async () => {
  const standIn = () => ({closed: false, pc: null, media: {camera: true},
                          localStream: null, announced: 0, announceMedia() { this.announced++; }});
  const calls = [standIn(), standIn()];
  const watchers = calls.map((call) => BB.watchQuality(call));
  const note = () => document.getElementById("call-quality").textContent;
  const button = document.getElementById("call-quality-retry");
  const seen = {};
  watchers[0].audioOnly = watchers[1].audioOnly = true;  // both went to sound only
  button.click();  // the button tries video on both
  await new Promise((done) => setTimeout(done, 0));
  seen.retried = watchers.map((w) => w.audioOnly);
  seen.afterRetry = [note(), button.hidden, calls.map((call) => call.announced)];
  watchers[0].audioOnly = true;  // one is back to sound only, the other call ends
  calls[1].closed = true;
  await new Promise((done) => setTimeout(done, 2500));  // a watcher looks every 2 s
  seen.oneLeft = [note(), button.hidden];
  calls[0].closed = true;
  await new Promise((done) => setTimeout(done, 2500));
  seen.none = [note(), button.hidden];
  return seen;
}
"""


async def test_one_note_and_one_button_speak_for_every_connection_of_a_page(
    app: web.Application, server: str, browser: Browser
) -> None:
    await open_all_day(app)
    desk = app[APPOINTMENTS]
    context, citizen = await citizen_with_cookie(browser, server, desk, await book_soon(desk))
    await citizen.page.goto(f"{server}/termin/warteraum")
    seen = await citizen.page.evaluate(TWO_CONNECTIONS)
    assert seen == {
        "retried": [False, False],
        "afterRetry": ["Video wird wieder versucht …", True, [1, 1]],
        "oneLeft": [
            "Nur Ton: Ihre Verbindung ist zu schwach für Video. Wir versuchen es später von "
            "selbst wieder.",
            False,
        ],
        "none": ["", True],
    }
    assert citizen.problems == []
    await context.close()


async def frames_sent(page: Page) -> int:
    """Video frames the page's call connection has sent so far."""
    sent: int = await page.evaluate(
        """async () => {
          const pc = window.__peers.findLast((p) => p.connectionState !== "closed");
          for (const report of (await pc.getStats()).values()) {
            if (report.type === "outbound-rtp" && report.kind === "video") return report.framesSent;
          }
          return 0;
        }"""
    )
    return sent


async def assert_frames(page: Page, *, flowing: bool) -> None:
    """Frames are sent (a count that grows over 2 s), or none are (it stays, twice)."""
    deadline = MEDIA_MS // 2000
    for _ in range(deadline):
        before = await frames_sent(page)
        await page.wait_for_timeout(2000)
        if (await frames_sent(page) > before) == flowing:
            return
    raise AssertionError(f"video frames {'never' if flowing else 'still'} sent")


async def test_a_line_too_narrow_for_video_goes_on_with_sound_and_video_comes_back(
    app: web.Application, server: str, browser: Browser
) -> None:
    call = await call_taken(app, server, browser)
    page, console = call.citizen.page, call.clerk.page
    await assert_remote_video_plays(page)
    await assert_remote_video_plays(console)
    note = page.locator("#call-quality")
    retry = page.get_by_role("button", name="Video erneut versuchen")
    await expect(note).to_be_empty()
    await expect(retry).to_be_hidden()

    # 200 kbit/s for all the call's packets, both ways: sound fits, video does not.
    with throttled([UDP], kbit=200):
        await expect(note).to_have_text(
            "Nur Ton: Ihre Verbindung ist zu schwach für Video. Wir versuchen es später von "
            "selbst wieder.",
            timeout=SWITCH_MS,
        )
        await expect(retry).to_be_visible()
        # The clerk is told as for a camera switched off; the citizen's camera runs on
        # (the own picture stays), only nothing of it is sent.
        await expect(console.locator("#peer-media")).to_contain_text(
            "Die Kamera der Person ist aus."
        )
        await assert_frames(page, flowing=False)
        assert await page.locator("#camera").get_attribute("aria-pressed") == "false"
        await assert_accessible(page, "the call with sound only")

    # The line is wide again: the citizen tries video, and it holds.
    await retry.click()
    await expect(note).to_have_text("Video wird wieder versucht …")
    await expect(retry).to_be_hidden()
    await expect(note).to_have_text("Ihre Verbindung reicht wieder für Video.", timeout=SWITCH_MS)
    await expect(console.locator("#peer-media")).not_to_contain_text("Kamera der Person")
    await assert_frames(page, flowing=True)
    await assert_remote_video_plays(console)

    assert call.citizen.problems == [] and call.clerk.problems == []
    await call.close()
