// Size and rate limits: oversized payloads, text length, and every rate limiter.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, call, callOrDisconnect, nextEvent, expectNoEvent, expectConnectError, assertOk,
  assertError, assertMessage, visitorSay, cid, unique,
} from "./support.mjs";

const MiB = 1024 * 1024;

describe("payload size and text length", () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.dispose(); });
  afterEach(() => srv.closeClients());

  for (const transport of ["websocket", "polling"]) {
    it(`a 1 MiB send over ${transport} is refused (too_large or disconnect), stores nothing, and other clients keep working`, async (t) => {
      const { site, agent } = await srv.siteWithAgent();
      const big = await srv.visitor(site.siteKey, { transports: [transport] });
      const bystander = await srv.visitor(site.siteKey, { transports: [transport] });
      const bigConv = big.session.conversation.id;

      const res = await callOrDisconnect(big.socket, "send", { clientId: cid(), text: "x".repeat(MiB) });
      t.diagnostic(`1 MiB send over ${transport}: ${JSON.stringify(res)}`);
      if ("ack" in res) assertError(res.ack, "too_large", "1 MiB send");

      // nothing stored, nothing relayed
      await expectNoEvent(agent, "message", 500, (m) => m.conversationId === bigConv);
      const s = assertOk(await call(agent, "sync", { conversationId: bigConv, afterSeq: 0 }));
      assert.deepEqual(s.messages, [], "the oversized message must not be stored");

      // the other client and the agent keep working
      const m = await visitorSay(bystander.socket, "still fine");
      assert.deepEqual(await nextEvent(agent, "message", (x) => x.id === m.id), m);
      const reply = assertOk(await call(agent, "send", { conversationId: bystander.session.conversation.id, clientId: cid(), text: "yes" }));
      assert.deepEqual(await nextEvent(bystander.socket, "message"), reply.message);

      // the refused visitor can come back with its token and is unharmed
      big.socket.disconnect();
      const again = await srv.visitor(site.siteKey, { token: big.token, transports: [transport] });
      assert.equal(again.session.conversation.id, bigConv);
      assert.deepEqual(again.session.messages, []);
      assertMessage(await visitorSay(again.socket, "small"), { seq: 1 });
    });
  }

  it("a 1 MiB agent send is refused (too_large or disconnect), stores nothing, and other agents keep working", async (t) => {
    const site = await srv.createSite();
    const acc1 = await srv.createAgent(site.siteKey);
    const acc2 = await srv.createAgent(site.siteKey);
    const a1 = (await srv.agent(acc1.token)).socket;
    const a2 = (await srv.agent(acc2.token)).socket;
    const v = await srv.visitor(site.siteKey);
    const conversationId = v.session.conversation.id;
    const res = await callOrDisconnect(a1, "send", { conversationId, clientId: cid(), text: "y".repeat(MiB) });
    t.diagnostic(`1 MiB agent send: ${JSON.stringify(res)}`);
    if ("ack" in res) assertError(res.ack, "too_large", "1 MiB agent send");
    await expectNoEvent(v.socket, "message", 500);
    assert.deepEqual(assertOk(await call(a2, "sync", { conversationId, afterSeq: 0 })).messages, []);
    const m = assertOk(await call(a2, "send", { conversationId, clientId: cid(), text: "a2 works" })).message;
    assert.deepEqual(await nextEvent(v.socket, "message"), m);
  });

  it("a 1 MiB profile is refused (too_large, invalid or disconnect) and stores nothing", async (t) => {
    const site = await srv.createSite();
    const v = await srv.visitor(site.siteKey);
    const res = await callOrDisconnect(v.socket, "profile", { name: "n".repeat(MiB) });
    t.diagnostic(`1 MiB profile: ${JSON.stringify(res)}`);
    if ("ack" in res) assertError(res.ack, ["too_large", "invalid"], "1 MiB profile");
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.equal(again.session.visitor.name, null);
  });

  it("a text of exactly 4000 characters is accepted", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const text = "a".repeat(4000);
    const m = await visitorSay(socket, text);
    assert.equal(m.text, text);
  });

  it("a text of 4001 characters is invalid and not stored", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    assertError(await call(socket, "send", { clientId: cid(), text: "a".repeat(4001) }), "invalid");
    assert.deepEqual(assertOk(await call(socket, "sync", { afterSeq: 0 })).messages, []);
  });

  it("an agent text of 4001 characters is invalid", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const conversationId = v.session.conversation.id;
    assertError(await call(agent, "send", { conversationId, clientId: cid(), text: "b".repeat(4001) }), "invalid");
    assert.deepEqual(assertOk(await call(agent, "sync", { conversationId, afterSeq: 0 })).messages, []);
  });

  it("text length counts Unicode scalar values: 4000 emoji are accepted, 4001 are invalid", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const ok = "😀".repeat(4000); // 8000 UTF-16 code units, 16000 UTF-8 bytes
    assert.equal((await visitorSay(socket, ok)).text, ok);
    assertError(await call(socket, "send", { clientId: cid(), text: "😀".repeat(4001) }), "invalid");
  });

  it("text length is measured after trimming", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const m = await visitorSay(socket, "  " + "c".repeat(4000) + "\n ");
    assert.equal(m.text.trim(), "c".repeat(4000));
  });
});

describe("per-visitor rate limits", () => {
  let srv;
  before(async () => {
    srv = await startServer({ env: { PARLOR_RATE_MESSAGES: "5", PARLOR_RATE_PROFILE: "3" } });
  });
  after(async () => { await srv?.dispose(); });
  afterEach(() => srv.closeClients());

  it("sends beyond the per-visitor message rate are answered rate_limited and not stored", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    for (let i = 1; i <= 5; i++) await visitorSay(socket, `m${i}`);
    assertError(await call(socket, "send", { clientId: cid(), text: "one too many" }), "rate_limited");
    const s = assertOk(await call(socket, "sync", { afterSeq: 0 }));
    assert.deepEqual(s.messages.map((m) => m.text), ["m1", "m2", "m3", "m4", "m5"]);
  });

  it("the message rate limit of one visitor does not affect another visitor", async () => {
    const site = await srv.createSite();
    const a = await srv.visitor(site.siteKey);
    const b = await srv.visitor(site.siteKey);
    for (let i = 1; i <= 5; i++) await visitorSay(a.socket, `m${i}`);
    assertError(await call(a.socket, "send", { clientId: cid(), text: "limited" }), "rate_limited");
    assertMessage(await visitorSay(b.socket, "b is fine"), { seq: 1 });
  });

  it("the message rate limit follows the visitor across tabs", async () => {
    const site = await srv.createSite();
    const tab1 = await srv.visitor(site.siteKey);
    const tab2 = await srv.visitor(site.siteKey, { token: tab1.token });
    for (let i = 1; i <= 5; i++) await visitorSay(i % 2 ? tab1.socket : tab2.socket, `m${i}`);
    assertError(await call(tab2.socket, "send", { clientId: cid(), text: "limited" }), "rate_limited");
  });

  it("profile updates beyond the per-visitor profile rate are answered rate_limited and not stored", async () => {
    const site = await srv.createSite();
    const v = await srv.visitor(site.siteKey);
    for (let i = 1; i <= 3; i++) assertOk(await call(v.socket, "profile", { name: `Name ${i}` }));
    assertError(await call(v.socket, "profile", { name: "Too Many" }), "rate_limited");
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.equal(again.session.visitor.name, "Name 3");
  });

  it("a retry of an acked send is answered with the original message even when the rate limit is exhausted", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const clientId = cid();
    const first = await visitorSay(socket, "m1", clientId);
    for (let i = 2; i <= 5; i++) await visitorSay(socket, `m${i}`);
    assertError(await call(socket, "send", { clientId: cid(), text: "limited" }), "rate_limited");
    const retry = await call(socket, "send", { clientId, text: "m1" });
    assert.deepEqual(retry, { ok: true, message: first }, "a retry stores nothing new, so it acks the original");
  });

  it("a rate-limited visitor's connection stays usable for other requests", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    for (let i = 1; i <= 5; i++) await visitorSay(socket, `m${i}`);
    assertError(await call(socket, "send", { clientId: cid(), text: "limited" }), "rate_limited");
    assert.ok(socket.connected);
    assert.equal(assertOk(await call(socket, "history", { beforeSeq: 6 })).messages.length, 5);
  });
});

describe("new-visitor rate limit", () => {
  let srv;
  before(async () => { srv = await startServer({ env: { PARLOR_RATE_NEW_VISITORS: "3" } }); });
  after(async () => { await srv?.dispose(); });
  afterEach(() => srv.closeClients());

  it("too many new visitors from one IP are refused with connect_error rate_limited, returning visitors are not", async () => {
    const site = await srv.createSite();
    const first = await srv.visitor(site.siteKey);
    await srv.visitor(site.siteKey);
    await srv.visitor(site.siteKey);
    const err = await expectConnectError(srv.socket("/visitor", { auth: { siteKey: site.siteKey } }));
    assert.equal(err.message, "rate_limited");
    // a returning visitor (live token) is not a new visitor
    const again = await srv.visitor(site.siteKey, { token: first.token });
    assert.equal(again.session.visitor.id, first.session.visitor.id);
  });
});

describe("login failure budget per username and address", () => {
  let srv;
  before(async () => { srv = await startServer({ env: { PARLOR_RATE_LOGIN: "3" } }); });
  after(async () => { await srv?.dispose(); });

  it("login failures beyond the budget for a username from one address are refused with 429, even with the right password", async () => {
    const site = await srv.createSite();
    const username = unique("victim");
    const password = "right password";
    await srv.createAgent(site.siteKey, { username, password, login: false });
    for (let i = 0; i < 3; i++) assert.equal((await srv.login(username, `wrong ${i}`)).status, 401);
    const res = await srv.login(username, password);
    assert.equal(res.status, 429, `expected 429, got ${res.status} ${res.text}`);
    assert.equal(typeof res.body, "object");
    assert.equal(typeof res.body.error, "string");
    assert.equal(res.body.token, undefined);
  });
});

describe("login failure budget per IP", () => {
  let srv;
  before(async () => { srv = await startServer({ env: { PARLOR_RATE_LOGIN_PER_ADDRESS: "3" } }); });
  after(async () => { await srv?.dispose(); });

  it("login failures from one IP across many usernames are refused with 429 beyond the budget", async () => {
    for (let i = 0; i < 3; i++) assert.equal((await srv.login(unique("nobody"), "pw")).status, 401);
    const res = await srv.login(unique("nobody"), "pw");
    assert.equal(res.status, 429, `expected 429, got ${res.status} ${res.text}`);
  });
});
