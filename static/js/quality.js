/* The call's audio-only mode: when this side's connection cannot carry video, stop
 * sending it and go on with sound alone; try video again later, or when asked.
 *
 * A Call (call.js) starts BB.watchQuality(call) on pages that load this script. Every
 * 2 s it reads the call's peer connection statistics (W3C webrtc-stats):
 * - the selected candidate pair's availableOutgoingBitrate: the congestion
 *   controller's estimate of what the path takes from us, the whole way to the other
 *   side (a weak line at either end lowers it);
 * - remote-inbound-rtp's fractionLost: what the other side reports it lost of our
 *   video (and, while only sound goes, of our audio).
 * When video cannot be carried for three readings in a row (6 s, so a blip does not
 * switch), the video sender's encoding is set inactive: the camera keeps running (the
 * own preview, and video comes back without asking for the camera again), but no
 * video is sent, so the sound keeps the line. The other side hears of it through
 * media_state (camera: false, as for a camera switched off), this side reads a note
 * with a button to try video again. Video is tried again by itself when the estimate
 * recovers, or after 20 s of sound without loss (the estimate hardly grows while
 * only sound is sent), then after 40, 80, 160 s when a trial failed again. A trial
 * holds when 12 s of video lose little and bring the estimate up to what video needs.
 *
 * BB.QualityJudge (the decision) and BB.qualitySample (statistics to a reading) are
 * exported for tests: they take recorded statistics as well as live ones.
 */
"use strict";

(function () {
  const BB = (window.BB = window.BB || {});
  const $ = (id) => document.getElementById(id);

  const LIMITS = {
    intervalMs: 2000,
    minVideoKbps: 150, // below this, video is a slide show that takes the sound's room
    maxVideoLoss: 0.1, // more of our video lost: frozen pictures, retransmissions
    badReadings: 3, // in a row, before switching to sound only
    resumeKbps: 400, // an estimate this high while sound only: video fits again
    goodReadings: 2, // in a row, before trying video again
    maxAudioLoss: 0.05, // sound losing more than this: no time for a trial
    retryAfterMs: 20000, // first trial of video by itself; doubled after each failed one
    maxRetryAfterMs: 160000,
    // A trial: the estimate starts where sound alone left it and needs seconds to
    // climb, so during a trial only lost video counts; at its end the estimate must
    // have reached minVideoKbps.
    trialMs: 12000,
  };

  /** Statistics (an RTCStatsReport's values, or recorded ones) to one reading:
   * {availableKbps, videoLoss, audioLoss, videoLossAt, audioLossAt}, null when not
   * reported. A loss comes from the other side's last receiver report; its
   * timestamp (…LossAt) tells a new report from one read before. */
  BB.qualitySample = function (reports) {
    const list = [...reports];
    const byId = new Map(list.map((report) => [report.id, report]));
    let pair = null;
    for (const report of list) {
      if (report.type === "transport" && report.selectedCandidatePairId) {
        pair = byId.get(report.selectedCandidatePairId) || pair;
      }
    }
    // Firefox names no selected pair on a transport; it marks the pair itself.
    pair =
      pair ||
      list.find(
        (r) => r.type === "candidate-pair" && (r.selected || (r.nominated && r.state === "succeeded")),
      );
    const reading = {
      availableKbps: null,
      videoLoss: null,
      audioLoss: null,
      videoLossAt: null,
      audioLossAt: null,
    };
    if (pair && typeof pair.availableOutgoingBitrate === "number") {
      reading.availableKbps = pair.availableOutgoingBitrate / 1000;
    }
    for (const report of list) {
      if (report.type !== "remote-inbound-rtp" || typeof report.fractionLost !== "number") continue;
      const kind = report.kind === "video" ? "video" : "audio";
      if (reading[kind + "Loss"] !== null && reading[kind + "Loss"] >= report.fractionLost) continue;
      reading[kind + "Loss"] = report.fractionLost; // the worse of several (simulcast)
      reading[kind + "LossAt"] = typeof report.timestamp === "number" ? report.timestamp : null;
    }
    return reading;
  };

  /**
   * The decision, without a peer connection: fed one reading at a time ({at (ms),
   * availableKbps, videoLoss, audioLoss, and optionally videoLossAt, audioLossAt}),
   * next() answers what to do now: "audio_only" (stop sending video), "video" (try
   * video again), "recovered" (a trial held) or null. mode is "video" or "audio_only".
   */
  class QualityJudge {
    constructor(limits) {
      this.limits = Object.assign({}, LIMITS, limits);
      this.retryAfter = this.limits.retryAfterMs;
      this.restart();
    }

    /** Forget the readings so far (a new peer connection), not the back-off. */
    restart() {
      this.mode = "video";
      this.bad = 0;
      this.good = 0;
      this.since = null; // when sound only began
      this.trialUntil = null; // while video is on trial: when the trial is judged
      this.last = null;
    }

    /** The reading's loss of `kind`, or null when it repeats a report already read. */
    loss(reading, kind) {
      const at = reading[kind + "LossAt"];
      const seen = at !== undefined && at !== null && this.last && this.last[kind + "LossAt"] === at;
      return seen ? null : reading[kind + "Loss"];
    }

    next(reading) {
      const action = this.judge(reading);
      this.last = reading;
      return action;
    }

    judge(reading) {
      const limits = this.limits;
      const low = reading.availableKbps !== null && reading.availableKbps < limits.minVideoKbps;
      if (this.mode === "video") {
        const videoLoss = this.loss(reading, "video");
        const lossy = videoLoss !== null && videoLoss > limits.maxVideoLoss;
        const onTrial = this.trialUntil !== null;
        this.bad = lossy || (low && !onTrial) ? this.bad + 1 : 0;
        if (this.bad >= limits.badReadings || (onTrial && reading.at >= this.trialUntil && low)) {
          return this.soundOnly(reading.at);
        }
        if (onTrial && reading.at >= this.trialUntil && this.bad === 0) {
          this.trialUntil = null;
          this.retryAfter = limits.retryAfterMs;
          return "recovered";
        }
        return null;
      }
      const audioLoss = this.loss(reading, "audio");
      const quiet = audioLoss === null || audioLoss <= limits.maxAudioLoss;
      const roomy = reading.availableKbps !== null && reading.availableKbps >= limits.resumeKbps;
      this.good = quiet && roomy ? this.good + 1 : 0;
      if (this.good >= limits.goodReadings) return this.tryVideo(reading.at);
      if (quiet && reading.at - this.since >= this.retryAfter) return this.tryVideo(reading.at);
      return null;
    }

    soundOnly(at) {
      if (this.trialUntil !== null) {
        // A trial failed: wait twice as long for the next.
        this.retryAfter = Math.min(this.retryAfter * 2, this.limits.maxRetryAfterMs);
      }
      this.mode = "audio_only";
      this.since = at;
      this.trialUntil = null;
      this.bad = this.good = 0;
      return "audio_only";
    }

    /** Video again, on trial (by itself, or the user asked). */
    tryVideo(at) {
      this.mode = "video";
      this.bad = this.good = 0;
      this.trialUntil = at + this.limits.trialMs;
      return "video";
    }
  }

  BB.QualityJudge = QualityJudge;

  /** Whether the video encoding of the call's sender is on; false when there is no
   * video sender to switch (yet). */
  async function sendVideo(call, on) {
    const sender =
      call.pc && call.pc.getSenders().find((s) => s.track && s.track.kind === "video");
    if (!sender) return false;
    const parameters = sender.getParameters();
    if (!parameters.encodings || parameters.encodings.length === 0) return false; // not negotiated yet
    if (parameters.encodings.every((encoding) => encoding.active === on)) return true;
    for (const encoding of parameters.encodings) encoding.active = on;
    await sender.setParameters(parameters);
    return true;
  }

  /** The camera is meant to be seen: switched on, live. */
  function videoWanted(call) {
    return (
      call.media.camera &&
      Boolean(call.localStream) &&
      call.localStream.getVideoTracks().some((track) => track.readyState === "live")
    );
  }

  // The page's note and button speak for every connection it watches: a page may
  // hold more than one Call (one per peer), each judged on its own.
  const page = {
    watchers: new Set(),
    shown: null, // the latest passing message ("trying", "video back"), or null
    clearing: 0,
    texts: BB.texts ? BB.texts() : {}, // call.js's: the page's text island

    /** Show `key` (null: nothing to say); sound only, while any connection is so,
     * comes first. Without a key, show again what is there. */
    say(key) {
      if (key !== undefined) {
        this.shown = key;
        clearTimeout(this.clearing);
        if (key === "quality_video_back") this.clearing = setTimeout(() => this.say(null), 10000);
      }
      const audioOnly = [...this.watchers].some((watcher) => watcher.audioOnly);
      const showing = audioOnly ? "quality_audio_only" : this.shown;
      BB.say($("call-quality"), showing ? this.texts[showing] || "" : "");
      const retry = $("call-quality-retry");
      if (retry) retry.hidden = !audioOnly;
    },
  };

  const retryButton = $("call-quality-retry");
  if (retryButton) {
    retryButton.addEventListener("click", () => {
      for (const watcher of page.watchers) watcher.retry();
    });
  }

  /**
   * Watch one call until it closes. Returns {audioOnly} (read by Call.announceMedia:
   * while true this side says camera: false), {judge} and retry() (video again, on
   * trial). Shows its notes in #call-quality and offers #call-quality-retry when
   * those are on the page.
   */
  BB.watchQuality = function (call, limits) {
    const judge = new QualityJudge(limits);
    const watcher = { audioOnly: false, judge, retry };
    let pc = null;

    async function act(action) {
      if (action === "audio_only") {
        if (!(await sendVideo(call, false))) return judge.restart(); // nothing to switch
        watcher.audioOnly = true;
        page.say(null);
        call.announceMedia();
      } else if (action === "video") {
        await sendVideo(call, true);
        watcher.audioOnly = false;
        page.say("quality_trying");
        call.announceMedia();
      } else if (action === "recovered") {
        page.say("quality_video_back");
      }
    }

    function retry() {
      if (call.closed || !watcher.audioOnly) return;
      act(judge.tryVideo(performance.now())).catch((error) => console.warn("video", error));
    }

    async function leaveAudioOnly() {
      judge.restart();
      if (!watcher.audioOnly) return;
      await sendVideo(call, true);
      watcher.audioOnly = false;
      page.say(null);
      call.announceMedia();
    }

    async function look() {
      if (call.pc !== pc) {
        // A new peer connection (the other side rejoined): its sender sends video
        // again, and its path is judged afresh.
        pc = call.pc;
        if (watcher.audioOnly) {
          watcher.audioOnly = false;
          page.say(null);
          call.announceMedia();
        }
        judge.restart();
      }
      // Judged while connected, and while "disconnected" too: a line too narrow for
      // video may lose the connectivity checks for a while, which is no reason to wait.
      if (!pc || !["connected", "disconnected"].includes(pc.connectionState)) return;
      if (!videoWanted(call)) return leaveAudioOnly(); // the camera is off: nothing to judge
      const reading = BB.qualitySample((await pc.getStats()).values());
      if (pc !== call.pc || call.closed) return;
      await act(judge.next({ ...reading, at: performance.now() }));
    }

    async function tick() {
      if (call.closed) {
        page.watchers.delete(watcher);
        page.say(page.watchers.size ? undefined : null); // what the others still say
        return;
      }
      try {
        await look();
      } catch (error) {
        console.warn("connection quality", error);
      }
      setTimeout(tick, judge.limits.intervalMs);
    }

    page.watchers.add(watcher);
    setTimeout(tick, judge.limits.intervalMs);
    return watcher;
  };
})();
