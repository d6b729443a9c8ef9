// The /agent namespace: conversations, list, send, history, sync, read, end, typing,
// and the events agents receive about visitors.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, call, nextEvent, expectNoEvent, assertOk, assertSummary, assertMessage,
  visitorSay, agentSay, cid, sleep, drain, callAtConnect,
} from "./support.mjs";

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.dispose(); });
afterEach(() => srv.closeClients());

const seqs = (ms) => ms.map((m) => m.seq);

/** A site with two agents (both connected) and one connected visitor. */
async function team() {
  const site = await srv.createSite();
  const acc1 = await srv.createAgent(site.siteKey, { name: "Alice Agent" });
  const acc2 = await srv.createAgent(site.siteKey, { name: "Bob Agent" });
  const a1 = await srv.agent(acc1.token);
  const a2 = await srv.agent(acc2.token);
  const v = await srv.visitor(site.siteKey);
  const convId = v.session.conversation.id;
  // the new-visitor announcements
  await nextEvent(a1.socket, "conversation", (c) => c.id === convId);
  await nextEvent(a2.socket, "conversation", (c) => c.id === convId);
  return { site, acc1, acc2, a1: a1.socket, a2: a2.socket, v, convId };
}

async function listAll(agent, extra = {}) {
  return assertOk(await call(agent, "list", { limit: 100, ...extra }), "list");
}

describe("agent conversations", () => {
  it("a request sent the moment the connection opens is answered", async () => {
    const site = await srv.createSite();
    const account = await srv.createAgent(site.siteKey);
    for (let i = 0; i < 40; i++) {
      const socket = srv.socket("/agent", { auth: { token: account.token } });
      assertOk(await callAtConnect(socket, "list", { limit: 1 }), `connection ${i}`);
      socket.disconnect();
    }
  });

  it("the conversations event lists the site's conversations as Summaries, newest activity first", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const v1 = await srv.visitor(site.siteKey);
    await visitorSay(v1.socket, "first");
    await sleep(30);
    const v2 = await srv.visitor(site.siteKey);
    await visitorSay(v2.socket, "second");
    await sleep(30);
    await visitorSay(v1.socket, "third, newest activity");
    const { initial } = await srv.agent(acc.token);
    assert.deepEqual(Object.keys(initial).sort(), ["conversations", "hasMore"]);
    assert.equal(initial.hasMore, false);
    assert.equal(initial.conversations.length, 2);
    initial.conversations.forEach(assertSummary);
    assert.deepEqual(initial.conversations.map((c) => c.id), [v1.session.conversation.id, v2.session.conversation.id]);
    const c1 = initial.conversations[0];
    assert.equal(c1.visitor.id, v1.session.visitor.id);
    assert.equal(c1.status, "open");
    assert.equal(c1.online, true);
    assert.equal(c1.lastMessage.text, "third, newest activity");
    assert.equal(c1.unread, 2);
  });

  it("the conversations event includes ended conversations", async () => {
    const { site, agent, agentAccount } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    await visitorSay(v.socket, "bye");
    assertOk(await call(agent, "end", { conversationId: v.session.conversation.id }));
    const { conversations } = await srv.agent(agentAccount.token);
    const c = conversations.find((x) => x.id === v.session.conversation.id);
    assert.ok(c, "ended conversation missing from conversations");
    assert.equal(c.status, "ended");
  });

  it("the conversations event holds at most 100 conversations and hasMore when more exist", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    for (let batch = 0; batch < 101; batch += 20) {
      const n = Math.min(20, 101 - batch);
      const vs = await Promise.all(Array.from({ length: n }, () => srv.visitor(site.siteKey)));
      vs.forEach((v) => v.socket.disconnect());
    }
    const { initial } = await srv.agent(acc.token);
    assert.equal(initial.conversations.length, 100);
    assert.equal(initial.hasMore, true);
    assert.equal(new Set(initial.conversations.map((c) => c.id)).size, 100);
  });

  it("paging through list with before visits every conversation exactly once", async () => {
    // Conversations created in one burst share updatedAt values; a cursor that
    // is only `before: updatedAt` must still neither skip nor repeat any.
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const vs = await Promise.all(Array.from({ length: 40 }, () => srv.visitor(site.siteKey)));
    const want = new Set(vs.map((v) => v.session.conversation.id));
    const { socket } = await srv.agent(acc.token);
    const seen = [];
    let before;
    for (let page = 0; page < 50; page++) {
      const res = assertOk(await call(socket, "list", before === undefined ? { limit: 3 } : { limit: 3, before }));
      seen.push(...res.conversations.map((c) => c.id));
      if (!res.hasMore || res.conversations.length === 0) break;
      before = res.conversations[res.conversations.length - 1].updatedAt;
    }
    const missing = [...want].filter((id) => !seen.includes(id));
    assert.equal(seen.length, new Set(seen).size, "a conversation was listed twice");
    assert.deepEqual(missing, [], `paging skipped ${missing.length} of 40 conversations`);
  });

  it("the agent namespace works over HTTP long-polling", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const a = await srv.agent(acc.token, { transports: ["polling"] });
    const v = await srv.visitor(site.siteKey);
    const m = await visitorSay(v.socket, "to a polling agent");
    assert.deepEqual(await nextEvent(a.socket, "message", (x) => x.id === m.id), m);
    assertMessage(await agentSay(a.socket, v.session.conversation.id, "from a polling agent"), { sender: "agent" });
  });

  it("a new visitor is announced to agents with a conversation Summary", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const c = await nextEvent(agent, "conversation", (x) => x.id === v.session.conversation.id);
    assertSummary(c);
    assert.deepEqual(c.visitor, v.session.visitor);
    assert.equal(c.status, "open");
    assert.equal(c.lastMessage, null);
    assert.equal(c.unread, 0);
    assert.equal(c.page, null);
  });

  it("list filters by status", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const open = await srv.visitor(site.siteKey);
    const ended = await srv.visitor(site.siteKey);
    await visitorSay(open.socket, "o");
    await visitorSay(ended.socket, "e");
    assertOk(await call(agent, "end", { conversationId: ended.session.conversation.id }));
    const o = await listAll(agent, { status: "open" });
    assert.deepEqual(o.conversations.map((c) => c.id), [open.session.conversation.id]);
    o.conversations.forEach(assertSummary);
    const e = await listAll(agent, { status: "ended" });
    assert.deepEqual(e.conversations.map((c) => c.id), [ended.session.conversation.id]);
    assert.equal(e.conversations[0].status, "ended");
    const all = await listAll(agent);
    assert.equal(all.conversations.length, 2);
  });

  it("list pages with limit and before and reports hasMore", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const v = await srv.visitor(site.siteKey);
      await visitorSay(v.socket, `v${i}`);
      ids.unshift(v.session.conversation.id); // newest first
      await sleep(30);
    }
    const p1 = assertOk(await call(agent, "list", { limit: 2 }));
    assert.deepEqual(Object.keys(p1).sort(), ["conversations", "hasMore", "ok"]);
    assert.deepEqual(p1.conversations.map((c) => c.id), ids.slice(0, 2));
    assert.equal(p1.hasMore, true);
    const p2 = assertOk(await call(agent, "list", { limit: 2, before: p1.conversations[1].updatedAt }));
    assert.deepEqual(p2.conversations.map((c) => c.id), ids.slice(2));
    assert.equal(p2.hasMore, false);
  });

  it("a profile change is announced to agents with an updated Summary", async () => {
    const { a1, v, convId } = await team();
    assertOk(await call(v.socket, "profile", { name: "Marie", email: "marie@example.com" }));
    const c = await nextEvent(a1, "conversation", (x) => x.id === convId && x.visitor.name === "Marie");
    assertSummary(c);
    assert.equal(c.visitor.email, "marie@example.com");
    assert.equal(c.visitor.id, v.session.visitor.id);
  });

  it("a page change is announced to agents and kept in the Summary", async () => {
    const { a1, v, convId } = await team();
    assertOk(await call(v.socket, "page", { url: "https://shop.example/checkout", title: "Checkout" }));
    const c = await nextEvent(a1, "conversation", (x) => x.id === convId && x.page !== null);
    assertSummary(c);
    assert.deepEqual(c.page, { url: "https://shop.example/checkout", title: "Checkout" });
    const l = await listAll(a1);
    assert.deepEqual(l.conversations.find((x) => x.id === convId).page, { url: "https://shop.example/checkout", title: "Checkout" });
  });
});

describe("agent messages", () => {
  it("a visitor message reaches every agent of the site as a message event", async () => {
    const { a1, a2, v } = await team();
    const m = await visitorSay(v.socket, "Anyone there?");
    assert.deepEqual(await nextEvent(a1, "message"), m);
    assert.deepEqual(await nextEvent(a2, "message"), m);
  });

  it("an agent send acks the message with sender agent and the agent's display name", async () => {
    const { a1, convId } = await team();
    const clientId = cid();
    const ack = assertOk(await call(a1, "send", { conversationId: convId, clientId, text: "How can I help?" }));
    assert.deepEqual(Object.keys(ack).sort(), ["message", "ok"]);
    assertMessage(ack.message, {
      conversationId: convId, seq: 1, sender: "agent", agentName: "Alice Agent", text: "How can I help?", clientId,
    });
  });

  it("an agent's message reaches the visitor and the other agents but not the sending socket", async () => {
    const { a1, a2, v, convId } = await team();
    const m = await agentSay(a1, convId, "hello");
    assert.deepEqual(await nextEvent(v.socket, "message"), m);
    assert.deepEqual(await nextEvent(a2, "message"), m);
    await expectNoEvent(a1, "message", 500);
  });

  it("agent history returns messages before beforeSeq ascending with hasMore", async () => {
    const { a1, v, convId } = await team();
    for (let i = 1; i <= 6; i++) await visitorSay(v.socket, `m${i}`);
    const h = assertOk(await call(a1, "history", { conversationId: convId, beforeSeq: 6, limit: 3 }));
    assert.deepEqual(Object.keys(h).sort(), ["hasMore", "messages", "ok"]);
    assert.deepEqual(seqs(h.messages), [3, 4, 5]);
    assert.equal(h.hasMore, true);
    h.messages.forEach((m) => assertMessage(m, { conversationId: convId }));
    const d = assertOk(await call(a1, "history", { conversationId: convId, beforeSeq: 7 }));
    assert.deepEqual(seqs(d.messages), [1, 2, 3, 4, 5, 6]);
    assert.equal(d.hasMore, false);
  });

  it("agent sync returns the messages after afterSeq ascending", async () => {
    const { a1, v, convId } = await team();
    for (let i = 1; i <= 4; i++) await visitorSay(v.socket, `m${i}`);
    const s = assertOk(await call(a1, "sync", { conversationId: convId, afterSeq: 2 }));
    assert.deepEqual(Object.keys(s).sort(), ["hasMore", "messages", "ok"]);
    assert.deepEqual(s.messages.map((m) => m.text), ["m3", "m4"]);
    assert.deepEqual(seqs(s.messages), [3, 4]);
    assert.equal(s.hasMore, false);
  });

  it("the Summary's lastMessage is the newest message", async () => {
    const { a1, v, convId } = await team();
    await visitorSay(v.socket, "one");
    const last = await agentSay(a1, convId, "two");
    const l = await listAll(a1);
    assert.deepEqual(l.conversations.find((c) => c.id === convId).lastMessage, last);
  });
});

describe("agent read markers", () => {
  it("unread counts the visitor messages no agent has marked read", async () => {
    const { a1, v, convId } = await team();
    await visitorSay(v.socket, "1");
    await visitorSay(v.socket, "2");
    await agentSay(a1, convId, "agent messages do not count");
    await visitorSay(v.socket, "3");
    const c = (await listAll(a1)).conversations.find((x) => x.id === convId);
    assert.equal(c.unread, 3);
  });

  it("an agent read acks ok and drops unread to the visitor messages after that seq", async () => {
    const { a1, a2, v, convId } = await team();
    for (let i = 1; i <= 3; i++) await visitorSay(v.socket, `m${i}`);
    assert.deepEqual(await call(a1, "read", { conversationId: convId, seq: 2 }), { ok: true });
    const c = (await listAll(a2)).conversations.find((x) => x.id === convId);
    assert.equal(c.unread, 1, "read by any agent of the site counts for all");
  });

  it("a lower read marker from another agent does not raise unread again", async () => {
    const { a1, a2, v, convId } = await team();
    for (let i = 1; i <= 4; i++) await visitorSay(v.socket, `m${i}`);
    assertOk(await call(a1, "read", { conversationId: convId, seq: 3 }));
    assertOk(await call(a2, "read", { conversationId: convId, seq: 1 }));
    const c = (await listAll(a1)).conversations.find((x) => x.id === convId);
    assert.equal(c.unread, 1, "unread counts after the highest seq any agent has read");
  });

  it("new visitor messages after a read count as unread again", async () => {
    const { a1, v, convId } = await team();
    await visitorSay(v.socket, "m1");
    assertOk(await call(a1, "read", { conversationId: convId, seq: 1 }));
    await visitorSay(v.socket, "m2");
    await visitorSay(v.socket, "m3");
    const c = (await listAll(a1)).conversations.find((x) => x.id === convId);
    assert.equal(c.unread, 2);
  });

  it("an agent read is relayed to the visitor as read {seq}", async () => {
    const { a1, v, convId } = await team();
    await visitorSay(v.socket, "a");
    await visitorSay(v.socket, "b");
    assertOk(await call(a1, "read", { conversationId: convId, seq: 2 }));
    assert.deepEqual(await nextEvent(v.socket, "read"), { seq: 2 });
  });

  it("an agent read is relayed to the other agents with by agent", async () => {
    const { a1, a2, v, convId } = await team();
    await visitorSay(v.socket, "a");
    assertOk(await call(a1, "read", { conversationId: convId, seq: 1 }));
    assert.deepEqual(await nextEvent(a2, "read"), { conversationId: convId, by: "agent", seq: 1 });
  });

  it("a visitor read is relayed to agents with by visitor", async () => {
    const { a1, a2, v, convId } = await team();
    const m = await agentSay(a1, convId, "read this");
    assertOk(await call(v.socket, "read", { seq: m.seq }));
    assert.deepEqual(await nextEvent(a1, "read"), { conversationId: convId, by: "visitor", seq: m.seq });
    assert.deepEqual(await nextEvent(a2, "read"), { conversationId: convId, by: "visitor", seq: m.seq });
  });
});

describe("agent end and reopen", () => {
  it("end acks the conversation Summary with status ended", async () => {
    const { a1, v, convId } = await team();
    await visitorSay(v.socket, "thanks, bye");
    const ack = assertOk(await call(a1, "end", { conversationId: convId }));
    assert.deepEqual(Object.keys(ack).sort(), ["conversation", "ok"]);
    assertSummary(ack.conversation);
    assert.equal(ack.conversation.id, convId);
    assert.equal(ack.conversation.status, "ended");
  });

  it("end tells the visitor with conversation {id, status: ended}", async () => {
    const { a1, v, convId } = await team();
    assertOk(await call(a1, "end", { conversationId: convId }));
    assert.deepEqual(await nextEvent(v.socket, "conversation"), { id: convId, status: "ended" });
  });

  it("end tells the other agents with an ended Summary", async () => {
    const { a1, a2, convId } = await team();
    assertOk(await call(a1, "end", { conversationId: convId }));
    const c = await nextEvent(a2, "conversation", (x) => x.id === convId);
    assertSummary(c);
    assert.equal(c.status, "ended");
  });

  it("an ended conversation is ended in the visitor's next session", async () => {
    const { site, a1, v, convId } = await team();
    assertOk(await call(a1, "end", { conversationId: convId }));
    v.socket.disconnect();
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.deepEqual(again.session.conversation, { id: convId, status: "ended" });
  });

  it("a visitor message to an ended conversation reopens it for the visitor and the agents", async () => {
    const { a1, a2, v, convId } = await team();
    assertOk(await call(a1, "end", { conversationId: convId }));
    await nextEvent(v.socket, "conversation", (c) => c.status === "ended");
    await nextEvent(a2, "conversation", (c) => c.id === convId && c.status === "ended");
    const m = await visitorSay(v.socket, "one more question");
    assert.equal(m.conversationId, convId, "the visitor keeps its one conversation");
    assert.deepEqual(await nextEvent(v.socket, "conversation"), { id: convId, status: "open" });
    const c = await nextEvent(a2, "conversation", (x) => x.id === convId && x.status === "open");
    assertSummary(c);
    const c1 = await nextEvent(a1, "conversation", (x) => x.id === convId && x.status === "open");
    assert.equal(c1.status, "open");
    const l = await listAll(a1, { status: "open" });
    assert.ok(l.conversations.some((x) => x.id === convId));
  });
});

describe("typing", () => {
  it("agent typing reaches the visitor with the agent's display name", async () => {
    const { a1, v, convId } = await team();
    a1.emit("typing", { conversationId: convId, typing: true });
    assert.deepEqual(await nextEvent(v.socket, "typing"), { typing: true, agentName: "Alice Agent" });
    a1.emit("typing", { conversationId: convId, typing: false });
    assert.deepEqual(await nextEvent(v.socket, "typing"), { typing: false, agentName: "Alice Agent" });
  });

  it("visitor typing reaches every agent with the conversation id", async () => {
    const { a1, a2, v, convId } = await team();
    drain(a1);
    v.socket.emit("typing", { typing: true });
    assert.deepEqual(await nextEvent(a1, "typing"), { conversationId: convId, typing: true });
    assert.deepEqual(await nextEvent(a2, "typing"), { conversationId: convId, typing: true });
    v.socket.emit("typing", { typing: false });
    assert.deepEqual(await nextEvent(a1, "typing"), { conversationId: convId, typing: false });
  });
});
