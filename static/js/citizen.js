/* The citizen's page at /termin/warteraum: device check, waiting room, call, end.
 *
 * The server decides where the citizen is (docs/protocol.md, namespace /citizen):
 * on connect it sends state_synced, and call_assigned again during a call, so a
 * reloaded page goes straight back to where it was. The views are sections with
 * data-view in waiting_room.html; this script only switches between them and fills
 * in what changes. Needs call.js (window.BB) and the Socket.IO client (window.io).
 */
"use strict";

(function () {
  const BB = window.BB;
  const texts = BB.texts();
  const $ = (id) => document.getElementById(id);
  const fill = (key, values) =>
    (texts[key] || "").replace(/\{(\w+)\}/g, (match, name) =>
      name in values ? values[name] : match,
    );
  const pageTitle = document.title;

  const socket = BB.connect("/citizen");
  let view = "check";
  let call = null;
  let checkStream = null; // the device check's camera and microphone
  let stopMeter = () => {};
  let peerAway = false; // the clerk's connection dropped; they have a grace period
  const verification = new BB.CitizenVerification(socket, () => call); // verification.js

  function show(name) {
    view = name;
    BB.showView(name);
  }

  // -- connection -------------------------------------------------------------------

  socket.on("connect", () => BB.say($("connection"), ""));
  socket.on("disconnect", (reason) => {
    if (reason !== "io client disconnect") BB.say($("connection"), texts.connection_lost);
  });
  socket.on("connect_error", (error) => {
    // A refusal carries {code, message}; anything else is the network, and the
    // client keeps retrying by itself.
    const code = error.data && error.data.code;
    if (code === "protocol_version") BB.say($("connection"), texts.error_generic);
    else if (code) BB.say($("connection"), texts.connection_refused);
    else BB.say($("connection"), texts.connection_lost);
  });

  socket.on("state_synced", ({ state }) => {
    // "in_call": call_assigned came with it and has already switched the view.
    // "waiting" (a reload or a reconnect while waiting): back into the waiting room
    // without the device check; the place in the queue is kept.
    if (state === "waiting" || (state === "idle" && view === "waiting")) joinQueue();
  });

  // -- 1. device check --------------------------------------------------------------

  const PROBLEMS = {
    NotAllowedError: "denied",
    SecurityError: "denied",
    NotFoundError: "notfound",
    OverconstrainedError: "notfound",
    NotReadableError: "busy",
    AbortError: "busy",
  };

  function showProblem(kind) {
    $("check-problem-title").textContent = texts["problem_" + kind + "_title"] || "";
    $("check-problem-text").textContent = texts["problem_" + kind] || texts.error_generic;
    $("check-problem").hidden = false;
    const help = $("permission-help");
    help.hidden = kind !== "denied";
    help.open = kind === "denied";
  }

  async function startCheck() {
    $("check-problem").hidden = true;
    $("permission-help").hidden = true;
    BB.say($("check-status"), texts.device_check_running);
    BB.audioContext(); // inside the click: audio may start now, for the meter and the chime
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      BB.say($("check-status"), "");
      showProblem("unsupported");
      return;
    }
    let media;
    try {
      media = await BB.getMedia();
    } catch (error) {
      BB.say($("check-status"), "");
      showProblem(PROBLEMS[error.name] || "generic");
      return;
    }
    stopCheck();
    checkStream = media.stream;
    BB.play($("preview"), checkStream);
    stopMeter = meter(checkStream, $("mic-level"));
    const notes = [texts.device_check_ok];
    if (media.missing === "camera") notes.push(texts.problem_no_camera);
    if (media.missing === "microphone") notes.push(texts.problem_no_microphone);
    BB.say($("check-status"), notes.join(" "));
    $("check-done").disabled = false;
  }

  /** Show the microphone's loudness in a <meter>: its value is set from script, so
   * the strict CSP (no inline styles) is no obstacle. Returns a function to stop. */
  function meter(stream, element) {
    const context = BB.audioContext();
    if (!context || stream.getAudioTracks().length === 0) return () => {};
    const source = context.createMediaStreamSource(stream);
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser); // not to the speakers: no echo of one's own voice
    const samples = new Float32Array(analyser.fftSize);
    let frame = 0;
    const draw = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      // Speech has an RMS of roughly 0.02-0.2; scale it so talking fills most of the bar.
      element.value = Math.min(1, Math.sqrt(sum / samples.length) * 5);
      frame = requestAnimationFrame(draw);
    };
    draw();
    return () => {
      cancelAnimationFrame(frame);
      source.disconnect();
      element.value = 0;
    };
  }

  function stopCheck() {
    stopMeter();
    stopMeter = () => {};
    $("preview").srcObject = null;
    BB.stopStream(checkStream);
    checkStream = null;
  }

  $("check-start").addEventListener("click", startCheck);
  $("check-done").addEventListener("click", () => {
    // The camera is off while waiting (its light would stay on for many minutes);
    // the browser remembers the permission, so the call gets it back at once.
    stopCheck();
    joinQueue();
  });

  // -- 2. waiting room --------------------------------------------------------------

  function showStanding({ position, estimate_minutes: minutes }) {
    let wait;
    if (minutes === null || minutes === undefined) wait = texts.queue_no_clerk;
    else if (minutes === 0) wait = texts.queue_next_up;
    else wait = fill("queue_estimate", { minutes });
    BB.say($("queue-status"), fill("queue_position", { position }) + " " + wait);
  }

  async function joinQueue() {
    if (view !== "waiting") show("waiting");
    try {
      const answer = await BB.request(socket, "queue_join");
      if (answer.state === "waiting" && view === "waiting") showStanding(answer);
      // "in_call": call_assigned is on its way.
    } catch (error) {
      BB.say(
        $("queue-status"),
        texts["error_" + error.code] || error.message || texts.error_generic,
      );
    }
  }

  socket.on("queue_updated", (update) => {
    if (view === "waiting") showStanding(update);
  });

  BB.notificationButton($("notify"), $("notify-status"), texts);

  $("leave").addEventListener("click", async () => {
    try {
      await BB.request(socket, "queue_leave");
    } finally {
      window.location.assign("/termin");
    }
  });

  // -- 3. called, and 4. the call ---------------------------------------------------

  // An interpreter or companion the clerk invited: a tile of their own on the stage.
  const guest = new BB.GuestSeat(socket, {
    tile: $("guest-tile"),
    video: $("guest-video"),
    note: $("guest-note"),
    peerMedia: $("guest-media"),
    texts: {
      interpreter: texts.guest_interpreter,
      companion: texts.guest_companion,
      guest: texts.guest_guest,
      muted: texts.guest_muted,
      camera_off: texts.guest_camera_off,
    },
    main: () => call,
  });
  const resetToggles = BB.mediaToggles(() => [call, guest.call], $("mute"), $("camera"), $("own-media"), {
    muted: texts.own_muted,
    camera_off: texts.own_camera_off,
  });
  const chat = new BB.Chat(socket, $("chat-form"), $("chat-log"), {
    role: "citizen",
    me: texts.chat_me,
    clerk: texts.chat_clerk,
    failed: texts.chat_failed,
  });

  socket.on("call_assigned", (assignment) => {
    if (call && call.id === assignment.call_id) {
      // Our socket reconnected: the clerk was told (peer_joined) and starts over too.
      call.reset(BB.rtcConfiguration(assignment));
      verification.callStarted(assignment);
      chat.load(); // what was said while this socket was away
      return;
    }
    startCall(assignment);
  });

  function startCall(assignment) {
    const called = view === "waiting";
    stopMeter();
    if (call) call.close();
    call = new BB.Call(socket, {
      peer: "clerk",
      polite: assignment.polite,
      configuration: BB.rtcConfiguration(assignment),
      remoteVideo: $("remote-video"),
      container: $("stage"),
      onStateChange: (state) => {
        if (state === "connected") peerAway = false;
        if (state === "ended") return;
        BB.say($("call-status"), peerAway ? texts.call_peer_left : texts["call_" + state]);
      },
      onPlaybackBlocked: () => ($("play").hidden = false),
      peerMedia: $("peer-media"),
      peerTexts: { muted: texts.peer_muted, camera_off: texts.peer_camera_off },
    });
    call.id = assignment.call_id;
    verification.callStarted(assignment);
    resetToggles();
    chat.clear();
    chat.load(); // a page reloaded during the call shows what was said
    $("call-with").textContent = fill("call_with", { clerk: assignment.clerk_name });
    document.title = texts.called_title + " – " + pageTitle;
    show("call");
    if (called) {
      BB.chime();
      BB.notify(texts.called_title, fill("called_body", { clerk: assignment.clerk_name }));
    }
    attachCamera(call);
  }

  async function attachCamera(forCall) {
    let stream = checkStream;
    checkStream = null; // the call owns it now, and stops it at the end
    if (!stream || stream.getTracks().some((track) => track.readyState !== "live")) {
      BB.stopStream(stream);
      try {
        stream = (await BB.getMedia()).stream;
      } catch (error) {
        // Without camera and microphone the citizen still sees, hears and can chat.
        BB.say($("connection"), texts["problem_" + (PROBLEMS[error.name] || "notfound")]);
        return;
      }
    }
    if (forCall !== call || forCall.closed) {
      BB.stopStream(stream);
      return;
    }
    forCall.attach(stream);
    forCall.setMicrophone($("mute").getAttribute("aria-pressed") !== "true");
    forCall.setCamera($("camera").getAttribute("aria-pressed") !== "true");
    guest.attach(stream);
    BB.play($("local-video"), stream);
  }

  function endCall() {
    guest.close();
    if (call) call.close();
    call = null;
    verification.callEnded();
    $("local-video").srcObject = null;
    $("play").hidden = true;
    document.title = pageTitle;
  }

  socket.on("peer_left", ({ role }) => {
    if (role !== "clerk") return; // a guest who leaves closes their tile (GuestSeat)
    peerAway = true;
    BB.say($("call-status"), texts.call_peer_left);
  });
  // Registered before any Call's own peer_joined listener, so this runs first and the
  // Call's reset then reports "connecting".
  socket.on("peer_joined", ({ role }) => {
    if (role === "clerk") peerAway = false;
  });

  socket.on("returned_to_queue", ({ reason }) => {
    endCall();
    show("waiting");
    BB.say($("queue-note"), texts["returned_" + reason] || "");
    joinQueue(); // idempotent: reads the (front) place back for the status line
  });

  // The clerk asked for the fee by PayPal: the approval link, to open beside the call.
  socket.on("case_payment_link", ({ reference, url }) => {
    const link = Object.assign(document.createElement("a"), {
      href: url,
      target: "_blank",
      rel: "noopener",
      className: "kern-link",
      textContent: texts.status_pay_paypal + " (" + reference + ")",
    });
    const item = document.createElement("li");
    item.append(link);
    $("payment-links").append(item);
  });

  // Cancelled, moved, deleted or lapsed (from this or another tab, or by the office):
  // the place in the waiting room is gone and the server closes this connection.
  socket.on("appointment_closed", ({ reason }) => {
    endCall();
    stopCheck();
    for (const note of document.querySelectorAll("[data-closed-reason]")) {
      note.hidden = note.dataset.closedReason !== reason;
    }
    show("closed");
    socket.disconnect();
  });

  socket.on("call_ended", () => {
    endCall();
    show("ended");
    socket.disconnect(); // nothing more to hear about
  });

  $("play").addEventListener("click", () => {
    $("play").hidden = true;
    $("remote-video")
      .play()
      .catch(() => {});
  });

  $("hang-up").addEventListener("click", async () => {
    if (!window.confirm(texts.hang_up_confirm)) return;
    try {
      await BB.request(socket, "call_hangup");
      // call_ended follows and switches the view.
    } catch (error) {
      if (error.code === "not_in_call") {
        endCall();
        show("ended");
      }
    }
  });
})();
