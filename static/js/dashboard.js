/* The admin dashboard at /dashboard: queues per service, clerks' states and calls in
 * progress, from dashboard_updated (docs/protocol.md, namespace /dashboard).
 *
 * Deliberately no per-clerk figures: the server sends none, and none are derived here.
 * Needs only the Socket.IO client (window.io).
 */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const timeZone = document.querySelector("[data-timezone]").dataset.timezone;
  const clock = new Intl.DateTimeFormat("de-DE", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZone,
  });
  const STATES = {
    available: "Verfügbar",
    away: "Pause",
    after_call: "Nachbearbeitung",
    in_call: "Im Gespräch",
  };
  let snapshot = { queues: [], clerks: [], calls: [] };

  const socket = window.io("/dashboard", { transports: ["websocket"], auth: { v: 1 } });
  socket.on("connect", () => ($("connection").textContent = ""));
  // The server closes a staff socket only when its session ended: the live view must
  // not stay open on it (as in clerk.js).
  function sessionOver() {
    $("connection").textContent = "Bitte melden Sie sich erneut an.";
    setTimeout(() => window.location.assign("/anmelden"), 1500);
  }
  socket.on("disconnect", (reason) => {
    if (reason === "io server disconnect") sessionOver();
    else $("connection").textContent = "Verbindung unterbrochen …";
  });
  socket.on("connect_error", (error) => {
    if (error.data && error.data.code === "not_authorised") return sessionOver();
    $("connection").textContent =
      error.data && error.data.code ? error.data.message : "Verbindung unterbrochen …";
  });
  socket.on("dashboard_updated", (update) => {
    snapshot = update;
    render();
    $("updated").textContent = "Stand: " + clock.format(new Date());
  });

  /** "12 Min." or "1 Std. 5 Min." since a UNIX time. */
  function since(seconds) {
    const minutes = Math.max(0, Math.floor((Date.now() / 1000 - seconds) / 60));
    return minutes < 60
      ? `${minutes} Min.`
      : `${Math.floor(minutes / 60)} Std. ${minutes % 60} Min.`;
  }

  function row(cells, numericFrom = cells.length) {
    const tr = document.createElement("tr");
    tr.className = "kern-table__row";
    cells.forEach((text, index) => {
      const td = document.createElement("td");
      td.className =
        "kern-table__cell" + (index >= numericFrom ? " kern-table__cell--numeric" : "");
      td.textContent = text;
      tr.append(td);
    });
    return tr;
  }

  function render() {
    const names = Object.fromEntries(snapshot.queues.map((q) => [q.service_id, q.service_name]));
    $("queue-rows").replaceChildren(
      ...snapshot.queues.map((q) =>
        row(
          [
            q.service_name,
            String(q.waiting),
            q.longest_waiting_since ? since(q.longest_waiting_since) : "–",
          ],
          1,
        ),
      ),
    );
    $("clerk-rows").replaceChildren(
      ...snapshot.clerks.map((c) => row([c.name, STATES[c.state] || c.state])),
    );
    const onDuty = snapshot.clerks.filter((c) => c.state !== "away").length;
    $("clerks-summary").textContent =
      `${snapshot.clerks.length} angemeldet, davon ${onDuty} im Dienst.`;
    $("call-rows").replaceChildren(
      ...snapshot.calls.map((c) =>
        row([names[c.service_id] || c.service_id, since(c.started_at)], 1),
      ),
    );
    $("calls-empty").hidden = snapshot.calls.length > 0;
    $("calls-table").hidden = snapshot.calls.length === 0;
    $("clerks-table").hidden = snapshot.clerks.length === 0;
  }

  // Durations move with the clock between pushes.
  setInterval(render, 10000);
})();
