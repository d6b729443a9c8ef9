// Authentication: login, agent JWTs, site keys, and the per-site Origin allowlist.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import {
  startServer, call, expectConnectError, assertId, sleep, unique,
} from "./support.mjs";

const b64url = (obj) => Buffer.from(JSON.stringify(obj)).toString("base64url");
const unb64url = (s) => JSON.parse(Buffer.from(s, "base64url").toString("utf8"));

async function agentRefused(srv, auth) {
  const err = await expectConnectError(srv.socket("/agent", { auth }));
  return err.message;
}

describe("login and agent tokens", () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.dispose(); });
  afterEach(() => srv.closeClients());

  it("login with the right password answers 200 with a token and the agent", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey, { name: "Dana Display", login: false });
    const res = await srv.login(acc.username, acc.password);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") || "", /application\/json/);
    assert.deepEqual(Object.keys(res.body).sort(), ["agent", "token"]);
    assert.equal(typeof res.body.token, "string");
    assert.equal(res.body.token.split(".").length, 3, "the token is a JWT");
    assert.deepEqual(Object.keys(res.body.agent).sort(), ["id", "name", "role", "siteId"]);
    assert.equal(res.body.agent.role, "agent", "agent create makes a plain agent by default");
    assertId(res.body.agent.id);
    assert.equal(String(res.body.agent.id), String(acc.id));
    assert.equal(res.body.agent.name, "Dana Display");
    assert.equal(String(res.body.agent.siteId), String(site.id));
  });

  it("login with a wrong password answers 401 with an error", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey, { login: false });
    const res = await srv.login(acc.username, "not the password");
    assert.equal(res.status, 401);
    assert.equal(typeof res.body, "object");
    assert.equal(typeof res.body.error, "string");
    assert.equal(res.body.token, undefined);
  });

  it("login with an unknown username answers 401 with an error", async () => {
    const res = await srv.login(unique("ghost"), "whatever");
    assert.equal(res.status, 401);
    assert.equal(typeof res.body.error, "string");
  });

  it("the login token opens the /agent namespace", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const a = await srv.agent(acc.token);
    assert.ok(a.socket.connected);
    assert.deepEqual(a.conversations, []);
  });

  it("an agent handshake without a token is refused with unauthorized", async () => {
    assert.equal(await agentRefused(srv, {}), "unauthorized");
  });

  it("an agent handshake with a garbage token is refused with unauthorized", async () => {
    assert.equal(await agentRefused(srv, { token: "not.a.jwt" }), "unauthorized");
    assert.equal(await agentRefused(srv, { token: 12345 }), "unauthorized");
  });

  it("a JWT with a tampered payload is refused with unauthorized", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const [h, p, s] = acc.token.split(".");
    const claims = unb64url(p);
    const tampered = { ...claims, exp: Math.floor(Date.now() / 1000) + 10 * 365 * 86400 };
    for (const k of Object.keys(claims)) if (typeof claims[k] === "string" && k !== "iss" && k !== "aud") tampered[k] = claims[k] + "x";
    assert.equal(await agentRefused(srv, { token: `${h}.${b64url(tampered)}.${s}` }), "unauthorized");
  });

  it("a JWT signed with another key is refused with unauthorized", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const [h, p] = acc.token.split(".");
    const header = unb64url(h);
    const body = `${b64url({ ...header, alg: "HS256" })}.${p}`;
    const sig = createHmac("sha256", "secret").update(body).digest("base64url");
    assert.equal(await agentRefused(srv, { token: `${body}.${sig}` }), "unauthorized");
  });

  it("an unsigned JWT (alg none) is refused with unauthorized", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const [, p] = acc.token.split(".");
    assert.equal(await agentRefused(srv, { token: `${b64url({ alg: "none", typ: "JWT" })}.${p}.` }), "unauthorized");
  });

  it("a visitor token is not an agent token", async () => {
    const site = await srv.createSite();
    const v = await srv.visitor(site.siteKey);
    assert.equal(await agentRefused(srv, { token: v.token }), "unauthorized");
  });

  it("the database holds neither visitor tokens nor agent passwords in clear", async () => {
    const site = await srv.createSite();
    const password = `pw-${unique("secret")}`;
    await srv.createAgent(site.siteKey, { password });
    const v = await srv.visitor(site.siteKey);
    await call(v.socket, "send", { clientId: "c1", text: "commit something" });
    const bytes = [srv.dbPath, `${srv.dbPath}-wal`].filter((f) => existsSync(f)).map((f) => readFileSync(f).toString("latin1")).join("");
    assert.ok(bytes.includes("commit something"), "sanity: the database files were found and read");
    assert.ok(!bytes.includes(v.token), "the visitor token is stored in clear");
    assert.ok(!bytes.includes(password), "the agent password is stored in clear");
  });

  it("a password change invalidates earlier tokens and the old password", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    await srv.setPassword(acc.username, "a brand new password");
    assert.equal(await agentRefused(srv, { token: acc.token }), "unauthorized");
    assert.equal((await srv.login(acc.username, acc.password)).status, 401);
    const res = await srv.login(acc.username, "a brand new password");
    assert.equal(res.status, 200);
    const a = await srv.agent(res.body.token);
    assert.ok(a.socket.connected);
  });
});

describe("expired agent tokens", () => {
  let srv;
  before(async () => { srv = await startServer({ env: { PARLOR_JWT_TTL_SECS: "2" } }); });
  after(async () => { await srv?.dispose(); });
  afterEach(() => srv.closeClients());

  it("an expired JWT is refused with unauthorized", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const fresh = await srv.agent(acc.token);
    assert.ok(fresh.socket.connected, "the token works while it is fresh");
    await sleep(4000);
    assert.equal(await agentRefused(srv, { token: acc.token }), "unauthorized");
  });
});

describe("visitor handshake", () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.dispose(); });
  afterEach(() => srv.closeClients());

  for (const transport of ["websocket", "polling"]) {
    it(`an unknown siteKey is refused with unknown_site over ${transport}`, async () => {
      const err = await expectConnectError(srv.socket("/visitor", { auth: { siteKey: "no-such-site-key" }, transports: [transport] }));
      assert.equal(err.message, "unknown_site");
    });
  }

  it("a handshake without a siteKey is refused", async () => {
    const err = await expectConnectError(srv.socket("/visitor", { auth: {} }));
    assert.ok(["unknown_site", "invalid"].includes(err.message), `connect_error ${err.message}`);
  });

  it("a non-string siteKey is refused with unknown_site", async () => {
    for (const siteKey of [42, null, { key: "x" }]) {
      const err = await expectConnectError(srv.socket("/visitor", { auth: { siteKey } }));
      assert.equal(err.message, "unknown_site", `siteKey ${JSON.stringify(siteKey)}`);
    }
  });

  const ALLOWED = "https://shop.example";
  for (const transport of ["websocket", "polling"]) {
    it(`a visitor from an allowed Origin connects over ${transport}`, async () => {
      const site = await srv.createSite(undefined, { allowedOrigins: [ALLOWED] });
      const v = await srv.visitor(site.siteKey, { transports: [transport], extraHeaders: { Origin: ALLOWED } });
      assert.ok(v.socket.connected);
      assert.equal(v.socket.io.engine.transport.name, transport);
    });

    it(`a visitor from an Origin outside the site's allowlist is refused over ${transport}`, async () => {
      const site = await srv.createSite(undefined, { allowedOrigins: [ALLOWED] });
      const s = srv.socket("/visitor", { auth: { siteKey: site.siteKey }, transports: [transport], extraHeaders: { Origin: "https://evil.example" } });
      const err = await expectConnectError(s);
      assert.ok(err.message, "the refusal carries a message");
      assert.equal(s.__log.filter((e) => e.name === "session").length, 0, "no session for a refused Origin");
    });
  }

  it("a site without an allowlist accepts any Origin", async () => {
    const site = await srv.createSite();
    const v = await srv.visitor(site.siteKey, { extraHeaders: { Origin: "https://anywhere.example" } });
    assert.ok(v.socket.connected);
  });

  it("a refused Origin creates no visitor", async () => {
    const site = await srv.createSite(undefined, { allowedOrigins: [ALLOWED] });
    const acc = await srv.createAgent(site.siteKey);
    await expectConnectError(srv.socket("/visitor", { auth: { siteKey: site.siteKey }, extraHeaders: { Origin: "https://evil.example" } }));
    const a = await srv.agent(acc.token);
    assert.deepEqual(a.conversations, []);
  });
});
