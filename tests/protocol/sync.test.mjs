// Catch-up after reconnect, idempotent send, and gap-free ordering under concurrency.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, call, nextEvent, expectNoEvent, assertOk, assertMessage, assertAscending,
  visitorSay, agentSay, cid, sleep, received, waitFor,
} from "./support.mjs";

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.dispose(); });
afterEach(() => srv.closeClients());

const seqs = (ms) => ms.map((m) => m.seq);
const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

async function allMessages(agent, conversationId) {
  return assertOk(await call(agent, "sync", { conversationId, afterSeq: 0 })).messages;
}

describe("catch-up", () => {
  it("after a reconnect, sync returns exactly the messages missed while offline", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    await visitorSay(v.socket, "v1");
    await visitorSay(v.socket, "v2");
    v.socket.disconnect();
    const missed = [];
    for (let i = 1; i <= 3; i++) missed.push(await agentSay(agent, convId, `while offline ${i}`));
    const back = await srv.visitor(site.siteKey, { token: v.token });
    const s = assertOk(await call(back.socket, "sync", { afterSeq: 2 }));
    assert.deepEqual(s.messages, missed);
    assert.equal(s.hasMore, false);
  });

  it("session, live messages and sync together hold every message exactly once after a reconnect under traffic", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    const held = new Map(); // seq -> message, the client's view
    for (const m of [await visitorSay(v.socket, "a"), await visitorSay(v.socket, "b")]) held.set(m.seq, m);
    v.socket.disconnect();
    for (let i = 0; i < 3; i++) await agentSay(agent, convId, `offline ${i}`);
    // the agent keeps talking while the visitor reconnects and catches up
    const talking = (async () => {
      for (let i = 0; i < 10; i++) {
        await agentSay(agent, convId, `live ${i}`);
        await sleep(5);
      }
    })();
    const back = await srv.visitor(site.siteKey, { token: v.token });
    const highest = Math.max(...held.keys());
    const s = assertOk(await call(back.socket, "sync", { afterSeq: highest }));
    await talking;
    const stored = await allMessages(agent, convId);
    assert.deepEqual(seqs(stored), range(1, 15), "the store holds each message exactly once, gap-free");
    // wait until the last live message has reached the visitor
    const last = stored[stored.length - 1];
    if (!s.messages.some((m) => m.id === last.id) && !back.session.messages.some((m) => m.id === last.id)) {
      await nextEvent(back.socket, "message", (m) => m.id === last.id);
    }
    const live = received(back.socket, "message");
    for (const m of [...back.session.messages, ...s.messages, ...live]) {
      assertMessage(m, { conversationId: convId });
      if (held.has(m.seq)) assert.deepEqual(held.get(m.seq), m, "the same seq must always be the same message");
      held.set(m.seq, m);
    }
    assert.deepEqual([...held.keys()].sort((x, y) => x - y), range(1, 15), "nothing lost");
    assert.deepEqual([...held.values()].sort((x, y) => x.seq - y.seq), stored);
    // no live event is delivered twice
    assert.equal(new Set(live.map((m) => m.id)).size, live.length, "a live message event was delivered twice");
  });

  it("an agent that reconnects catches up with sync", async () => {
    const { site, agent, agentAccount } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    const seen = await visitorSay(v.socket, "before");
    await nextEvent(agent, "message", (m) => m.id === seen.id);
    agent.disconnect();
    const missed = [await visitorSay(v.socket, "during 1"), await visitorSay(v.socket, "during 2")];
    const again = await srv.agent(agentAccount.token);
    const s = assertOk(await call(again.socket, "sync", { conversationId: convId, afterSeq: seen.seq }));
    assert.deepEqual(s.messages, missed);
  });

  it("sync returns at most 500 messages and hasMore when more remain", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    for (let batch = 0; batch < 51; batch++) {
      await Promise.all(range(1, 10).map((i) => agentSay(agent, convId, `bulk ${batch}.${i}`)));
    }
    const first = assertOk(await call(v.socket, "sync", { afterSeq: 0 }));
    assert.equal(first.messages.length, 500);
    assert.deepEqual(seqs(first.messages), range(1, 500));
    assert.equal(first.hasMore, true);
    const rest = assertOk(await call(v.socket, "sync", { afterSeq: 500 }));
    assert.deepEqual(seqs(rest.messages), range(501, 510));
    assert.equal(rest.hasMore, false);
  });
});

describe("idempotent send", () => {
  it("a send retried with the same clientId acks the original message", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const clientId = cid();
    const first = assertOk(await call(socket, "send", { clientId, text: "only once" })).message;
    const retry = assertOk(await call(socket, "send", { clientId, text: "only once" })).message;
    assert.deepEqual(retry, first);
    assert.equal(assertOk(await call(socket, "sync", { afterSeq: 0 })).messages.length, 1);
  });

  it("a retry with the same clientId but a different text acks the original and stores nothing", async () => {
    const site = await srv.createSite();
    const { socket } = await srv.visitor(site.siteKey);
    const clientId = cid();
    const first = await visitorSay(socket, "original", clientId);
    const retry = assertOk(await call(socket, "send", { clientId, text: "edited" })).message;
    assert.deepEqual(retry, first);
    assert.deepEqual(assertOk(await call(socket, "sync", { afterSeq: 0 })).messages, [first]);
  });

  it("concurrent retries with the same clientId store one message and all ack the same id and seq", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const { socket, session } = await srv.visitor(site.siteKey);
    const clientId = cid();
    const acks = await Promise.all(range(1, 10).map(() => call(socket, "send", { clientId, text: "racing" })));
    acks.forEach((a) => assertOk(a));
    const ids = new Set(acks.map((a) => a.message.id));
    const sq = new Set(acks.map((a) => a.message.seq));
    assert.equal(ids.size, 1, `all acks must carry the same id, got ${[...ids]}`);
    assert.deepEqual([...sq], [1]);
    assert.equal((await allMessages(agent, session.conversation.id)).length, 1);
  });

  it("concurrent retries from two tabs with the same clientId store one message", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const tab1 = await srv.visitor(site.siteKey);
    const tab2 = await srv.visitor(site.siteKey, { token: tab1.token });
    const clientId = cid();
    const acks = await Promise.all(
      range(1, 8).map((i) => call(i % 2 ? tab1.socket : tab2.socket, "send", { clientId, text: "from two tabs" })),
    );
    acks.forEach((a) => assertOk(a));
    assert.equal(new Set(acks.map((a) => a.message.id)).size, 1);
    assert.equal((await allMessages(agent, tab1.session.conversation.id)).length, 1);
  });

  it("a retried send does not deliver a second message event to agents", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const { socket } = await srv.visitor(site.siteKey);
    const clientId = cid();
    const m = await visitorSay(socket, "once", clientId);
    await visitorSay(socket, "once", clientId);
    await visitorSay(socket, "once", clientId);
    await nextEvent(agent, "message", (x) => x.id === m.id);
    await expectNoEvent(agent, "message", 500, (x) => x.id === m.id);
  });

  it("concurrent agent retries with the same clientId store one message", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    const clientId = cid();
    const acks = await Promise.all(range(1, 10).map(() => call(agent, "send", { conversationId: convId, clientId, text: "agent racing" })));
    acks.forEach((a) => assertOk(a));
    assert.equal(new Set(acks.map((a) => a.message.id)).size, 1);
    assert.equal((await allMessages(agent, convId)).length, 1);
  });

  it("the same clientId used by the visitor and by an agent stores two messages", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    const clientId = cid();
    const mv = await visitorSay(v.socket, "visitor side", clientId);
    const ma = await agentSay(agent, convId, "agent side", clientId);
    assert.notEqual(ma.id, mv.id);
    assert.deepEqual([mv.seq, ma.seq], [1, 2]);
    assert.equal(ma.sender, "agent");
  });

  it("an agent reusing another agent's clientId in the same conversation gets the original message", async () => {
    const site = await srv.createSite();
    const acc1 = await srv.createAgent(site.siteKey);
    const acc2 = await srv.createAgent(site.siteKey);
    const a1 = await srv.agent(acc1.token);
    const a2 = await srv.agent(acc2.token);
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    const clientId = cid();
    const first = await agentSay(a1.socket, convId, "first agent", clientId);
    const second = await agentSay(a2.socket, convId, "second agent", clientId);
    assert.deepEqual(second, first, "same side, same conversation, same clientId: the original message");
  });

  it("the same clientId in two conversations stores two messages", async () => {
    const site = await srv.createSite();
    const a = await srv.visitor(site.siteKey);
    const b = await srv.visitor(site.siteKey);
    const clientId = cid();
    const ma = await visitorSay(a.socket, "in a", clientId);
    const mb = await visitorSay(b.socket, "in b", clientId);
    assert.notEqual(ma.id, mb.id);
    assert.equal(mb.text, "in b");
    assert.equal(mb.conversationId, b.session.conversation.id);
  });
});

describe("ordering", () => {
  it("concurrent sends from the visitor and two agents get gap-free, unique seqs", async () => {
    const site = await srv.createSite();
    const acc1 = await srv.createAgent(site.siteKey);
    const acc2 = await srv.createAgent(site.siteKey);
    const a1 = (await srv.agent(acc1.token)).socket;
    const a2 = (await srv.agent(acc2.token)).socket;
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    const sends = [];
    for (let i = 0; i < 20; i++) {
      sends.push(call(v.socket, "send", { clientId: cid("v"), text: `v${i}` }));
      sends.push(call(a1, "send", { conversationId: convId, clientId: cid("a"), text: `a1-${i}` }));
      sends.push(call(a2, "send", { conversationId: convId, clientId: cid("b"), text: `a2-${i}` }));
    }
    const acks = await Promise.all(sends);
    acks.forEach((a) => assertOk(a));
    assert.deepEqual(acks.map((a) => a.message.seq).sort((x, y) => x - y), range(1, 60));
    const stored = await allMessages(a1, convId);
    assert.deepEqual(seqs(stored), range(1, 60));
    const bySeq = new Map(acks.map((a) => [a.message.seq, a.message]));
    for (const m of stored) assert.deepEqual(m, bySeq.get(m.seq));
  });

  it("messages are delivered to each client in seq order", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const tab1 = await srv.visitor(site.siteKey);
    const tab2 = await srv.visitor(site.siteKey, { token: tab1.token });
    const convId = tab1.session.conversation.id;
    const sends = [];
    for (let i = 0; i < 25; i++) {
      sends.push(call(agent, "send", { conversationId: convId, clientId: cid(), text: `a${i}` }));
      sends.push(call(tab1.socket, "send", { clientId: cid(), text: `v${i}` }));
    }
    await Promise.all(sends);
    const agentGot = () => received(agent, "message").filter((m) => m.conversationId === convId);
    await waitFor(() => received(tab2.socket, "message").length >= 50, 10000, "50 messages at tab 2").catch(() => {});
    await waitFor(() => received(tab1.socket, "message").length >= 25, 5000, "25 messages at tab 1").catch(() => {});
    await waitFor(() => agentGot().length >= 25, 5000, "25 messages at the agent").catch(() => {});
    const atTab2 = received(tab2.socket, "message");
    assert.deepEqual(seqs(atTab2), range(1, 50), "the other tab gets every message in seq order");
    const atTab1 = received(tab1.socket, "message");
    assertAscending(atTab1);
    assert.equal(atTab1.length, 25, "tab 1 gets the agent's 25 messages, not its own");
    const atAgent = agentGot();
    assertAscending(atAgent);
    assert.equal(atAgent.length, 25);
  });
});
