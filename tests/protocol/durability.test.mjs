// An ok ack for a write means it is committed: it survives kill -9 of the server
// and a restart on the same database.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, call, assertOk, assertSummary, visitorSay, agentSay, cid,
} from "./support.mjs";

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.dispose(); });
afterEach(() => srv.closeClients());

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** kill -9, then start again on the same database. */
async function crashAndRestart() {
  await srv.kill9();
  srv.closeClients();
  await srv.restart();
}

async function relogin(account) {
  const res = await srv.login(account.username, account.password);
  assert.equal(res.status, 200, "login after restart");
  return (await srv.agent(res.body.token)).socket;
}

describe("durability across kill -9", () => {
  it("acked visitor and agent messages survive kill -9 and a restart", async () => {
    const { site, agent, agentAccount } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    const sends = [];
    for (let i = 0; i < 15; i++) {
      sends.push(call(v.socket, "send", { clientId: cid("v"), text: `visitor ${i}` }));
      sends.push(call(agent, "send", { conversationId: convId, clientId: cid("a"), text: `agent ${i}` }));
    }
    // kill as soon as the last ack arrives
    const acks = await Promise.all(sends);
    await srv.kill9();
    acks.forEach((a) => assertOk(a));
    srv.closeClients();
    await srv.restart();

    const agentAgain = await relogin(agentAccount);
    const stored = assertOk(await call(agentAgain, "sync", { conversationId: convId, afterSeq: 0 })).messages;
    const acked = acks.map((a) => a.message).sort((x, y) => x.seq - y.seq);
    assert.deepEqual(stored, acked, "every acked message is stored, unchanged");
    assert.deepEqual(stored.map((m) => m.seq), range(1, 30));
  });

  it("the visitor token still identifies the visitor after a restart", async () => {
    const site = await srv.createSite();
    const v = await srv.visitor(site.siteKey);
    const m = await visitorSay(v.socket, "remember me");
    await crashAndRestart();
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.equal(again.session.visitor.id, v.session.visitor.id);
    assert.equal(again.session.conversation.id, v.session.conversation.id);
    assert.deepEqual(again.session.messages, [m]);
  });

  it("seq continues without a gap after a restart", async () => {
    const site = await srv.createSite();
    const v = await srv.visitor(site.siteKey);
    await visitorSay(v.socket, "1");
    await visitorSay(v.socket, "2");
    await crashAndRestart();
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.equal((await visitorSay(again.socket, "3")).seq, 3);
  });

  it("a retry after a restart with the same clientId acks the original message", async () => {
    const site = await srv.createSite();
    const v = await srv.visitor(site.siteKey);
    const clientId = cid();
    const first = await visitorSay(v.socket, "sent before the crash", clientId);
    await crashAndRestart();
    const again = await srv.visitor(site.siteKey, { token: v.token });
    const retry = assertOk(await call(again.socket, "send", { clientId, text: "sent before the crash" })).message;
    assert.deepEqual(retry, first);
    assert.equal(assertOk(await call(again.socket, "sync", { afterSeq: 0 })).messages.length, 1);
  });

  it("an acked profile survives kill -9", async () => {
    const site = await srv.createSite();
    const v = await srv.visitor(site.siteKey);
    assertOk(await call(v.socket, "profile", { name: "Durable Dora", email: "dora@example.com", phone: "+1 555 0100" }));
    await crashAndRestart();
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.deepEqual(again.session.visitor, { id: v.session.visitor.id, name: "Durable Dora", email: "dora@example.com", phone: "+1 555 0100" });
  });

  it("an acked end survives kill -9", async () => {
    const { site, agent, agentAccount } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    await visitorSay(v.socket, "bye");
    assertOk(await call(agent, "end", { conversationId: convId }));
    await crashAndRestart();
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.equal(again.session.conversation.status, "ended");
    const a = await relogin(agentAccount);
    const c = assertOk(await call(a, "list", { status: "ended" })).conversations.find((x) => x.id === convId);
    assertSummary(c);
    assert.equal(c.status, "ended");
  });

  it("an acked read marker survives kill -9", async () => {
    const { site, agent, agentAccount } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    for (let i = 0; i < 4; i++) await visitorSay(v.socket, `q${i}`);
    assertOk(await call(agent, "read", { conversationId: convId, seq: 3 }));
    await crashAndRestart();
    const a = await relogin(agentAccount);
    const c = assertOk(await call(a, "list", {})).conversations.find((x) => x.id === convId);
    assert.equal(c.unread, 1);
  });

  it("an acked page survives kill -9", async () => {
    const { site, agentAccount } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    assertOk(await call(v.socket, "page", { url: "https://shop.example/p/42", title: "Product 42" }));
    await crashAndRestart();
    const a = await relogin(agentAccount);
    const c = assertOk(await call(a, "list", {})).conversations.find((x) => x.id === convId);
    assert.deepEqual(c.page, { url: "https://shop.example/p/42", title: "Product 42" });
  });

  it("an agent token issued before a restart still opens /agent after it", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    await crashAndRestart();
    const a = await srv.agent(acc.token);
    assert.ok(a.socket.connected, "agents should not be logged out by a server restart");
  });

  it("sites and agents created with the CLI survive kill -9", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    await crashAndRestart();
    const res = await srv.login(acc.username, acc.password);
    assert.equal(res.status, 200);
    const { session } = await srv.visitor(site.siteKey);
    assert.equal(session.conversation.status, "open");
  });
});
