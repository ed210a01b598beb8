/* The waiting room's connection check (templates/_connection_check.html), beside the
 * camera and microphone check: it starts with "Kamera und Mikrofon starten" and says
 * in words whether the connection will carry video. It never holds the citizen back:
 * "Weiter zum Warteraum" does not wait for it, and stops it.
 *
 * Only our own server and our own STUN/TURN servers are asked
 * (signalling/pages/connection_check.py):
 * - reachability: ICE candidates gathered with the servers the call will use. A
 *   server-reflexive (STUN) or relay (TURN) candidate shows that they answer from this
 *   network; gathering that completes without an error counts too (a STUN answer
 *   that names the device's own address adds no candidate).
 * - a rough speed: the time to download 256 KiB and to upload 128 KiB of random bytes.
 *   TCP's slow start makes so short a transfer read low on a fast line; for telling
 *   "enough for video" from "weak" that errs on the safe side, and costs a phone
 *   less than half a megabyte.
 *
 * Needs call.js (window.BB). BB.connectionAdvice is the verdict alone, for tests.
 */
"use strict";

(function () {
  const BB = (window.BB = window.BB || {});
  const $ = (id) => document.getElementById(id);
  const ICE_URL = "/termin/verbindung";
  const PROBE_URL = "/termin/verbindung/probe";
  const WARM_UP_KIB = 16; // opens the connection, so the timed transfers start on it
  const DOWNLOAD_KIB = 256;
  const UPLOAD_KIB = 128;
  const TRANSFER_MS = 10000; // a transfer stopped here still gives a (low) figure
  const GATHERING_MS = 6000;
  // What a call's 640x480 video needs, roughly: 0.3-1.5 Mbit/s each way, and the
  // figures here read low. Below these: "weak".
  const VIDEO_KBPS = { down: 1000, up: 500 };

  /**
   * The advice for a result {ice: "ok" | "blocked" | "none" | "unknown", down, up}
   * (kbit/s, null when not measured): {level: "good" | "weak" | "blocked" |
   * "unmeasured", keys (the texts to show, in order), joinAnyway (say that the citizen
   * may go on all the same)}.
   */
  BB.connectionAdvice = function ({ ice, down, up }) {
    const measured = typeof down === "number" && typeof up === "number";
    const fast = measured && down >= VIDEO_KBPS.down && up >= VIDEO_KBPS.up;
    const keys = [];
    if (ice === "blocked") keys.push("check_blocked");
    if (!measured) keys.push("check_unmeasured");
    else if (!fast) keys.push("check_weak");
    else if (ice !== "blocked") keys.push("check_good");
    let level = "good";
    if (ice === "blocked") level = "blocked";
    else if (!measured) level = "unmeasured";
    else if (!fast) level = "weak";
    return { level, keys, joinAnyway: level !== "good" };
  };

  // -- reachability -------------------------------------------------------------------

  async function reachability(signal) {
    const response = await fetch(ICE_URL, { cache: "no-store", signal });
    if (!response.ok) return "unknown";
    const configuration = BB.rtcConfiguration(await response.json());
    if (configuration.iceServers.length === 0) return "none"; // nothing to reach
    const pc = new RTCPeerConnection(configuration);
    const types = new Set();
    let errors = 0;
    let complete = false;
    try {
      const gathered = new Promise((done) => {
        pc.onicecandidate = ({ candidate }) => {
          if (!candidate) {
            complete = true;
            done();
          } else types.add(candidate.type || (/ typ (\w+)/.exec(candidate.candidate) || [])[1]);
        };
        pc.onicecandidateerror = () => errors++;
        signal.addEventListener("abort", done);
        setTimeout(done, GATHERING_MS);
      });
      pc.createDataChannel("check"); // something to gather candidates for
      await pc.setLocalDescription(await pc.createOffer());
      await gathered;
    } finally {
      pc.close();
    }
    if (types.has("srflx") || types.has("relay")) return "ok";
    if (configuration.iceTransportPolicy === "relay") return "blocked"; // TURN is all there is
    return complete && errors === 0 ? "ok" : "blocked";
  }

  // -- speed --------------------------------------------------------------------------

  const kbps = (bytes, ms) => (bytes * 8) / Math.max(ms, 1);

  /** kbit/s of a download of `kib` random bytes; stopped after TRANSFER_MS, what came
   * until then counts. */
  async function download(kib, signal) {
    const started = performance.now();
    const response = await fetch(PROBE_URL + "?kib=" + kib, { cache: "no-store", signal });
    if (!response.ok) throw new Error("probe refused: " + response.status);
    const reader = response.body.getReader();
    const timer = setTimeout(
      () => reader.cancel().catch(() => {}),
      Math.max(0, started + TRANSFER_MS - performance.now()),
    );
    let bytes = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
      }
    } finally {
      clearTimeout(timer);
    }
    return kbps(bytes, performance.now() - started);
  }

  function randomBlob(bytes) {
    const data = new Uint8Array(bytes);
    for (let at = 0; at < bytes; at += 65536) {
      crypto.getRandomValues(data.subarray(at, Math.min(at + 65536, bytes))); // 64 KiB a call
    }
    return new Blob([data]);
  }

  /** kbit/s of an upload of `kib` random bytes, until the server has read them all
   * (XMLHttpRequest, as fetch has no upload progress; after TRANSFER_MS what the
   * browser sent until then counts). */
  function upload(kib, csrf, signal) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      form.append("csrf", csrf);
      form.append("probe", randomBlob(kib * 1024), "probe.bin");
      const request = new XMLHttpRequest();
      let sent = 0;
      let started = 0;
      request.upload.onprogress = (event) => (sent = event.loaded);
      request.onload = () => {
        if (request.status === 204) resolve(kbps(kib * 1024, performance.now() - started));
        else reject(new Error("probe refused: " + request.status));
      };
      request.ontimeout = () => resolve(kbps(sent, TRANSFER_MS));
      request.onerror = request.onabort = () => reject(new Error("upload failed"));
      signal.addEventListener("abort", () => request.abort());
      request.open("POST", PROBE_URL);
      request.timeout = TRANSFER_MS;
      started = performance.now();
      request.send(form);
    });
  }

  async function speed(csrf, signal) {
    try {
      await download(WARM_UP_KIB, signal);
      const down = await download(DOWNLOAD_KIB, signal);
      const up = await upload(UPLOAD_KIB, csrf, signal);
      return { down, up };
    } catch (error) {
      return { down: null, up: null }; // refused, offline or stopped: not measured
    }
  }

  // -- the page -----------------------------------------------------------------------

  const section = $("connection-check");
  if (!section) return;
  const texts = BB.texts();
  const result = $("connection-check-result");
  const again = $("connection-check-again");
  const mbits = new Intl.NumberFormat(document.documentElement.lang || "de", {
    maximumSignificantDigits: 2,
  });
  let running = null; // the AbortController of the check under way

  function show(lines) {
    result.replaceChildren(
      ...lines.map((text) =>
        Object.assign(document.createElement("p"), { className: "kern-body", textContent: text }),
      ),
    );
  }

  async function check() {
    if (running) return;
    const controller = (running = new AbortController());
    section.dataset.level = "running";
    again.hidden = true;
    show([texts.check_running]);
    const [ice, measured] = await Promise.all([
      reachability(controller.signal).catch(() => "unknown"),
      speed(section.dataset.probeCsrf, controller.signal),
    ]);
    if (controller.signal.aborted) return;
    running = null;
    const advice = BB.connectionAdvice({ ice, ...measured });
    const lines = advice.keys.map((key) => texts[key]);
    if (measured.down !== null && measured.up !== null) {
      lines.push(
        texts.check_speed
          .replace("{down}", mbits.format(measured.down / 1000))
          .replace("{up}", mbits.format(measured.up / 1000)),
      );
    }
    if (advice.joinAnyway) lines.push(texts.check_join_anyway);
    section.dataset.level = advice.level;
    show(lines);
    again.hidden = false;
  }

  function stop() {
    if (!running) return;
    running.abort();
    running = null;
    section.dataset.level = "stopped";
  }

  $("check-start").addEventListener("click", check);
  again.addEventListener("click", check);
  $("check-done").addEventListener("click", stop); // on to the waiting room: no more probing
})();
