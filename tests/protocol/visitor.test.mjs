// The /visitor namespace: session, send, profile, history, sync, read, page.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, SESSION_FIELDS, call, assertError, nextEvent, expectNoEvent, assertOk, assertSession, assertMessage,
  assertVisitorObject, assertAscending, visitorSay, agentSay, cid, sleep, drain, callAtConnect,
} from "./support.mjs";

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.dispose(); });
afterEach(() => srv.closeClients());

const seqs = (ms) => ms.map((m) => m.seq);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function visitorWithMessages(n) {
  const site = await srv.createSite();
  const v = await srv.visitor(site.siteKey);
  for (let i = 1; i <= n; i++) await visitorSay(v.socket, `m${i}`);
  return { site, v };
}

describe("visitor session", () => {
  it("a request sent the moment the connection opens is answered", async () => {
    const site = await srv.createSite();
    for (let i = 0; i < 40; i++) {
      const socket = srv.socket("/visitor", { auth: { siteKey: site.siteKey } });
      const ack = await callAtConnect(socket, "send", { text: `at connect ${i}`, clientId: cid("c") });
      assertMessage(assertOk(ack, `connection ${i}`).message, { text: `at connect ${i}`, sender: "visitor" });
      socket.disconnect();
    }
  });

  it("a first connection without a token creates a visitor and emits a complete session", async () => {
    const site = await srv.createSite();
    const { session } = await srv.visitor(site.siteKey);
    assertSession(session);
    assert.equal(session.conversation.status, "open");
    assert.deepEqual(session.messages, []);
    assert.equal(session.hasMore, false);
    assert.equal(session.agentsOnline, false, "no agent of the site is connected");
  });

  it("the session has the fields of PROTOCOL.md plus the documented site extension", async () => {
    const site = await srv.createSite("Acme");
    const { session } = await srv.visitor(site.siteKey);
    assert.deepEqual(
      Object.keys(session).sort(),
      [...SESSION_FIELDS, "site"].sort(),
      `session fields: ${JSON.stringify(session)}`,
    );
    assert.deepEqual(session.site, {
      name: "Acme",
      prechatFields: ["name", "email"],
      prechatRequired: [],
      allowedQueryParams: [],
      accentColor: null,
      greeting: null,
      awayMessage: null,
      officeHours: null,
    });
  });

  it("reconnecting with the token resumes the same visitor, conversation and messages", async () => {
    const site = await srv.createSite();
    const first = await srv.visitor(site.siteKey);
    const m = await visitorSay(first.socket, "hello");
    first.socket.disconnect();
    const again = await srv.visitor(site.siteKey, { token: first.session.token });
    assertSession(again.session);
    assert.equal(again.session.visitor.id, first.session.visitor.id);
    assert.equal(again.session.conversation.id, first.session.conversation.id);
    assert.deepEqual(again.session.messages, [m]);
    assert.equal(again.session.hasMore, false);
  });

  it("a token that is not a live visitor of the site creates a new visitor", async () => {
    const site = await srv.createSite();
    const known = await srv.visitor(site.siteKey);
    const { session } = await srv.visitor(site.siteKey, { token: "not-a-real-token-0123456789abcdef" });
    assertSession(session);
    assert.notEqual(session.visitor.id, known.session.visitor.id);
    assert.notEqual(session.conversation.id, known.session.conversation.id);
    assert.notEqual(session.token, "not-a-real-token-0123456789abcdef");
    assert.deepEqual(session.messages, []);
  });

  it("two new visitors get different tokens, visitors and conversations", async () => {
    const site = await srv.createSite();
    const a = await srv.visitor(site.siteKey);
    const b = await srv.visitor(site.siteKey);
    assert.notEqual(a.session.token, b.session.token);
    assert.notEqual(a.session.visitor.id, b.session.visitor.id);
    assert.notEqual(a.session.conversation.id, b.session.conversation.id);
  });

  it("the session works over HTTP long-polling too", async () => {
    const site = await srv.createSite();
    const { socket, session } = await srv.visitor(site.siteKey, { transports: ["polling"] });
    assertSession(session);
    const m = await visitorSay(socket, "over polling");
    assertMessage(m, { text: "over polling", seq: 1 });
  });

  it("a session with exactly 50 messages has hasMore false", async () => {
    const { site, v } = await visitorWithMessages(50);
    v.socket.disconnect();
    const { session } = await srv.visitor(site.siteKey, { token: v.token });
    assert.deepEqual(seqs(session.messages), range(1, 50));
    assert.equal(session.hasMore, false);
  });

  it("a null token in the handshake (nothing in localStorage yet) creates a new visitor", async () => {
    const site = await srv.createSite();
    const { session } = await srv.visitor(site.siteKey, { token: null });
    assertSession(session);
    assert.deepEqual(session.messages, []);
  });

  it("a non-string token in the handshake creates a new visitor", async () => {
    const site = await srv.createSite();
    for (const token of [12345, { t: "x" }]) {
      const { session } = await srv.visitor(site.siteKey, { token });
      assertSession(session);
      assert.deepEqual(session.messages, []);
    }
  });

  it("a client with the default transports keeps its session across the upgrade from polling to WebSocket", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey, { transports: ["polling", "websocket"] });
    const engine = v.socket.io.engine;
    if (engine.transport.name !== "websocket") {
      await new Promise((res, rej) => {
        const t = setTimeout(() => rej(new Error("no upgrade to websocket within 5 s")), 5000);
        engine.once("upgrade", () => { clearTimeout(t); res(); });
      });
    }
    assert.equal(engine.transport.name, "websocket");
    const mine = await visitorSay(v.socket, "after the upgrade");
    assert.deepEqual(await nextEvent(agent, "message", (m) => m.id === mine.id), mine);
    const reply = await agentSay(agent, v.session.conversation.id, "got it");
    assert.deepEqual(await nextEvent(v.socket, "message"), reply);
  });

  it("the session carries the latest 50 messages ascending and hasMore when older ones exist", async () => {
    const { site, v } = await visitorWithMessages(55);
    v.socket.disconnect();
    const { session } = await srv.visitor(site.siteKey, { token: v.token });
    assert.deepEqual(seqs(session.messages), range(6, 55));
    assert.equal(session.hasMore, true);
  });
});

describe("visitor send", () => {
  it("send acks the stored message with exactly the Message fields", async () => {
    const site = await srv.createSite();
    const { socket, session } = await srv.visitor(site.siteKey);
    const clientId = cid();
    const ack = assertOk(await call(socket, "send", { clientId, text: "Hi there" }));
    assert.deepEqual(Object.keys(ack).sort(), ["message", "ok"]);
    assertMessage(ack.message, {
      conversationId: session.conversation.id,
      seq: 1,
      sender: "visitor",
      agentName: null,
      text: "Hi there",
      clientId,
    });
  });

  it("seq starts at 1 and grows by one per message", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const got = [];
    for (let i = 0; i < 5; i++) got.push((await visitorSay(socket, `n${i}`)).seq);
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
  });

  it("message ids are unique", async () => {
    const site = await srv.createSite();
    const a = await srv.visitor(site.siteKey);
    const b = await srv.visitor(site.siteKey);
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await visitorSay(a.socket, "a")).id);
      ids.push((await visitorSay(b.socket, "b")).id);
    }
    assert.equal(new Set(ids).size, ids.length);
  });

  it("text is stored verbatim as plain text, markup is neither escaped nor stripped", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const text = `<b>bold</b> & <script>alert("x")</script> 'q' ünïcødé 🎉`;
    const m = await visitorSay(socket, text);
    assert.equal(m.text, text);
    const s = assertOk(await call(socket, "sync", { afterSeq: 0 }));
    assert.equal(s.messages[0].text, text);
  });

  it("the visitor's own send is not echoed to the sending socket", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    await visitorSay(socket, "no echo please");
    await expectNoEvent(socket, "message", 600);
  });

  it("a message sent from one tab is delivered to the visitor's other tabs", async () => {
    const site = await srv.createSite();
    const tab1 = await srv.visitor(site.siteKey);
    const tab2 = await srv.visitor(site.siteKey, { token: tab1.token });
    const m = await visitorSay(tab1.socket, "from tab 1");
    const got = await nextEvent(tab2.socket, "message");
    assert.deepEqual(got, m);
  });

  it("an event sent without an ack callback is still processed", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const clientId = cid();
    socket.emit("send", { clientId, text: "fire and forget" });
    let messages = [];
    for (let i = 0; i < 50 && messages.length === 0; i++) {
      await sleep(100);
      messages = assertOk(await call(socket, "sync", { afterSeq: 0 })).messages;
    }
    assert.equal(messages.length, 1);
    assertMessage(messages[0], { text: "fire and forget", clientId, sender: "visitor" });
  });

  it("agent messages reach the visitor as message events identical to the agent's ack", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const m = await agentSay(agent, v.session.conversation.id, "Hello from support");
    const got = await nextEvent(v.socket, "message");
    assert.deepEqual(got, m);
  });
});

describe("visitor profile", () => {
  it("profile stores name, email and phone and acks the visitor", async () => {
    const site = await srv.createSite();
    const { socket, session } = await srv.visitor(site.siteKey);
    const ack = assertOk(await call(socket, "profile", { name: "Ada Lovelace", email: "ada@example.com", phone: "+44 (20) 7946-0000" }));
    assert.deepEqual(Object.keys(ack).sort(), ["ok", "visitor"]);
    assertVisitorObject(ack.visitor);
    assert.deepEqual(ack.visitor, { id: session.visitor.id, name: "Ada Lovelace", email: "ada@example.com", phone: "+44 (20) 7946-0000" });
  });

  it("the stored profile is in the next session of the same visitor", async () => {
    const site = await srv.createSite();
    const v = await srv.visitor(site.siteKey);
    assertOk(await call(v.socket, "profile", { name: "Grace", email: "grace@example.org" }));
    v.socket.disconnect();
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.equal(again.session.visitor.name, "Grace");
    assert.equal(again.session.visitor.email, "grace@example.org");
  });

  it("a profile update with some fields leaves the omitted fields unchanged", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    assertOk(await call(socket, "profile", { name: "Linus" }));
    const ack = assertOk(await call(socket, "profile", { email: "linus@example.com" }));
    assert.equal(ack.visitor.name, "Linus");
    assert.equal(ack.visitor.email, "linus@example.com");
  });

  it("profile name length counts characters, not bytes", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const name = "😀".repeat(100);
    assert.equal(assertOk(await call(socket, "profile", { name })).visitor.name, name);
    assertError(await call(socket, "profile", { name: "😀".repeat(101) }), "invalid");
  });

  it("a name of exactly 100 characters and a phone of exactly 32 characters are accepted", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const name = "n".repeat(100);
    const phone = "1".repeat(32);
    const ack = assertOk(await call(socket, "profile", { name, phone }));
    assert.equal(ack.visitor.name, name);
    assert.equal(ack.visitor.phone, phone);
  });
});

describe("visitor history and sync", () => {
  it("history returns messages before beforeSeq ascending, 50 by default, with hasMore", async () => {
    const { v } = await visitorWithMessages(60);
    const h = assertOk(await call(v.socket, "history", { beforeSeq: 61 }));
    assert.deepEqual(Object.keys(h).sort(), ["hasMore", "messages", "ok"]);
    assert.deepEqual(seqs(h.messages), range(11, 60));
    assert.equal(h.hasMore, true);
    h.messages.forEach((m) => assertMessage(m));
    const rest = assertOk(await call(v.socket, "history", { beforeSeq: 11 }));
    assert.deepEqual(seqs(rest.messages), range(1, 10));
    assert.equal(rest.hasMore, false);
  });

  it("history honours limit", async () => {
    const { v } = await visitorWithMessages(8);
    const h = assertOk(await call(v.socket, "history", { beforeSeq: 8, limit: 3 }));
    assert.deepEqual(seqs(h.messages), [5, 6, 7]);
    assert.equal(h.hasMore, true);
    const all = assertOk(await call(v.socket, "history", { beforeSeq: 9, limit: 100 }));
    assert.deepEqual(seqs(all.messages), range(1, 8));
    assert.equal(all.hasMore, false);
  });

  it("history before seq 1 is empty without hasMore", async () => {
    const { v } = await visitorWithMessages(2);
    const h = assertOk(await call(v.socket, "history", { beforeSeq: 1 }));
    assert.deepEqual(h.messages, []);
    assert.equal(h.hasMore, false);
  });

  it("sync returns the messages after afterSeq ascending", async () => {
    const { v } = await visitorWithMessages(6);
    const s = assertOk(await call(v.socket, "sync", { afterSeq: 3 }));
    assert.deepEqual(Object.keys(s).sort(), ["hasMore", "messages", "ok"]);
    assert.deepEqual(seqs(s.messages), [4, 5, 6]);
    assert.deepEqual(s.messages.map((m) => m.text), ["m4", "m5", "m6"]);
    assert.equal(s.hasMore, false);
    assertAscending(s.messages);
  });

  it("sync after the last seq is empty", async () => {
    const { v } = await visitorWithMessages(2);
    const s = assertOk(await call(v.socket, "sync", { afterSeq: 2 }));
    assert.deepEqual(s.messages, []);
    assert.equal(s.hasMore, false);
  });
});

describe("visitor read and page", () => {
  it("read of an agent message is acknowledged with ok", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const m = await agentSay(agent, v.session.conversation.id, "please read me");
    const ack = await call(v.socket, "read", { seq: m.seq });
    assert.deepEqual(ack, { ok: true });
  });

  it("page is acknowledged with ok", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    assert.deepEqual(await call(socket, "page", { url: "https://shop.example/cart", title: "Cart" }), { ok: true });
    assert.deepEqual(await call(socket, "page", { url: "https://shop.example/" }), { ok: true });
  });

  it("a page url of exactly 2048 characters and a title of 200 are accepted", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const url = "https://shop.example/" + "p".repeat(2048 - "https://shop.example/".length);
    assert.equal(url.length, 2048);
    assert.deepEqual(await call(socket, "page", { url, title: "t".repeat(200) }), { ok: true });
  });

  it("visitor typing without an ack callback does not disturb the connection", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    socket.emit("typing", { typing: true });
    socket.emit("typing", { typing: false });
    drain(socket);
    assertMessage(await visitorSay(socket, "still here"));
  });
});
