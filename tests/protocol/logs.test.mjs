// Logs an operator can use: with PARLOR_LOG_FORMAT=json every line the server logs is a JSON
// object (timestamp, level, target, fields, and the request or socket span it happened in),
// and no secret appears anywhere in its output: not an agent's password, a JWT, a visitor
// token, the JWT secret, nor a connection's Engine.IO session id.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { startServer, visitorSay, agentSay, nextEvent, disconnected, unique, sleep } from "./support.mjs";

const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

describe("PARLOR_LOG_FORMAT=json", () => {
  it("writes every log line as JSON with level, target and fields, ids in spans, and never a secret", async (t) => {
    const jwtSecret = randomBytes(32).toString("hex");
    const srv = await startServer({
      env: {
        PARLOR_LOG_FORMAT: "json",
        // Everything, libraries included: what `info` writes is among it, and no level may
        // leak a secret (tungstenite's frame dumps are held back unless RUST_LOG names it).
        RUST_LOG: "trace",
        PARLOR_JWT_SECRET: jwtSecret,
        PARLOR_METRICS_LISTEN: "127.0.0.1:0",
      },
    });
    const secrets = { "the JWT secret": jwtSecret };
    let account;
    try {
      const site = await srv.createSite();
      const password = `pw-${unique("secret")}`;
      secrets["the agent's password"] = password;
      account = await srv.createAgent(site.siteKey, { password });
      secrets["the JWT"] = account.token;
      assert.equal((await srv.login(account.username, `wrong-${password}`)).status, 401);

      const { socket: agent } = await srv.agent(account.token);
      const polling = await srv.visitor(site.siteKey, { transports: ["polling"] });
      const ws = await srv.visitor(site.siteKey);
      secrets["a visitor token"] = polling.token;
      secrets["another visitor token"] = ws.token;
      secrets["a polling session id"] = polling.socket.io.engine.id;
      secrets["a WebSocket session id"] = ws.socket.io.engine.id;
      secrets["an agent session id"] = agent.io.engine.id;

      const m = await visitorSay(polling.socket, "hello");
      await nextEvent(agent, "message", (x) => x.id === m.id);
      await agentSay(agent, ws.session.conversation.id, "hi");
      // An unknown event, named like a secret, is ignored before anything could log its name.
      ws.socket.emit(`token-${ws.token}`, {});
      ws.socket.disconnect();
      await srv.visitor(site.siteKey, { token: ws.token });

      // The revocation sweep logs at info, with the agent and the connection.
      const gone = disconnected(agent, 5000);
      assert.equal((await srv.cli(["agent", "disable", "--username", account.username])).code, 0);
      await gone;
    } finally {
      await srv.dispose();
    }
    await sleep(100); // the last of the output after the exit

    const lines = srv.stderr.split("\n").filter((l) => l !== "");
    t.diagnostic(`${lines.length} log lines`);
    if (process.env.PARLOR_TEST_SHOW_LOGS) t.diagnostic(lines.join("\n"));
    const entries = lines.map((line) => {
      let entry;
      assert.doesNotThrow(() => (entry = JSON.parse(line)), `not JSON: ${line}`);
      assert.equal(typeof entry, "object", line);
      assert.equal(typeof entry.timestamp, "string", `timestamp: ${line}`);
      assert.ok(!Number.isNaN(Date.parse(entry.timestamp)), `timestamp: ${line}`);
      assert.ok(LEVELS.includes(entry.level), `level: ${line}`);
      assert.equal(typeof entry.target, "string", `target: ${line}`);
      assert.equal(typeof entry.fields, "object", `fields: ${line}`);
      return entry;
    });
    // Standard output carries the addresses, no log line.
    const stdout = srv.stdout.split("\n").filter((l) => l !== "");
    assert.deepEqual(stdout.map((l) => l.split(" ").slice(0, 2).join(" ")), ["listening on", "metrics on"]);

    const said = (message) => entries.filter((e) => e.fields.message === message);
    const [starting] = said("starting");
    assert.ok(starting, "the configuration is logged at start");
    assert.match(starting.fields.config, /jwt_secret: Some\("<redacted>"\)/);

    const CONN = /^[0-9a-f]{12}$/;
    const connected = said("visitor connected");
    assert.equal(connected.length, 3, "three visitor connections");
    for (const e of connected) {
      assert.equal(e.span.name, "socket");
      assert.equal(e.span.ns, "/visitor");
      assert.match(e.span.conn, CONN);
    }
    assert.equal(new Set(connected.map((e) => e.span.conn)).size, 3, "each connection has an id of its own");
    const disconnects = said("disconnected").filter((e) => e.span.ns === "/visitor");
    assert.ok(
      disconnects.some((e) => connected.some((c) => c.span.conn === e.span.conn)),
      "a connection's lines share its id",
    );
    const [revoked] = said("closing a connection whose token expired or was revoked");
    assert.ok(revoked, "the revocation is logged");
    assert.equal(revoked.fields.agent_id, account.id);
    assert.match(revoked.fields.conn, CONN);
    assert.equal(said("agent connected")[0]?.span.conn, revoked.fields.conn);

    const answered = said("answered");
    assert.ok(answered.length > 0, "HTTP requests are logged at debug");
    for (const e of answered) {
      assert.equal(e.span.name, "request");
      assert.ok(Number.isInteger(e.span.id) || /^\d+$/.test(e.span.id), `request id: ${JSON.stringify(e.span)}`);
      assert.ok(["GET", "POST"].includes(e.span.method));
      assert.ok(Number.isInteger(e.fields.status));
    }
    assert.equal(new Set(answered.map((e) => e.span.id)).size, answered.length, "one id per request");

    for (const [what, secret] of Object.entries(secrets)) {
      assert.ok(secret && secret.length >= 16, `${what} is known to the test`);
      assert.ok(!srv.output.includes(secret), `${what} appears in the server's output`);
    }
  });
});
