/* The page of an interpreter or companion (templates/guest.html, docs/protocol.md
 * "/guest"): after the guest starts camera and microphone, the page connects with its
 * session cookie and holds one connection to the clerk and one to the citizen (a
 * mesh of three), yielding towards both. It can mute, turn the camera off and leave;
 * it sees no chat, no identity check and no case.
 */
"use strict";

(function () {
  const texts = BB.texts();
  const $ = (id) => document.getElementById(id);
  const MEMBERS = ["clerk", "citizen"];
  const calls = {}; // member -> BB.Call
  let stream = null;
  let socket = null;

  const resetToggles = BB.mediaToggles(
    () => Object.values(calls),
    $("mute"),
    $("camera"),
    $("own-media"),
    { muted: texts.own_muted, camera_off: texts.own_camera_off },
  );

  $("join").addEventListener("click", async () => {
    $("join").disabled = true;
    try {
      stream = (await BB.getMedia()).stream;
      BB.play($("local-video"), stream);
    } catch (error) {
      BB.say($("join-status"), texts.no_camera); // the guest still sees and hears
    }
    connect();
  });

  function connect() {
    socket = BB.connect("/guest");
    socket.on("connect", () => BB.say($("connection"), ""));
    socket.on("disconnect", (reason) => {
      if (reason !== "io client disconnect") BB.say($("connection"), texts.connection_lost);
    });
    socket.on("connect_error", (error) => {
      if (error.data && error.data.code) end("refused"); // the call is over, or withdrawn
    });
    socket.on("guest_admitted", admitted);
    socket.on("call_ended", ({ reason }) => end(reason));
  }

  /** In the call (again, after a reconnect): a connection to each of the two others. */
  function admitted(assignment) {
    const configuration = BB.rtcConfiguration(assignment);
    for (const member of MEMBERS) {
      if (calls[member]) {
        calls[member].reset(configuration);
        continue;
      }
      calls[member] = new BB.Call(socket, {
        peer: member,
        polite: assignment.polite,
        answersFirst: true, // the two others offer (GuestSeat): no glare on arrival
        configuration,
        remoteVideo: $(member + "-video"),
        container: $(member + "-tile"),
        ownsStream: false, // one camera for both connections; the page stops it
        onStateChange: () => showState(),
        onPlaybackBlocked: () => ($("play").hidden = false),
        peerMedia: $(member + "-media"),
        peerTexts: { muted: texts[member + "_muted"], camera_off: texts[member + "_camera_off"] },
      });
      if (stream) calls[member].attach(stream);
    }
    BB.say($("call-with"), texts.call_with);
    if (document.body.dataset.view !== "call") {
      resetToggles();
      BB.showView("call");
    }
  }

  /** "Verbunden." once both connections are up. */
  function showState() {
    const states = Object.values(calls).map((call) => call.state);
    const connected = states.length === MEMBERS.length && states.every((s) => s === "connected");
    BB.say($("call-status"), connected ? texts.call_connected : texts.call_connecting);
  }

  function end(reason) {
    for (const member of Object.keys(calls)) {
      calls[member].close();
      delete calls[member];
    }
    BB.stopStream(stream);
    stream = null;
    $("local-video").srcObject = null;
    if (socket) socket.disconnect();
    for (const note of document.querySelectorAll("[data-ended-reason]")) {
      note.hidden = note.dataset.endedReason !== reason;
    }
    BB.showView("ended");
  }

  $("leave").addEventListener("click", () => {
    if (window.confirm(texts.leave_confirm)) end("left");
  });

  $("play").addEventListener("click", () => {
    $("play").hidden = true;
    for (const member of MEMBERS) {
      $(member + "-video")
        .play()
        .catch(() => {});
    }
  });
})();
