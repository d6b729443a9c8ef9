// An attacker in a process of its own (so that its work does not slow the test's own clients):
// opens N Socket.IO connections to /visitor with one token, all at once, and prints one JSON
// line counting the outcomes (`connected`, or the connect_error message).
//
//   node attack-sockets.mjs URL SITE_KEY TOKEN N
import { io } from "socket.io-client";

const [url, siteKey, token, n] = process.argv.slice(2);
const sockets = [];
const outcomes = await Promise.all(
  Array.from({ length: Number(n) }, () => {
    const s = io(`${url}/visitor`, {
      auth: { siteKey, token },
      transports: ["websocket"],
      forceNew: true,
      reconnection: false,
      timeout: 15000,
    });
    sockets.push(s);
    return new Promise((resolve) => {
      s.once("connect", () => resolve("connected"));
      s.once("connect_error", (e) => resolve(e.message));
    });
  }),
);
const counts = {};
for (const o of outcomes) counts[o] = (counts[o] ?? 0) + 1;
process.stdout.write(JSON.stringify(counts) + "\n");
// Hold the accepted sockets until told to let go (stdin closes).
process.stdin.resume();
process.stdin.on("end", () => {
  for (const s of sockets) s.disconnect();
  process.exit(0);
});
