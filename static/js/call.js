/* The video call, shared by the citizen's page and the clerk console.
 *
 * Media flows browser to browser; the server only relays our signalling events
 * (rtc_description, rtc_candidate) to the member of the call they name (docs/protocol.md).
 * Each pair of members has its own connection (a Call): citizen and clerk, and, when
 * an interpreter or companion joins, each of them with the guest (a mesh of three).
 * Negotiation follows the W3C "perfect negotiation" pattern (WebRTC 1.0, section
 * 10.7): both sides add their tracks and offer whenever negotiation is needed; on a
 * collision the polite side (the citizen towards the clerk, the guest towards both)
 * gives way and the impolite side ignores the other offer. That makes the code the
 * same on every side and lets either side renegotiate, restart ICE or rejoin after a
 * reload.
 *
 * Plain script (no build step): everything is exported on window.BB.
 */
"use strict";

(function () {
  const BB = (window.BB = window.BB || {});

  // -- page helpers -----------------------------------------------------------------

  /** The page's UI strings: a JSON island, because the CSP forbids inline scripts. */
  BB.texts = function () {
    const island = document.getElementById("texts");
    return island ? JSON.parse(island.textContent) : {};
  };

  /** A Socket.IO connection as docs/protocol.md asks: websocket only, protocol v1. */
  BB.connect = function (namespace) {
    return window.io(namespace, { transports: ["websocket"], auth: { v: 1 } });
  };

  /** Send a command and wait for its ack; resolve with `data` or reject with an
   * Error carrying the server's stable `code` (and its German `message`). */
  BB.request = async function (socket, event, payload, timeoutMs = 8000) {
    let answer;
    try {
      answer = await socket.timeout(timeoutMs).emitWithAck(event, payload || {});
    } catch (timeout) {
      throw Object.assign(new Error("timeout"), { code: "timeout" });
    }
    if (answer && answer.ok) return answer.data;
    const error = (answer && answer.error) || {};
    throw Object.assign(new Error(error.message || event), { code: error.code || "unknown" });
  };

  /** Show one of a page's views (sections with data-view) and move the focus to its
   * heading, so keyboard and screen-reader users land where the page changed. */
  BB.showView = function (name) {
    document.body.dataset.view = name; // for layouts that differ by view (the call)
    let shown = null;
    for (const view of document.querySelectorAll("[data-view]")) {
      view.hidden = view.dataset.view !== name;
      if (!view.hidden) shown = view;
    }
    const heading = shown && shown.querySelector("[data-focus]");
    if (heading) heading.focus();
    return shown;
  };

  /** Put a short text into a live region. Re-setting the same text is a no-op, so
   * screen readers are not made to repeat an unchanged status. */
  BB.say = function (element, text) {
    if (element && element.textContent !== text) element.textContent = text;
  };

  // Browsers only let audio start after a user gesture: create the context on the
  // first click or key press, so a later chime (call, arrival) can sound.
  let audio = null;
  BB.audioContext = function () {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!audio && Context) audio = new Context();
    if (audio && audio.state === "suspended") audio.resume().catch(() => {});
    return audio;
  };
  for (const type of ["pointerdown", "keydown"]) {
    window.addEventListener(type, () => BB.audioContext(), { once: true, capture: true });
  }

  /** A short two-note chime made with WebAudio: no audio file to ship or cache. */
  BB.chime = function () {
    const context = BB.audioContext();
    if (!context) return;
    const start = context.currentTime + 0.02;
    [660, 880].forEach((frequency, index) => {
      const oscillator = context.createOscillator();
      const gain = context.createGain();
      const at = start + index * 0.22;
      oscillator.type = "sine";
      oscillator.frequency.value = frequency;
      // A quick attack and an exponential decay: a soft bell, not a click.
      gain.gain.setValueAtTime(0.0001, at);
      gain.gain.exponentialRampToValueAtTime(0.3, at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.5);
      oscillator.connect(gain).connect(context.destination);
      oscillator.start(at);
      oscillator.stop(at + 0.55);
    });
  };

  /** A system notification, only when permitted and the tab is in the background
   * (in the foreground the page itself shows what happened). */
  BB.notify = function (title, body) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (!document.hidden) return;
    try {
      const note = new Notification(title, { body, tag: "buergerbuero" });
      note.onclick = () => {
        window.focus();
        note.close();
      };
    } catch (error) {
      // Android Chrome allows notifications only from a service worker: the sound
      // and the title change still tell the user.
    }
  };

  /** Wire a button that asks for notification permission, and a status line. */
  BB.notificationButton = function (button, status, texts) {
    if (!button) return;
    const show = () => {
      const supported = "Notification" in window;
      const permission = supported ? Notification.permission : "unsupported";
      button.hidden = permission !== "default";
      BB.say(status, texts["notify_" + permission] || "");
    };
    button.addEventListener("click", async () => {
      try {
        await Notification.requestPermission();
      } finally {
        show();
      }
    });
    show();
  };

  /** Camera and microphone. Falls back to what exists when one is missing, and
   * reports which; rejects (NotAllowedError, NotFoundError, ...) only when neither
   * can be had. */
  BB.getMedia = async function () {
    const video = { width: { ideal: 640 }, height: { ideal: 480 }, facingMode: "user" };
    const audioConstraints = { echoCancellation: true, noiseSuppression: true };
    try {
      return {
        stream: await navigator.mediaDevices.getUserMedia({ video, audio: audioConstraints }),
        missing: null,
      };
    } catch (error) {
      if (error.name !== "NotFoundError" && error.name !== "OverconstrainedError") throw error;
    }
    try {
      return {
        stream: await navigator.mediaDevices.getUserMedia({ audio: audioConstraints }),
        missing: "camera",
      };
    } catch (error) {
      if (error.name !== "NotFoundError") throw error;
    }
    return { stream: await navigator.mediaDevices.getUserMedia({ video }), missing: "microphone" };
  };

  BB.stopStream = function (stream) {
    if (stream) for (const track of stream.getTracks()) track.stop();
  };

  /** Show a stream in a <video>; autoplay may be refused, then `onBlocked` offers a
   * button (browsers allow playing after a click). */
  BB.play = function (videoElement, stream, onBlocked) {
    if (videoElement.srcObject !== stream) videoElement.srcObject = stream;
    const started = videoElement.play();
    if (started && started.catch) {
      started.catch((error) => {
        if (error.name === "NotAllowedError" && onBlocked) onBlocked();
      });
    }
  };

  // -- the call ---------------------------------------------------------------------

  /** The RTCPeerConnection configuration a call_assigned brings: the STUN/TURN
   * servers with their short-lived credentials, and whether every connection must go
   * through TURN ("relay": the town hides the members' addresses from each other). */
  BB.rtcConfiguration = function (assignment) {
    return {
      iceServers: assignment.ice_servers || [],
      iceTransportPolicy: assignment.ice_transport_policy === "relay" ? "relay" : "all",
    };
  };

  /**
   * One call: a peer connection to the other member, rebuilt when either side
   * rejoins. The local stream may come later than the call (the camera is still
   * starting when the other side's offer arrives); its tracks are added then.
   *
   * options: {peer ("citizen" | "clerk" | "guest": the other member), polite,
   *           configuration, remoteVideo, container (gets data-call-state:
   *           "connecting" | "connected" | "ended"), onStateChange(state),
   *           onPlaybackBlocked() (autoplay refused: offer a button),
   *           peerMedia (an element that says when the other side is muted or its
   *           camera is off), peerTexts {muted, camera_off},
   *           ownsStream (default true: close() stops the camera; false for a
   *           connection that shares the page's camera with another one),
   *           rejoins (default true: start over on the peer's peer_joined; false
   *           where the page decides, as GuestSeat does),
   *           answersFirst (default false: true waits for the peer's first offer
   *           before offering anything; a guest does, see GuestSeat)}
   *
   * Each side tells the other whether its microphone and camera are on
   * (media_state): when its camera starts, on every change, and when the other side
   * rejoins. A camera that failed counts as off, so the other side reads "Kamera
   * aus" instead of looking at a black picture.
   */
  class Call {
    constructor(socket, options) {
      this.socket = socket;
      this.peer = options.peer;
      this.polite = Boolean(options.polite);
      this.answersFirst = Boolean(options.answersFirst);
      this.ownsStream = options.ownsStream !== false;
      this.configuration = options.configuration; // from BB.rtcConfiguration
      this.remoteVideo = options.remoteVideo;
      this.container = options.container;
      this.onStateChange = options.onStateChange || (() => {});
      this.onPlaybackBlocked = options.onPlaybackBlocked;
      this.peerMedia = options.peerMedia;
      this.peerTexts = options.peerTexts || {};
      this.media = { microphone: true, camera: true }; // what this side chose
      this.localStream = null;
      this.pc = null;
      this.closed = false;
      // Incoming signalling is handled strictly in order, one message at a time:
      // a candidate must not overtake the description it belongs to.
      this.inbox = Promise.resolve();
      // Every relayed message says who sent it: each Call takes its peer's only.
      const fromPeer = (handle) => (message) => {
        if (message && message.from === this.peer) handle(withoutFrom(message));
      };
      this.listeners = {
        rtc_description: fromPeer((description) => this.receive({ description })),
        rtc_candidate: fromPeer((candidate) => this.receive({ candidate })),
        // The other side reloaded or reconnected: its old connection is gone, and
        // its new page does not know our microphone and camera yet.
        peer_joined: ({ role }) => {
          if (role !== this.peer || options.rejoins === false) return;
          this.reset();
          this.announceMedia();
        },
        media_state: fromPeer((state) => this.showPeerMedia(state)),
      };
      for (const [event, listener] of Object.entries(this.listeners)) socket.on(event, listener);
      this.start();
      // Sound only while the connection cannot carry video (quality.js, where loaded).
      this.quality = BB.watchQuality ? BB.watchQuality(this) : null;
    }

    /** A new RTCPeerConnection with the local tracks, if there are any yet. */
    start() {
      const pc = new RTCPeerConnection(this.configuration);
      this.pc = pc;
      this.makingOffer = false;
      this.ignoreOffer = false;
      this.pendingCandidates = [];
      this.remoteStream = null;
      this.setState("connecting");

      pc.onnegotiationneeded = async () => {
        if (this.answersFirst && !pc.currentRemoteDescription) return; // the peer's offer brings ours
        try {
          this.makingOffer = true;
          await pc.setLocalDescription(); // an offer, created for the current state
          if (pc === this.pc) this.send("rtc_description", pc.localDescription);
        } catch (error) {
          console.warn("negotiation failed", error);
        } finally {
          if (pc === this.pc) this.makingOffer = false; // not the flag of a newer connection
        }
      };
      pc.onicecandidate = ({ candidate }) => {
        if (candidate && pc === this.pc) this.send("rtc_candidate", candidate.toJSON());
      };
      pc.oniceconnectionstatechange = () => {
        // A path that worked may break (network change, NAT timeout): new ICE
        // credentials make both sides gather and check again. restartIce() fires
        // negotiationneeded, so the offer goes out through the usual path.
        if (pc.iceConnectionState === "failed") pc.restartIce();
        this.updateState(pc);
      };
      pc.onconnectionstatechange = () => this.updateState(pc);
      pc.ontrack = ({ track, streams }) => {
        if (pc !== this.pc) return;
        // Keep one stream for the remote video even if the other side's tracks come
        // without a stream id (or one at a time).
        const stream = streams[0] || this.remoteStream || new MediaStream();
        if (!streams[0] && !stream.getTracks().includes(track)) stream.addTrack(track);
        this.remoteStream = stream;
        if (this.remoteVideo) BB.play(this.remoteVideo, stream, this.onPlaybackBlocked);
      };

      if (this.localStream) {
        for (const track of this.localStream.getTracks()) pc.addTrack(track, this.localStream);
      }
    }

    /** Start over with a fresh connection (peer_joined, or call_assigned again). */
    reset(configuration) {
      if (this.closed) return;
      if (this.peerMedia) this.peerMedia.hidden = true; // until the other side says again
      if (configuration) this.configuration = configuration;
      this.closePeerConnection();
      this.inbox = Promise.resolve(); // messages for the old connection are moot
      this.start();
    }

    /** Without a camera of our own, still receive the peer's sound and picture (an
     * offer to a peer that waits for one: a guest). A camera attached later takes
     * these transceivers over. */
    receiveOnly() {
      for (const kind of ["audio", "video"]) this.pc.addTransceiver(kind, { direction: "recvonly" });
    }

    /** The local camera and microphone; adding tracks triggers negotiation. */
    attach(stream) {
      this.localStream = stream;
      setEnabled(stream.getAudioTracks(), this.media.microphone);
      setEnabled(stream.getVideoTracks(), this.media.camera);
      this.announceMedia();
      if (!this.pc || this.closed) return;
      const sending = new Set(this.pc.getSenders().map((sender) => sender.track));
      for (const track of stream.getTracks()) {
        if (!sending.has(track)) this.pc.addTrack(track, stream);
      }
    }

    receive(message) {
      const pc = this.pc;
      this.inbox = this.inbox
        .then(() => (pc === this.pc && !this.closed ? this.handle(pc, message) : null))
        .catch((error) => console.warn("signalling message failed", error));
    }

    async handle(pc, { description, candidate }) {
      if (description) {
        const offerCollision =
          description.type === "offer" && (this.makingOffer || pc.signalingState !== "stable");
        this.ignoreOffer = !this.polite && offerCollision;
        if (this.ignoreOffer) return; // impolite: our own offer wins
        // Polite on a collision: setRemoteDescription rolls our pending offer back
        // first (implicit rollback, WebRTC 1.0 4.4.1.5), then takes the other offer.
        await pc.setRemoteDescription(description);
        await this.flushCandidates(pc);
        if (description.type === "offer") {
          await pc.setLocalDescription(); // the answer
          if (pc === this.pc) this.send("rtc_description", pc.localDescription);
        }
      } else if (candidate) {
        if (!pc.remoteDescription) {
          // Not yet anything to add it to: keep it until the description is set.
          this.pendingCandidates.push(candidate);
          return;
        }
        await this.addCandidate(pc, candidate);
      }
    }

    async flushCandidates(pc) {
      const pending = this.pendingCandidates.splice(0);
      for (const candidate of pending) await this.addCandidate(pc, candidate);
    }

    async addCandidate(pc, candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (error) {
        // Candidates of an offer we ignored, or of a connection the other side has
        // since replaced, do not fit: expected, not worth a warning.
        if (!this.ignoreOffer) console.debug("candidate not added", error.message);
      }
    }

    send(event, payload) {
      const message =
        event === "rtc_description" ? { type: payload.type, sdp: payload.sdp } : dropNulls(payload);
      message.to = this.peer;
      BB.request(this.socket, event, message).catch((error) => {
        // not_in_call: the call ended while this was on its way. Nothing to do.
        if (error.code !== "not_in_call") console.warn(event, "refused:", error.code);
      });
    }

    updateState(pc) {
      if (pc !== this.pc || this.closed) return;
      const connected =
        pc.connectionState === "connected" ||
        (pc.connectionState === undefined &&
          ["connected", "completed"].includes(pc.iceConnectionState));
      this.setState(connected ? "connected" : "connecting");
    }

    setState(state) {
      if (this.state === state) return;
      this.state = state;
      if (this.container) this.container.dataset.callState = state;
      this.onStateChange(state);
    }

    /** Microphone on or off; the track stays, so turning it on needs no renegotiation. */
    setMicrophone(on) {
      this.media.microphone = on;
      setEnabled(this.localStream && this.localStream.getAudioTracks(), on);
      this.announceMedia();
    }

    setCamera(on) {
      this.media.camera = on;
      setEnabled(this.localStream && this.localStream.getVideoTracks(), on);
      this.announceMedia();
    }

    /** Tell the other side what it can expect to hear and see from us. */
    announceMedia() {
      if (this.closed) return;
      const live = (kind) =>
        Boolean(this.localStream) &&
        this.localStream.getTracks().some((t) => t.kind === kind && t.readyState === "live");
      this.send("media_state", {
        microphone: this.media.microphone && live("audio"),
        camera: this.media.camera && live("video") && !(this.quality && this.quality.audioOnly),
      });
    }

    showPeerMedia(state) {
      if (this.container) {
        this.container.dataset.peerMicrophone = state && state.microphone ? "on" : "off";
        this.container.dataset.peerCamera = state && state.camera ? "on" : "off";
      }
      if (!this.peerMedia) return;
      const notes = [];
      if (state && !state.microphone) notes.push(this.peerTexts.muted);
      if (state && !state.camera) notes.push(this.peerTexts.camera_off);
      this.peerMedia.textContent = notes.join(" · ");
      this.peerMedia.hidden = notes.length === 0;
    }

    closePeerConnection() {
      if (!this.pc) return;
      this.pc.onnegotiationneeded = this.pc.onicecandidate = this.pc.ontrack = null;
      this.pc.oniceconnectionstatechange = this.pc.onconnectionstatechange = null;
      this.pc.close();
      this.pc = null;
      if (this.remoteVideo) this.remoteVideo.srcObject = null;
    }

    /** End the call on this page: connection, listeners, camera and microphone. */
    close() {
      if (this.closed) return;
      this.closePeerConnection();
      for (const [event, listener] of Object.entries(this.listeners))
        this.socket.off(event, listener);
      if (this.ownsStream) BB.stopStream(this.localStream);
      this.localStream = null;
      this.setState("ended");
      this.closed = true;
    }
  }

  function setEnabled(tracks, on) {
    for (const track of tracks || []) track.enabled = on;
  }

  function withoutFrom(message) {
    const { from, ...rest } = message;
    return rest;
  }

  /** The server's schema has optional fields; null is not a string, so leave them out. */
  function dropNulls(object) {
    return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== null));
  }

  BB.Call = Call;

  /**
   * The seat of an interpreter or companion on the citizen's page and the clerk's
   * console: a connection of its own to the guest, sharing this page's camera and
   * microphone with the main call, and the one that offers (the guest answers). It
   * opens when the guest arrives (peer_joined, or the guest's first media_state,
   * whichever comes first), or when the guest's page speaks up after this page
   * reloaded, and closes when the guest leaves or the call ends.
   *
   * options: {tile (shown while a guest is there), video, note (says who it is),
   *           peerMedia, texts {interpreter, companion, guest, muted, camera_off},
   *           main () => the page's main Call (its configuration, camera and media
   *           state), onPresence(present) (optional: a guest came or went)}
   */
  class GuestSeat {
    constructor(socket, options) {
      this.socket = socket;
      this.options = options;
      this.call = null;
      // Each page of the guest has its own name (connection). Its arrival (peer_joined)
      // and its first offer may come in either order; a new name is a page that
      // replaced the old one (a reload): start over.
      socket.on("peer_joined", ({ role, kind, connection }) => {
        if (role !== "guest") return;
        if (!this.isCurrent(connection)) this.open(kind, connection);
        else BB.say(options.note, options.texts[kind] || options.texts.guest);
      });
      // A guest's page that this page has not heard of: its media_state comes first
      // (it answers, it never offers first), or an offer after this page reloaded.
      // A Call made now missed the message (listeners are fixed per dispatch).
      const unknown = (message) =>
        message.from === "guest" && !this.isCurrent(message.connection);
      socket.on("media_state", (message) => {
        if (!unknown(message)) return;
        const call = this.open(null, message.connection);
        if (call) call.showPeerMedia(message);
      });
      socket.on("rtc_description", (message) => {
        if (!unknown(message) || message.type !== "offer") return;
        const call = this.open(null, message.connection);
        if (call) call.receive({ description: { type: message.type, sdp: message.sdp } });
      });
      socket.on("peer_left", ({ role }) => {
        if (role === "guest") this.close();
      });
    }

    isCurrent(connection) {
      return Boolean(this.call) && this.call.connection === connection;
    }

    open(kind, connection) {
      const { tile, video, note, peerMedia, texts } = this.options;
      const main = this.options.main();
      if (this.call) this.call.close();
      this.call = null;
      if (!main || main.closed) return null;
      this.call = new BB.Call(this.socket, {
        peer: "guest",
        polite: false, // the guest yields towards both others
        configuration: main.configuration,
        remoteVideo: video,
        container: tile,
        ownsStream: false,
        rejoins: false,
        peerMedia,
        peerTexts: { muted: texts.muted, camera_off: texts.camera_off },
      });
      this.call.connection = connection;
      Object.assign(this.call.media, main.media); // muted here means muted for all
      // This side offers to the guest: with its camera, or else asking to receive.
      if (main.localStream) this.call.attach(main.localStream);
      else this.call.receiveOnly();
      if (kind || !note.textContent) BB.say(note, texts[kind] || texts.guest);
      tile.hidden = false;
      if (this.options.onPresence) this.options.onPresence(true);
      return this.call;
    }

    /** The page's camera started after the guest arrived. */
    attach(stream) {
      if (this.call) this.call.attach(stream);
    }

    close() {
      if (this.call) this.call.close();
      this.call = null;
      this.options.tile.hidden = true;
      BB.say(this.options.note, "");
      if (this.options.onPresence) this.options.onPresence(false);
    }
  }

  BB.GuestSeat = GuestSeat;

  /** Mute and camera buttons: toggle buttons (aria-pressed) with a fixed name, as
   * WAI-ARIA's button pattern asks (a name that changed with the state would be read
   * as the opposite state). What is off is also said in words beside them (``status``,
   * with texts {muted, camera_off}), and Alt+M / Alt+K toggle them from anywhere. */
  BB.mediaToggles = function (getCall /* a Call, or a list of them */, microphoneButton, cameraButton, status, texts) {
    const say = () => {
      if (!status) return;
      const notes = [];
      if (microphoneButton.getAttribute("aria-pressed") === "true") notes.push(texts.muted);
      if (cameraButton.getAttribute("aria-pressed") === "true") notes.push(texts.camera_off);
      status.textContent = notes.join(" ");
    };
    const toggle = (button, apply) => {
      button.addEventListener("click", () => {
        const off = button.getAttribute("aria-pressed") !== "true";
        button.setAttribute("aria-pressed", String(off));
        say();
        // The page's camera goes to every member: each connection tells its peer.
        for (const call of [].concat(getCall() || [])) if (call) apply(call, !off);
      });
    };
    toggle(microphoneButton, (call, on) => call.setMicrophone(on));
    toggle(cameraButton, (call, on) => call.setCamera(on));
    document.addEventListener("keydown", (event) => {
      if (!event.altKey || event.ctrlKey || event.metaKey) return;
      // By key position (event.code): Alt+K types a character of its own on a Mac.
      const button = { KeyM: microphoneButton, KeyK: cameraButton }[event.code];
      if (!button || button.offsetParent === null) return; // not on screen: no call
      event.preventDefault();
      button.click();
    });
    return function reset() {
      microphoneButton.setAttribute("aria-pressed", "false");
      cameraButton.setAttribute("aria-pressed", "false");
      say();
    };
  };

  // -- chat -------------------------------------------------------------------------

  /** The text chat of a call: a form, and a log that screen readers announce. The
   * server keeps the call's messages while it lasts: a page that reloads or
   * reconnects fetches them again (load). */
  class Chat {
    constructor(socket, form, log, labels) {
      this.socket = socket;
      this.log = log;
      this.labels = labels; // {role (this side: "citizen" | "clerk"), me, citizen, clerk, failed}
      this.input = form.querySelector("input, textarea");
      socket.on("chat_received", (message) => this.add(message));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const text = this.input.value.trim();
        if (!text) return;
        try {
          this.add(await BB.request(socket, "chat_send", { text }), true);
          this.input.value = "";
        } catch (error) {
          this.add({ from: "system", text: labels.failed, at: new Date().toISOString() });
        }
        this.input.focus();
      });
    }

    add(message, mine = false) {
      const item = document.createElement("li");
      const who = document.createElement("span");
      who.className = "bb-chat__from";
      who.textContent = (mine ? this.labels.me : this.labels[message.from] || "") + ": ";
      const time = document.createElement("time");
      time.dateTime = message.at;
      time.className = "bb-chat__time";
      time.textContent = new Date(message.at).toLocaleTimeString(document.documentElement.lang, {
        hour: "2-digit",
        minute: "2-digit",
      });
      item.append(who, document.createTextNode(message.text + " "), time);
      this.log.append(item);
      this.log.scrollTop = this.log.scrollHeight;
    }

    clear() {
      this.log.replaceChildren();
    }

    /** The call's messages so far, in place of what the log shows. */
    async load() {
      let messages;
      try {
        messages = await BB.request(this.socket, "chat_history", {});
      } catch (error) {
        return; // not (or no longer) in a call: nothing to show
      }
      this.clear();
      for (const message of messages) this.add(message, message.from === this.labels.role);
    }
  }

  BB.Chat = Chat;
})();
