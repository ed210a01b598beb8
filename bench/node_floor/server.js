// What a town's IT would pick instead of us: Node's socket.io, speaking the protocol of
// bench/signalling_load.py, as the python floor (bench/signalling_server.py) does.
//
//   node server.js relay   --origin URL   citizens relay rtc_candidate to their pair's clerk
//   node server.js waiting --origin URL   one waiting room: queue_join, queue_next, call_end
//
// Both use the same transport settings as ours (websocket only, no compression), refuse
// another Origin, answer commands with our acknowledgement shape ({ok, data}) and serve
// GET /cpu on a second port: the process's CPU seconds (user + system, all threads) and
// resident bytes. When ready the process prints "READY <port> <control port>"; it stops
// on SIGTERM/SIGINT and when its stdin (a pipe from the bench) closes.
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const [, , mode, flag, origin] = process.argv;
if (!["relay", "waiting"].includes(mode) || flag !== "--origin" || !origin) {
  console.error("usage: node server.js relay|waiting --origin URL");
  process.exit(2);
}

const httpServer = http.createServer();
const io = new Server(httpServer, {
  transports: ["websocket"],
  perMessageDeflate: false,
  serveClient: false,
  // The origin check python-socketio makes on a websocket (CORS covers only polling).
  allowRequest: (req, callback) => callback(null, req.headers.origin === origin),
});

const OK = (data = null) => ({ ok: true, data });

function relay() {
  const clerkOfPair = new Map();
  io.of("/clerk").on("connection", (socket) => {
    clerkOfPair.set(Number(socket.handshake.auth.pair), socket.id);
  });
  const clerks = io.of("/clerk");
  io.of("/citizen").on("connection", (socket) => {
    const pair = Number(socket.handshake.auth.pair);
    socket.on("rtc_candidate", (data, ack) => {
      clerks.to(clerkOfPair.get(pair)).emit("rtc_candidate", data);
      if (typeof ack === "function") ack(OK());
    });
  });
}

// The waiting room as ours broadcasts it: after a change, each citizen whose place
// moved gets queue_updated with its new standing; the head goes to the clerk's call.
function waiting() {
  const queue = []; // citizen sockets in order
  const told = new Map(); // socket id -> last position sent
  const MINUTES = 10;

  function push() {
    queue.forEach((socket, rank) => {
      const position = rank + 1;
      if (told.get(socket.id) === position) return;
      told.set(socket.id, position);
      socket.emit("queue_updated", {
        position,
        estimate_minutes: rank * MINUTES,
        clerks_online: 1,
      });
    });
  }

  // Places go by appointment time, as ours: the bench's auth.order stands for it.
  const order = (socket) => Number(socket.handshake.auth.order);
  function insert(socket) {
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (order(queue[middle]) < order(socket)) low = middle + 1;
      else high = middle;
    }
    queue.splice(low, 0, socket);
  }

  io.of("/citizen").on("connection", (socket) => {
    socket.emit("state_synced", { state: "connected" });
    socket.on("queue_join", (data, ack) => {
      if (!queue.includes(socket)) insert(socket);
      const position = queue.indexOf(socket) + 1;
      told.set(socket.id, position);
      ack(OK({ state: "waiting", position }));
      push();
    });
    socket.on("disconnect", () => {
      const at = queue.indexOf(socket);
      told.delete(socket.id);
      if (at >= 0) {
        queue.splice(at, 1);
        push();
      }
    });
  });
  io.of("/clerk").on("connection", (socket) => {
    socket.emit("state_synced", { state: "available" });
    socket.on("queue_next", (data, ack) => {
      const head = queue.shift();
      if (!head) return ack({ ok: false, error: { code: "queue_empty", message: "" } });
      told.delete(head.id);
      const appointment_id = head.handshake.auth.appointment;
      head.emit("call_assigned", { appointment_id });
      ack(OK({ citizen: { appointment_id } }));
      push();
    });
    socket.on("call_end", (data, ack) => ack(OK()));
  });
}

(mode === "relay" ? relay : waiting)();

const control = http.createServer((req, res) => {
  const { user, system } = process.cpuUsage();
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify({ cpu: (user + system) / 1e6, rss: process.memoryUsage().rss }));
});

function stop() {
  io.close();
  control.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.stdin.on("end", stop);
process.stdin.resume();

httpServer.listen(0, "127.0.0.1", () => {
  control.listen(0, "127.0.0.1", () => {
    console.log(`READY ${httpServer.address().port} ${control.address().port}`);
  });
});
