// The Engine.IO heartbeat: the server pings every connection, closes one whose client stops
// answering, and keeps one that answers. The server runs with a 200 ms ping interval and a
// 300 ms ping timeout (PARLOR_PING_INTERVAL_MS, PARLOR_PING_TIMEOUT_MS).
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, nextEvent, disconnected, visitorSay, assertMessage, sleep } from "./support.mjs";

const PING_INTERVAL = 200;
const PING_TIMEOUT = 300;
let srv;
before(async () => {
  srv = await startServer({
    env: { PARLOR_PING_INTERVAL_MS: String(PING_INTERVAL), PARLOR_PING_TIMEOUT_MS: String(PING_TIMEOUT) },
  });
});
after(async () => { await srv?.dispose(); });
afterEach(() => srv.closeClients());

/** From now on the client's Engine.IO socket receives pings but never answers them. */
function stopAnsweringPings(socket) {
  const engine = socket.io.engine;
  const send = engine._sendPacket.bind(engine);
  engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
}

for (const transport of ["websocket", "polling"]) {
  describe(`heartbeat over ${transport}`, () => {
    it("a connection that answers pings stays open", async () => {
      const { site, agent } = await srv.siteWithAgent();
      const v = await srv.visitor(site.siteKey, { transports: [transport] });
      let pings = 0;
      v.socket.io.engine.on("ping", () => pings++);
      await sleep(6 * PING_INTERVAL);
      assert.ok(v.socket.connected, "still connected after several ping intervals");
      assert.ok(pings >= 3, `the server pinged (${pings} pings)`);
      const sent = await visitorSay(v.socket, "still here");
      assertMessage(await nextEvent(agent, "message", (m) => m.id === sent.id), { text: "still here" });
    });

    it("a connection whose client stops answering pings is closed and its visitor goes offline", async () => {
      const { site, agent } = await srv.siteWithAgent();
      const v = await srv.visitor(site.siteKey, { transports: [transport] });
      const convId = v.session.conversation.id;
      stopAnsweringPings(v.socket);
      await disconnected(v.socket, PING_INTERVAL + PING_TIMEOUT + 3000);
      const offline = await nextEvent(agent, "presence", (p) => p.conversationId === convId && p.online === false);
      assert.deepEqual(offline, { conversationId: convId, online: false });
    });
  });
}
