/* Identity verification during a call (docs/protocol.md, "Identity verification").
 *
 * Loaded by both pages after call.js. The clerk drives a checklist
 * (BB.ClerkVerification); the citizen consents, sends the camera to the server's own
 * receive-only peer for the captures, and types the mailed code
 * (BB.CitizenVerification). Texts come from a JSON island (#verification-texts),
 * because the CSP runs no inline script.
 */
"use strict";

(function () {
  const BB = (window.BB = window.BB || {});
  const $ = (id) => document.getElementById(id);
  const GATHERING_MS = 3000;

  function verificationTexts() {
    const island = $("verification-texts");
    return island ? JSON.parse(island.textContent) : {};
  }

  function element(tag, properties, ...children) {
    const node = Object.assign(document.createElement(tag), properties || {});
    node.append(...children);
    return node;
  }

  function button(label, className, ariaLabel) {
    const node = element("button", { type: "button", className: "kern-btn " + className });
    node.append(element("span", { className: "kern-label", textContent: label }));
    if (ariaLabel) node.setAttribute("aria-label", ariaLabel);
    return node;
  }

  // -- the clerk --------------------------------------------------------------------

  class ClerkVerification {
    constructor(socket) {
      this.socket = socket;
      this.texts = verificationTexts();
      this.verdict = new BB.VerdictPanel(this.texts); // verdict.js
      this.rows = new Map();
      this.checklist = null;
      this.citizen = null; // the booking, as call_assigned brought it
      this.inCall = false;
      this.round = 0; // bumped by each resume and start: an older answer is dropped

      $("verification-start").addEventListener("submit", (event) => {
        event.preventDefault();
        const chosen = document.querySelector("input[name=document_type]:checked");
        if (chosen) this.start(chosen.value);
      });
      for (const capture of document.querySelectorAll("[data-capture]")) {
        capture.addEventListener("click", () => this.capture(capture.dataset.capture));
      }
      for (const capture of document.querySelectorAll("[data-capture-auto]")) {
        capture.addEventListener("click", () => this.arm(capture.dataset.captureAuto));
      }
      for (const capture of document.querySelectorAll("[data-capture-still]")) {
        capture.addEventListener("click", () => this.still(capture.dataset.captureStill));
      }
      // Automatic captures and full-resolution photos arrive when they are kept.
      socket.on("capture_taken", (shot) => {
        if (this.inCall) this.showCapture(shot);
      });
      socket.on("capture_still_failed", (failure) => {
        if (this.inCall) this.error(failure);
      });
      $("verification-send-code").addEventListener("click", () => this.sendCode());
      $("verification-verified").addEventListener("click", () => this.finish("verified"));
      $("verification-failed").addEventListener("click", () => this.finish("failed"));
      socket.on("verification_updated", (checklist) => {
        if (this.inCall) this.render(checklist);
      });
      // The MRZ is read after the capture's first answer; it arrives on its own.
      socket.on("capture_analysed", (result) => {
        if (this.inCall) this.verdict.analysed(result);
      });
    }

    say(text) {
      BB.say($("verification-status"), text || "");
    }

    error(error) {
      this.say((this.texts.errors || {})[error.code] || error.message || this.texts.failed);
    }

    /** A call (new, or rejoined after a reload): show the check in progress, if any.
     * `citizen`: call_assigned's, whose booking the MRZ is compared with. */
    callStarted(citizen) {
      this.citizen = citizen || null;
      this.inCall = true;
      this.resume();
    }

    /** Show the check in progress as the server has it: on a new call, after a reload,
     * and when this socket reconnected (what was pushed meanwhile never came here):
     * the checklist, then the captures taken so far with their analyses and what the
     * MRZ readings agreed on, each as it was shown then. */
    async resume() {
      const round = ++this.round;
      const current = () => this.inCall && round === this.round;
      this.reset();
      try {
        const checklist = await BB.request(this.socket, "verification_current", {});
        if (!checklist || !current()) return;
        $("verification-body").hidden = false;
        this.verdict.reset(checklist.document_type, this.citizen);
        this.render(checklist);
        // Captures pushed from here on show at once; the answer has those stored
        // before it, and the panel skips what it already shows.
        const shown = await BB.request(this.socket, "verification_captures", {});
        if (shown && current()) this.verdict.restore(shown);
      } catch (error) {
        if (current()) this.error(error);
      }
    }

    callEnded() {
      this.inCall = false;
      this.reset();
    }

    reset() {
      this.checklist = null;
      this.rows.clear();
      $("verification-steps").replaceChildren();
      $("verification-features").replaceChildren();
      this.verdict.clear();
      $("verification-body").hidden = true;
      $("verification-reason").value = "";
      this.clearReasonError();
      BB.say($("verification-outcome"), "");
      this.say("");
    }

    async start(documentType) {
      this.round += 1; // a resume still under way would show the check this replaces
      try {
        const checklist = await BB.request(this.socket, "verification_start", {
          document_type: documentType,
        });
        this.rows.clear();
        $("verification-steps").replaceChildren();
        this.verdict.reset(checklist.document_type, this.citizen);
        BB.say($("verification-outcome"), "");
        $("verification-body").hidden = false;
        this.render(checklist);
        this.say(this.texts.started);
      } catch (error) {
        this.error(error);
      }
    }

    render(checklist) {
      this.checklist = checklist;
      const texts = this.texts;
      $("verification-document").textContent =
        (texts.documents || {})[checklist.document_type] || checklist.document_type;
      const features = checklist.security_features.map((feature) =>
        element("li", { textContent: feature }),
      );
      $("verification-features").replaceChildren(...features);
      for (const [step, state] of Object.entries(checklist.steps)) {
        const row = this.rows.get(step) || this.addRow(step);
        const label = state === true ? texts.passed : state === false ? texts.failed_state : texts.open;
        row.state.textContent = label;
        row.item.dataset.state = state === true ? "passed" : state === false ? "failed" : "open";
      }
      const pending = checklist.outcome === "pending";
      for (const control of document.querySelectorAll("#verification-body [data-pending-only]")) {
        control.disabled = !pending;
      }
      for (const row of this.rows.values()) {
        for (const control of row.buttons) control.disabled = !pending;
      }
      const missing = checklist.missing.map((step) => (texts.steps || {})[step] || step);
      $("verification-missing").textContent = missing.length
        ? texts.missing + " " + missing.join(", ")
        : texts.nothing_missing;
      const outcome = (texts.outcomes || {})[checklist.outcome];
      BB.say($("verification-outcome"), pending ? "" : outcome || checklist.outcome);
    }

    addRow(step) {
      const texts = this.texts;
      const name = (texts.steps || {})[step] || step;
      const item = element("li", { className: "bb-verification__step" });
      item.dataset.step = step;
      const state = element("span", { className: "bb-verification__state" });
      const head = element("span", { className: "bb-verification__name", textContent: name });
      item.append(head, document.createTextNode(": "), state);
      const buttons = [];
      if (!(texts.citizen_steps || []).includes(step)) {
        const actions = element("span", { className: "bb-verification__actions" });
        const yes = button(texts.record_passed, "kern-btn--secondary kern-btn--x-small",
          name + ": " + texts.record_passed);
        const no = button(texts.record_failed, "kern-btn--tertiary kern-btn--x-small",
          name + ": " + texts.record_failed);
        yes.addEventListener("click", () => this.record(step, true));
        no.addEventListener("click", () => this.record(step, false));
        actions.append(yes, no);
        buttons.push(yes, no);
        item.append(actions);
      } else {
        item.append(element("span", { className: "kern-hint", textContent: " " + texts.by_citizen }));
      }
      $("verification-steps").append(item);
      const row = { item, state, buttons };
      this.rows.set(step, row);
      return row;
    }

    async record(step, passed) {
      try {
        this.render(await BB.request(this.socket, "verification_record", { step, passed }));
        this.say("");
      } catch (error) {
        this.error(error);
      }
    }

    germanIdFront(kind) {
      return kind === "front" && this.checklist !== null && this.checklist.document_type === "id_card";
    }

    kindName(kind) {
      return (this.texts.kinds || {})[kind] || kind;
    }

    async capture(kind) {
      this.say(this.texts.capturing);
      let shot;
      try {
        shot = await BB.request(
          this.socket, "capture_take", { kind, german_id: this.germanIdFront(kind) }, 20000,
        );
      } catch (error) {
        this.error(error);
        return;
      }
      this.showCapture(shot);
    }

    /** Ask the citizen to show `kind`; the server keeps the first frame that passes
     * and pushes it as capture_taken. */
    async arm(kind) {
      try {
        await BB.request(this.socket, "capture_auto", { kind, german_id: this.germanIdFront(kind) });
        this.say(this.texts.armed.replace("{kind}", this.kindName(kind)));
      } catch (error) {
        this.error(error);
      }
    }

    /** Ask the citizen's device for a full-resolution photo (uploaded over HTTPS). */
    async still(kind) {
      try {
        await BB.request(this.socket, "capture_still", { kind, german_id: this.germanIdFront(kind) });
        this.say(this.texts.still_requested.replace("{kind}", this.kindName(kind)));
      } catch (error) {
        this.error(error);
      }
    }

    showCapture(shot) {
      this.verdict.capture(shot);
      this.say(this.texts.captured.replace("{kind}", this.kindName(shot.kind)));
    }

    async sendCode() {
      try {
        await BB.request(this.socket, "verification_send_code");
        this.say(this.texts.code_sent);
      } catch (error) {
        this.error(error);
      }
    }

    clearReasonError() {
      const field = $("verification-reason");
      field.removeAttribute("aria-invalid");
      $("verification-reason-error").hidden = true;
    }

    async finish(outcome) {
      const field = $("verification-reason");
      const reason = field.value.trim();
      this.clearReasonError();
      if (outcome === "failed" && !reason) {
        field.setAttribute("aria-invalid", "true");
        $("verification-reason-error").hidden = false;
        field.focus();
        return;
      }
      const payload = reason ? { outcome, reason } : { outcome };
      try {
        this.render(await BB.request(this.socket, "verification_finish", payload));
        this.say("");
      } catch (error) {
        this.error(error);
      }
    }
  }

  BB.ClerkVerification = ClerkVerification;

  // -- the citizen ------------------------------------------------------------------

  /** The citizen's camera to the server's receive-only peer. On a phone the citizen
   * may choose the rear camera ("environment"): sharper, and it faces the document. */
  class CapturePeer {
    constructor(socket, configuration, fallbackTrack, facing) {
      this.socket = socket;
      this.configuration = configuration; // the call's: the same TURN, the same policy
      this.fallbackTrack = fallbackTrack;
      this.facing = facing || null; // null: the browser's default camera
      this.pc = null;
      this.sender = null;
      this.track = null;
      this.closed = false;
    }

    async cameraTrack() {
      const video = { width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 15 } };
      if (this.facing) video.facingMode = { ideal: this.facing };
      try {
        const stream = await navigator.mediaDevices.getUserMedia({ video });
        return stream.getVideoTracks()[0];
      } catch (error) {
        const track = this.fallbackTrack();
        return track ? track.clone() : null; // a clone: stopping it leaves the call's own
      }
    }

    async open() {
      const track = await this.cameraTrack();
      if (!track) throw Object.assign(new Error("no camera"), { code: "no_camera" });
      if (this.closed) {
        track.stop();
        return;
      }
      this.track = track;
      const pc = new RTCPeerConnection(this.configuration);
      this.pc = pc;
      // A document, not a face: keep every pixel (text, MRZ) and drop frames instead
      // of resolution while the bandwidth estimate ramps up.
      if ("contentHint" in track) track.contentHint = "detail";
      const transceiver = pc.addTransceiver(track, { direction: "sendonly" });
      this.sender = transceiver.sender;
      await keepResolution(transceiver.sender);
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, GATHERING_MS);
      if (this.closed) return;
      const answer = await BB.request(
        this.socket,
        "capture_offer",
        // The guidance's hints come back in the page's language.
        { sdp: pc.localDescription.sdp, lang: document.documentElement.lang },
        20000,
      );
      if (this.closed) return;
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    }

    /** Another camera for the same connection (no new negotiation). */
    async useCamera(facing) {
      this.facing = facing;
      const track = await this.cameraTrack();
      if (!track || this.closed || !this.sender) {
        if (track) track.stop();
        return;
      }
      if ("contentHint" in track) track.contentHint = "detail";
      await this.sender.replaceTrack(track);
      if (this.track) this.track.stop();
      this.track = track;
    }

    close() {
      this.closed = true;
      if (this.pc) this.pc.close();
      if (this.track) this.track.stop();
      this.pc = null;
      this.track = null;
    }
  }

  async function keepResolution(sender) {
    try {
      const parameters = sender.getParameters();
      parameters.degradationPreference = "maintain-resolution";
      // 15 frames a second are plenty for a document held still, and halve what the
      // server decodes per camera (bench/capture_load.py).
      for (const encoding of parameters.encodings || []) encoding.maxFramerate = 15;
      await sender.setParameters(parameters);
    } catch (error) {
      // Not every browser lets this be set before negotiation; the hint still helps.
    }
  }

  /** Wait for ICE gathering to complete, at most `ms` (the offer then carries what
   * was gathered so far). */
  function gathered(pc, ms) {
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (pc.iceGatheringState !== "complete") return;
        clearTimeout(timer);
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      };
      const timer = setTimeout(() => {
        pc.removeEventListener("icegatheringstatechange", done);
        resolve();
      }, ms);
      pc.addEventListener("icegatheringstatechange", done);
    });
  }

  /** The track's current frame at its own resolution, as a JPEG blob. */
  async function frameAsJpeg(track) {
    const video = element("video", { muted: true, playsInline: true });
    video.srcObject = new MediaStream([track]);
    try {
      await video.play();
      if (!video.videoWidth) {
        await new Promise((resolve) => {
          video.addEventListener("resize", resolve, { once: true });
          setTimeout(resolve, GATHERING_MS);
        });
      }
      if (!video.videoWidth) throw new Error("no frame");
      const canvas = element("canvas", { width: video.videoWidth, height: video.videoHeight });
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      return await new Promise((resolve, reject) =>
        canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no frame"))),
          "image/jpeg", 0.95),
      );
    } finally {
      video.pause();
      video.srcObject = null;
    }
  }

  class CitizenVerification {
    /** getCall(): the current BB.Call (for its camera track) or null. */
    constructor(socket, getCall) {
      this.socket = socket;
      this.getCall = getCall;
      this.texts = verificationTexts();
      this.configuration = BB.rtcConfiguration({}); // set by callStarted
      this.peer = null;
      this.defaultHint = $("capture-hint").textContent;
      // On a phone with two cameras, the rear one may show the document better.
      const rear = $("capture-rear");
      rear.addEventListener("click", async () => {
        const on = rear.getAttribute("aria-pressed") !== "true";
        rear.setAttribute("aria-pressed", String(on));
        if (this.peer && !this.peer.closed) await this.peer.useCamera(on ? "environment" : "user");
      });

      socket.on("verification_consent_requested", ({ document_type: type }) => {
        this.askConsent(type);
      });
      $("consent-accept").addEventListener("click", () => this.consent());
      // The server looks at the capture camera about twice a second and says what to
      // change (closer, glare, the whole card in view); the hints come in the page's language.
      socket.on("capture_guidance", ({ verdict, hints }) => {
        if ($("capture-hint").hidden) return; // no capture running on this page
        BB.say($("capture-guidance"), verdict === "ok" ? this.texts.guidance_ok : hints[0] || "");
      });
      // What to show the camera next (the clerk asked for it), and when it is taken.
      socket.on("capture_prompt", ({ kind, taken }) => {
        if ($("capture-hint").hidden) return;
        const prompts = this.texts.prompts || {};
        $("capture-hint").textContent = kind ? prompts[kind] || "" : this.texts.prompt_taken;
      });
      // The clerk asks for a full-resolution photo: taken here, uploaded once over HTTPS.
      socket.on("capture_still_requested", ({ kind, upload_url: uploadUrl }) => {
        if (!$("capture-hint").hidden) this.sendStill(kind, uploadUrl);
      });
      socket.on("verification_code_requested", () => this.askCode());
      $("code-form").addEventListener("submit", (event) => {
        event.preventDefault();
        this.sendCode();
      });
      socket.on("verification_finished", ({ outcome }) => {
        this.closePeer();
        $("verification-panel").hidden = false;
        $("consent-panel").hidden = true;
        $("capture-hint").hidden = true;
        BB.say($("capture-guidance"), "");
        $("code-form").hidden = true;
        BB.say($("verification-outcome"), (this.texts.outcomes || {})[outcome] || outcome);
      });
    }

    callStarted(assignment) {
      this.configuration = BB.rtcConfiguration(assignment);
      this.resume();
    }

    /** The check as this page showed it, after a reload or a lost connection (what
     * was pushed meanwhile never came here): the consent asked for; once given, the
     * camera connected for the capture again (the consent holds for the check, not
     * for one page); the code form while a mailed code waits to be typed. */
    async resume() {
      let state;
      try {
        state = await BB.request(this.socket, "verification_current", {});
      } catch (error) {
        return; // the call is over already: nothing to show
      }
      if (!state) return;
      if (!state.consented) {
        if ($("consent-panel").hidden) this.askConsent(state.document_type);
      } else if (!this.peer || this.peer.closed) {
        $("verification-panel").hidden = false;
        this.openCapture();
      }
      if (state.code_requested && $("code-form").hidden) this.askCode();
    }

    askConsent(documentType) {
      this.closePeer();
      $("verification-panel").hidden = false;
      $("consent-panel").hidden = false;
      $("consent-document").textContent = (this.texts.documents || {})[documentType] || documentType;
      $("capture-hint").hidden = true;
      BB.say($("capture-guidance"), "");
      $("code-form").hidden = true;
      BB.say($("verification-outcome"), "");
      BB.say($("verification-status"), "");
      $("consent-heading").focus();
    }

    askCode() {
      $("verification-panel").hidden = false;
      $("code-form").hidden = false;
      BB.say($("code-result"), "");
      $("code-input").value = "";
      $("code-input").focus();
    }

    callEnded() {
      this.closePeer();
      $("verification-panel").hidden = true;
      $("consent-panel").hidden = true;
      $("capture-hint").hidden = true;
      $("capture-rear").hidden = true;
      BB.say($("capture-guidance"), "");
      $("code-form").hidden = true;
    }

    /** The rear-camera toggle, where there is a second camera to choose. */
    async offerCameraChoice() {
      let cameras = 0;
      try {
        const devices = await navigator.mediaDevices.enumerateDevices();
        cameras = devices.filter((device) => device.kind === "videoinput").length;
      } catch (error) {
        cameras = 0;
      }
      $("capture-rear").hidden = cameras < 2;
    }

    async consent() {
      try {
        await BB.request(this.socket, "verification_consent");
      } catch (error) {
        BB.say($("verification-status"), error.message || this.texts.failed);
        return;
      }
      await this.openCapture();
    }

    /** The camera to the server's capture peer, once the citizen has consented. */
    async openCapture() {
      const status = $("verification-status");
      $("consent-panel").hidden = true;
      $("capture-hint").textContent = this.defaultHint;
      $("capture-hint").hidden = false;
      this.offerCameraChoice();
      BB.say(status, this.texts.consented);
      this.closePeer();
      const call = this.getCall();
      const rear = $("capture-rear").getAttribute("aria-pressed") === "true";
      const peer = new CapturePeer(
        this.socket,
        this.configuration,
        () => {
          const stream = call && call.localStream;
          return stream ? stream.getVideoTracks()[0] : null;
        },
        rear ? "environment" : null,
      );
      this.peer = peer;
      try {
        await peer.open();
        if (peer === this.peer && !peer.closed) BB.say(status, this.texts.capture_ready);
      } catch (error) {
        if (peer === this.peer) BB.say(status, this.texts.capture_failed);
        console.warn("capture peer failed", error.code || error);
      }
    }

    async sendCode() {
      const input = $("code-input");
      const code = input.value.trim();
      if (!/^\d{6}$/.test(code)) {
        BB.say($("code-result"), this.texts.code_format);
        input.focus();
        return;
      }
      try {
        const { passed } = await BB.request(this.socket, "verification_code", { code });
        BB.say($("code-result"), passed ? this.texts.code_passed : this.texts.code_wrong);
        if (passed) $("code-form").hidden = true;
      } catch (error) {
        BB.say($("code-result"), error.message || this.texts.failed);
      }
    }

    /** A photo at the camera's full resolution (ImageCapture where the browser has it,
     * else the track's current frame through a canvas), posted to `uploadUrl` (the
     * one-time token is in it; the CSRF token comes with the page). */
    async sendStill(kind, uploadUrl) {
      const status = $("verification-status");
      const prompt = (this.texts.prompts || {})[kind];
      if (prompt) $("capture-hint").textContent = prompt;
      BB.say(status, this.texts.still_sending);
      let track = this.peer && this.peer.track;
      if (!track || track.readyState !== "live") {
        const call = this.getCall();
        const stream = call && call.localStream;
        track = stream ? stream.getVideoTracks()[0] : null;
      }
      try {
        if (!track) throw new Error("no camera");
        let photo = null;
        if (typeof ImageCapture === "function") {
          try {
            photo = await new ImageCapture(track).takePhoto();
          } catch (error) {
            photo = null; // e.g. not for this camera: the canvas below still works
          }
        }
        if (!photo) photo = await frameAsJpeg(track);
        const form = new FormData();
        form.append("csrf", $("verification-panel").dataset.uploadCsrf || "");
        form.append("photo", photo, "foto." + ((photo.type || "").split("/")[1] || "jpg"));
        const response = await fetch(uploadUrl, {
          method: "POST",
          body: form,
          credentials: "same-origin",
        });
        if (!response.ok) {
          const body = await response.json().catch(() => null);
          const error = (body && body.error) || {};
          BB.say(status, error.message || this.texts.still_failed);
          return;
        }
        BB.say(status, this.texts.still_sent);
      } catch (error) {
        BB.say(status, this.texts.still_failed);
        console.warn("photo upload failed", error);
      }
    }

    closePeer() {
      if (this.peer) this.peer.close();
      this.peer = null;
    }
  }

  BB.CitizenVerification = CitizenVerification;
})();
