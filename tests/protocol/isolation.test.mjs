// Sites are isolated: nothing of site A is visible or changeable from site B.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, call, nextEvent, expectNoEvent, assertOk, assertError, assertSession,
  visitorSay, agentSay, cid, drain,
} from "./support.mjs";

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.dispose(); });
afterEach(() => srv.closeClients());

/** Site A (agent + visitor with a message) and site B (agent). */
async function twoSites() {
  const A = await srv.siteWithAgent();
  const B = await srv.siteWithAgent();
  const va = await srv.visitor(A.site.siteKey);
  const convA = va.session.conversation.id;
  const first = await visitorSay(va.socket, "site A private message");
  await nextEvent(A.agent, "message", (m) => m.id === first.id);
  return { A, B, va, convA, first };
}

async function expectSiteAUntouched({ A, convA, first }) {
  const s = assertOk(await call(A.agent, "sync", { conversationId: convA, afterSeq: 0 }));
  assert.deepEqual(s.messages, [first], "site A's messages must be unchanged");
  const l = assertOk(await call(A.agent, "list", {}));
  const c = l.conversations.find((x) => x.id === convA);
  assert.equal(c.status, "open");
  assert.equal(c.unread, 1);
}

describe("an agent of site B", () => {
  it("does not see site A's conversations in conversations or list", async () => {
    const t = await twoSites();
    const fresh = await srv.agent(t.B.agentAccount.token);
    assert.ok(!fresh.conversations.some((c) => c.id === t.convA));
    const l = assertOk(await call(t.B.agent, "list", {}));
    assert.ok(!l.conversations.some((c) => c.id === t.convA));
    assert.deepEqual(l.conversations, []);
    assert.deepEqual(assertOk(await call(t.B.agent, "list", { status: "open" })).conversations, []);
  });

  it("cannot read site A's history or sync", async () => {
    const t = await twoSites();
    assertError(await call(t.B.agent, "history", { conversationId: t.convA, beforeSeq: 100 }), "not_found");
    assertError(await call(t.B.agent, "sync", { conversationId: t.convA, afterSeq: 0 }), "not_found");
  });

  it("cannot send into a site A conversation", async () => {
    const t = await twoSites();
    drain(t.va.socket);
    assertError(await call(t.B.agent, "send", { conversationId: t.convA, clientId: cid(), text: "injected" }), "not_found");
    await expectNoEvent(t.va.socket, "message", 500);
    await expectSiteAUntouched(t);
  });

  it("cannot end a site A conversation", async () => {
    const t = await twoSites();
    assertError(await call(t.B.agent, "end", { conversationId: t.convA }), "not_found");
    await expectNoEvent(t.va.socket, "conversation", 500);
    await expectSiteAUntouched(t);
  });

  it("cannot mark a site A conversation read", async () => {
    const t = await twoSites();
    assertError(await call(t.B.agent, "read", { conversationId: t.convA, seq: 1 }), "not_found");
    await expectNoEvent(t.va.socket, "read", 500);
    await expectSiteAUntouched(t);
  });

  it("cannot make site A's visitor see typing", async () => {
    const t = await twoSites();
    t.B.agent.emit("typing", { conversationId: t.convA, typing: true });
    await expectNoEvent(t.va.socket, "typing", 600);
  });

  it("receives no events about site A's visitors", async () => {
    const t = await twoSites();
    const start = t.B.agent.__log.length;
    const vb = await srv.visitor(t.A.site.siteKey); // another site A visitor comes online
    await visitorSay(t.va.socket, "more A traffic");
    assertOk(await call(t.va.socket, "profile", { name: "A person" }));
    assertOk(await call(t.va.socket, "page", { url: "https://a.example/" }));
    t.va.socket.emit("typing", { typing: true });
    await agentSay(t.A.agent, t.convA, "A reply");
    assertOk(await call(t.A.agent, "read", { conversationId: t.convA, seq: 2 }));
    assertOk(await call(t.A.agent, "end", { conversationId: vb.session.conversation.id }));
    vb.socket.disconnect();
    await nextEvent(t.A.agent, "presence", (p) => p.conversationId === vb.session.conversation.id && p.online === false, 5000);
    const leaked = t.B.agent.__log.slice(start).map((e) => `${e.name} ${JSON.stringify(e.args[0])}`);
    assert.deepEqual(leaked, [], "site B's agent must hear nothing of site A");
  });
});

describe("visitor tokens", () => {
  it("a visitor token of site A used on site B creates a new visitor", async () => {
    const t = await twoSites();
    const onB = await srv.visitor(t.B.site.siteKey, { token: t.va.token });
    assertSession(onB.session);
    assert.notEqual(onB.session.visitor.id, t.va.session.visitor.id);
    assert.notEqual(onB.session.conversation.id, t.convA);
    assert.notEqual(onB.session.token, t.va.token);
    assert.deepEqual(onB.session.messages, []);
    // and site A's visitor is unharmed
    const backOnA = await srv.visitor(t.A.site.siteKey, { token: t.va.token });
    assert.equal(backOnA.session.visitor.id, t.va.session.visitor.id);
    assert.deepEqual(backOnA.session.messages, [t.first]);
  });

  it("a visitor of site B is not announced to site A's agents", async () => {
    const t = await twoSites();
    drain(t.A.agent);
    const vb = await srv.visitor(t.B.site.siteKey);
    await visitorSay(vb.socket, "B only");
    await nextEvent(t.B.agent, "message", (m) => m.text === "B only");
    await expectNoEvent(t.A.agent, "conversation", 300);
    await expectNoEvent(t.A.agent, "message", 100);
    await expectNoEvent(t.A.agent, "presence", 100);
  });
});

describe("visitors", () => {
  it("a visitor naming another conversation in its requests only ever touches its own", async () => {
    const t = await twoSites();
    const vb = await srv.visitor(t.B.site.siteKey);
    const own = vb.session.conversation.id;
    const send = await call(vb.socket, "send", { clientId: cid(), text: "where does this go?", conversationId: t.convA });
    if (send.ok) assert.equal(send.message.conversationId, own, "a visitor's message lands in its own conversation");
    else assertError(send, "invalid");
    const h = await call(vb.socket, "history", { beforeSeq: 100, conversationId: t.convA });
    if (h.ok) assert.ok(h.messages.every((m) => m.conversationId === own));
    const s = await call(vb.socket, "sync", { afterSeq: 0, conversationId: t.convA });
    if (s.ok) assert.ok(s.messages.every((m) => m.conversationId === own));
    await expectSiteAUntouched(t);
  });

  it("a visitor of the same site cannot see another visitor's conversation", async () => {
    const t = await twoSites();
    const other = await srv.visitor(t.A.site.siteKey);
    assert.notEqual(other.session.conversation.id, t.convA);
    assert.deepEqual(other.session.messages, []);
    await agentSay(t.A.agent, t.convA, "for the first visitor only");
    await expectNoEvent(other.socket, "message", 500);
    const s = assertOk(await call(other.socket, "sync", { afterSeq: 0 }));
    assert.deepEqual(s.messages, []);
  });
});

