/* The clerk console at /sachbearbeitung: status, waiting list, today's appointments,
 * and the call (docs/protocol.md, namespace /clerk).
 *
 * The server pushes whole lists (queue_updated, day_updated); the tables are simply
 * rebuilt from them. Times are UNIX seconds and shown in the town's time zone.
 * Needs call.js (window.BB) and the Socket.IO client (window.io).
 */
"use strict";

(function () {
  const BB = window.BB;
  const texts = BB.texts();
  const $ = (id) => document.getElementById(id);
  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (match, name) => (name in values ? values[name] : match));
  const timeZone = document.querySelector("[data-timezone]").dataset.timezone;
  const clock = new Intl.DateTimeFormat("de-DE", { hour: "2-digit", minute: "2-digit", timeZone });
  const hhmm = (seconds) => clock.format(new Date(seconds * 1000));
  const now = () => Date.now() / 1000;

  const socket = BB.connect("/clerk");
  let state = null; // available | away | after_call | in_call
  let queue = { waiting: [], lights: { yellow_after_seconds: 300, red_after_seconds: 900 } };
  let call = null;
  let busy = false; // a take is on its way: no second one
  const verification = new BB.ClerkVerification(socket); // verification.js
  const cases = new BB.CasePanel(socket); // cases.js
  const guests = new BB.GuestPanel(socket, texts.guest); // guests.js

  // -- connection -------------------------------------------------------------------

  socket.on("connect", () => BB.say($("connection"), ""));
  // The server closes a staff socket only when its session ended (logged out elsewhere,
  // account changed or deactivated): the console must not stay open on it. On to the
  // login, after saying why.
  function sessionOver() {
    BB.say($("connection"), texts.connection_refused);
    setTimeout(() => window.location.assign("/anmelden"), 1500);
  }
  socket.on("disconnect", (reason) => {
    if (reason === "io server disconnect") sessionOver();
    else if (reason !== "io client disconnect") BB.say($("connection"), texts.connection_lost);
  });
  socket.on("connect_error", (error) => {
    const code = error.data && error.data.code;
    if (code === "protocol_version") BB.say($("connection"), texts.reload);
    else if (code === "not_authorised") sessionOver();
    else if (code) BB.say($("connection"), texts.connection_refused);
    else BB.say($("connection"), texts.connection_lost);
  });

  socket.on("state_synced", ({ state: synced, in_call: inCall }) => {
    // After a reconnect: a call that ended meanwhile is over here too.
    if (!inCall && call) endCall(null);
    showState(synced);
  });

  // -- status -----------------------------------------------------------------------

  function showState(value) {
    state = value;
    const inCall = value === "in_call";
    for (const radio of document.querySelectorAll("input[name=state]")) {
      radio.checked = radio.value === value;
      radio.disabled = inCall; // during a call the call decides
    }
    BB.say($("state-status"), fill(texts.state_now, { state: texts.states[value] || value }));
    renderQueue();
  }

  $("state").addEventListener("change", async (event) => {
    try {
      showState((await BB.request(socket, "clerk_state", { state: event.target.value })).state);
    } catch (error) {
      note(error);
      showState(state); // put the radios back to what the server knows
    }
  });

  function note(errorOrText) {
    const text =
      typeof errorOrText === "string"
        ? errorOrText
        : texts.errors[errorOrText.code] || errorOrText.message;
    BB.say($("console-note"), text);
  }

  // -- the waiting list -------------------------------------------------------------

  /** How late the office is for this citizen: text first, colour only as a hint. */
  function light(entry) {
    const late = now() - entry.appointment_at;
    const { yellow_after_seconds: yellow, red_after_seconds: red } = queue.lights;
    if (late >= red)
      return {
        level: "red",
        badge: "danger",
        text: fill(texts.lights.red, { minutes: Math.round(red / 60) }),
      };
    if (late >= yellow)
      return {
        level: "yellow",
        badge: "warning",
        text: fill(texts.lights.yellow, { minutes: Math.round(yellow / 60) }),
      };
    return { level: "green", badge: "success", text: texts.lights.green };
  }

  function cell(content) {
    const td = document.createElement("td");
    td.className = "kern-table__cell";
    if (content instanceof Node) td.append(content);
    else td.textContent = content;
    return td;
  }

  function badge(kind, text) {
    const span = document.createElement("span");
    span.className = `kern-badge kern-badge--${kind}`;
    const icon = document.createElement("span");
    icon.className = `kern-icon kern-icon--${kind}`;
    icon.setAttribute("aria-hidden", "true");
    const label = document.createElement("span");
    label.className = "kern-label";
    label.textContent = text;
    span.append(icon, label);
    return span;
  }

  function renderQueue() {
    const rows = queue.waiting.map((entry) => {
      const row = document.createElement("tr");
      row.className = "kern-table__row";
      const signal = light(entry);
      row.dataset.light = signal.level;
      const service = document.createElement("span");
      service.textContent = entry.service_name;
      if (entry.returned) service.append(" ", badge("info", texts.returned));
      if (entry.handover) {
        const note = document.createElement("span");
        note.className = "bb-handover";
        note.textContent = fill(texts.handover, entry.handover);
        service.append(note);
      }
      const take = document.createElement("button");
      take.type = "button";
      take.className = "kern-btn kern-btn--secondary kern-btn--x-small";
      take.disabled = busy || call !== null;
      take.setAttribute("aria-label", fill(texts.take, { name: entry.name || entry.reference }));
      const takeLabel = document.createElement("span");
      takeLabel.className = "kern-label";
      takeLabel.textContent = texts.take_label;
      take.append(takeLabel);
      take.addEventListener("click", () =>
        takeCitizen("queue_take", { appointment_id: entry.appointment_id }),
      );
      const action = cell(take);
      action.classList.add("kern-table__cell--action");
      row.append(
        cell(service),
        cell(entry.name),
        cell(entry.reference),
        cell(hhmm(entry.appointment_at)),
        cell(
          fill(texts.minutes, {
            minutes: Math.max(0, Math.floor((now() - entry.checked_in_at) / 60)),
          }),
        ),
        cell(badge(signal.badge, signal.text)),
        action,
      );
      return row;
    });
    $("queue-rows").replaceChildren(...rows);
    const count = queue.total;
    const others = queue.others_waiting || 0;
    let summary =
      count === 0
        ? others > 0
          ? texts.nobody_for_you
          : texts.nobody_waiting
        : count === 1
          ? texts.one_waiting
          : fill(texts.many_waiting, { count });
    // Citizens she cannot serve: said, so an empty list does not look like an empty room.
    if (others === 1) summary += " " + texts.one_other;
    else if (others > 1) summary += " " + fill(texts.many_others, { count: others });
    BB.say($("queue-summary"), summary);
    $("next").disabled = busy || call !== null || count === 0;
  }

  socket.on("queue_updated", (update) => {
    queue = update;
    renderQueue();
  });
  // Waited times and lights move with the clock, not only with pushes.
  setInterval(renderQueue, 15000);

  socket.on("citizen_arrived", ({ service_name: service }) => {
    if (!document.hidden) return; // the list itself shows it
    BB.chime();
    BB.notify(texts.arrived_title, service);
  });

  BB.notificationButton($("notify"), $("notify-status"), texts);

  // -- today's appointments ---------------------------------------------------------

  socket.on("day_updated", ({ appointments }) => {
    const rows = appointments.map((entry) => {
      const row = document.createElement("tr");
      row.className = "kern-table__row";
      row.append(
        cell(hhmm(entry.starts_at)),
        cell(entry.service_name),
        cell(entry.name || "–"),
        cell(entry.reference),
        cell(texts.day_status[entry.status] || entry.status),
      );
      return row;
    });
    $("day-rows").replaceChildren(...rows);
    $("day-empty").hidden = rows.length > 0;
  });
  // No-shows and new bookings happen without a push to this clerk: ask now and then.
  setInterval(() => socket.connected && BB.request(socket, "day_refresh").catch(() => {}), 120000);

  // -- taking a citizen and the call ------------------------------------------------

  async function takeCitizen(event, payload) {
    busy = true;
    renderQueue();
    note("");
    try {
      startCall(await BB.request(socket, event, payload));
    } catch (error) {
      note(error);
    } finally {
      busy = false;
      renderQueue();
    }
  }

  $("next").addEventListener("click", () => takeCitizen("queue_next", {}));
  // Alt+N: the next person, from anywhere on the console (by key position: event.code).
  document.addEventListener("keydown", (event) => {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.code !== "KeyN") return;
    const next = $("next");
    if (next.disabled || next.offsetParent === null) return;
    event.preventDefault();
    next.click();
  });

  // The call's side panel: person, identity check, cases, chat; news counted on
  // the tabs that are not showing.
  document.body.classList.add("bb-console-page");
  const tabs = new BB.Tabs($("tab-person").parentElement, texts.tab_news);
  socket.on("chat_received", () => tabs.news("chat"));
  for (const event of ["capture_taken", "capture_analysed", "verification_updated"]) {
    socket.on(event, () => tabs.news("verification"));
  }
  socket.on("cases_updated", () => tabs.news("cases"));

  // An interpreter or companion the clerk invited: a tile of their own on the stage.
  const guest = new BB.GuestSeat(socket, {
    tile: $("guest-tile"),
    video: $("guest-video"),
    note: $("guest-note"),
    peerMedia: $("guest-media"),
    texts: texts.guest,
    main: () => call,
    onPresence: (present) => guests.guestPresent(present),
  });
  const resetToggles = BB.mediaToggles(() => [call, guest.call], $("mute"), $("camera"), $("own-media"), {
    muted: texts.own_muted,
    camera_off: texts.own_camera_off,
  });
  const chat = new BB.Chat(socket, $("chat-form"), $("chat-log"), {
    role: "clerk",
    me: texts.chat_me,
    citizen: texts.chat_citizen,
    failed: texts.chat_failed,
  });

  // Sent again on connect while in a call (a reload): rejoin it.
  socket.on("call_assigned", (assignment) => {
    if (call && call.id === assignment.call_id) {
      call.reset(BB.rtcConfiguration(assignment));
      chat.load(); // what was said while this socket was away
      verification.resume(); // and what the check got meanwhile
    } else startCall(assignment);
  });

  function startCall(assignment) {
    if (call) call.close();
    call = new BB.Call(socket, {
      peer: "citizen",
      polite: assignment.polite,
      configuration: BB.rtcConfiguration(assignment),
      remoteVideo: $("remote-video"),
      container: $("stage"),
      onStateChange: (callState) => {
        if (callState !== "ended") BB.say($("call-status"), texts["call_" + callState]);
      },
      onPlaybackBlocked: () => ($("play").hidden = false),
      peerMedia: $("peer-media"),
      peerTexts: { muted: texts.peer_muted, camera_off: texts.peer_camera_off },
    });
    call.id = assignment.call_id;
    const citizen = assignment.citizen;
    $("citizen-name").textContent = citizen.name || citizen.reference;
    $("citizen-service").textContent = citizen.service_name;
    $("citizen-reference").textContent = citizen.reference;
    $("citizen-time").textContent = hhmm(citizen.appointment_at);
    $("citizen-verification").textContent =
      texts.verification[String(citizen.verification_required)];
    showPhone(citizen.phone);
    const handover = $("citizen-handover");
    handover.hidden = !citizen.handover;
    handover.textContent = citizen.handover ? fill(texts.handover, citizen.handover) : "";
    $("citizen-documents").replaceChildren(
      ...citizen.documents.map((text) =>
        Object.assign(document.createElement("li"), { textContent: text }),
      ),
    );
    resetToggles();
    tabs.reset();
    chat.clear();
    chat.load(); // a console reloaded during the call shows what was said
    verification.callStarted(citizen);
    cases.callStarted(citizen);
    loadColleagues();
    showState("in_call");
    BB.showView("call");
    attachCamera(call);
  }

  /** The number the citizen gave at booking: the way to go on when video fails. */
  function showPhone(phone) {
    const cell = $("citizen-phone");
    if (!phone) {
      cell.textContent = texts.phone_none;
      return;
    }
    const link = Object.assign(document.createElement("a"), {
      className: "kern-link",
      href: "tel:" + phone.replace(/[^+\d]/g, ""),
      textContent: phone,
    });
    cell.replaceChildren(link, document.createTextNode(" (" + texts.phone_hint + ")"));
  }

  // Handing the citizen to a colleague of a skill, or to one by name, with a note.
  async function loadColleagues() {
    let colleagues;
    try {
      colleagues = await BB.request(socket, "colleagues");
    } catch (error) {
      return; // the list stays as it was
    }
    const select = $("transfer-to");
    const chosen = select.value;
    const anyone = select.options[0];
    select.replaceChildren(
      anyone,
      ...colleagues.map((colleague) => new Option(colleague.name, String(colleague.clerk_id))),
    );
    select.value = colleagues.some((c) => String(c.clerk_id) === chosen) ? chosen : "";
    $("transfer-skill").disabled = Boolean(select.value);
  }
  $("transfer-to").addEventListener("focus", loadColleagues);
  $("transfer-to").addEventListener("change", () => {
    // A colleague by name serves whatever the citizen came for: no skill to choose.
    $("transfer-skill").disabled = Boolean($("transfer-to").value);
  });

  $("transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const skill = $("transfer-skill").value;
    const colleague = $("transfer-to").value;
    const note = $("transfer-note").value.trim();
    if (!note) {
      BB.say($("transfer-status"), texts.transfer_note_missing);
      $("transfer-note").focus();
      return;
    }
    try {
      const target = colleague ? { clerk_id: Number(colleague) } : { skill };
      await BB.request(socket, "call_transfer", { ...target, note });
      $("transfer-note").value = "";
      BB.say($("transfer-status"), "");
      endCall(texts.transferred);
    } catch (error) {
      BB.say($("transfer-status"), error.message);
    }
  });

  async function attachCamera(forCall) {
    let stream;
    try {
      stream = (await BB.getMedia()).stream;
    } catch (error) {
      BB.say($("call-status"), texts.no_camera);
      return;
    }
    if (forCall !== call || forCall.closed) {
      BB.stopStream(stream); // the call ended while the camera started
      return;
    }
    forCall.attach(stream);
    guest.attach(stream);
    BB.play($("local-video"), stream);
  }

  function endCall(message) {
    guest.close();
    guests.callEnded();
    if (call) call.close();
    call = null;
    verification.callEnded();
    cases.callEnded();
    $("local-video").srcObject = null;
    $("play").hidden = true;
    BB.showView("console");
    if (message) note(message);
    renderQueue();
  }

  async function finish(event, message) {
    try {
      const answer = await BB.request(socket, event);
      endCall(message);
      showState(answer.state);
    } catch (error) {
      if (error.code === "not_in_call") endCall(texts.errors.not_in_call);
      else BB.say($("call-status"), texts.errors[error.code] || error.message);
    }
  }

  $("end").addEventListener("click", () => finish("call_end", texts.ended_completed));
  $("requeue").addEventListener("click", () => finish("call_requeue", texts.ended_requeued));

  socket.on("call_ended", () => {
    // The citizen left; the server has put the clerk into wrap-up, as after call_end.
    endCall(texts.ended_citizen_left);
    showState("after_call");
  });

  socket.on("peer_left", ({ role }) => {
    if (role === "citizen") BB.say($("call-status"), texts.peer_left);
  });

  $("play").addEventListener("click", () => {
    $("play").hidden = true;
    $("remote-video")
      .play()
      .catch(() => {});
  });
})();
