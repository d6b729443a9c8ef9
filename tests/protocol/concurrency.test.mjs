// Two real `parlor serve` processes sharing one PostgreSQL database, no Redis: a
// visitor on node 1 and an agent on node 2 write into the same conversation at the
// same moment, while the same clientIds are retried through the other node. The
// store alone must keep `seq` gap-free and `send` idempotent across nodes.
//
// Needs PARLOR_TEST_BACKEND=postgres (SQLite is one process's file).
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { BACKEND, startServer, createPgDatabase, call, assertOk, assertMessage, cid } from "./support.mjs";

const skip =
  BACKEND === "postgres"
    ? false
    : "two nodes sharing one database need PostgreSQL: run with PARLOR_TEST_BACKEND=postgres";
if (skip) console.log(`concurrency.test.mjs skipped: ${skip}`);

/** Messages per side in the burst. */
const PER_SIDE = 100;
/** Of those, how many are also sent through the other node in the same burst. */
const RACED_RETRIES = 30;
/** Acks wait behind every other writer of the conversation's row. */
const ACK_TIMEOUT = 30000;

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe("two nodes writing into one conversation at the same moment", { skip }, () => {
  let db, node1, node2;

  before(async () => {
    db = createPgDatabase("parlor_concurrency");
    // Both nodes start at once on the empty database: migrations and the generated JWT
    // secret must come out the same for both.
    const env = { PARLOR_DATABASE_URL: db.url };
    [node1, node2] = await Promise.all([startServer({ env }), startServer({ env })]);
  });
  after(async () => {
    await Promise.all([node1?.dispose(), node2?.dispose()]);
    db?.drop();
  });
  afterEach(() => {
    node1.closeClients();
    node2.closeClients();
  });

  /** A site, its conversation, and the visitor and agent on both nodes. */
  async function scene() {
    const site = await node1.createSite();
    // Logged in on node 2; the token must also open a connection on node 1.
    const account = await node2.createAgent(site.siteKey);
    const visitor1 = await node1.visitor(site.siteKey);
    const visitor2 = await node2.visitor(site.siteKey, { token: visitor1.token });
    assert.equal(visitor2.session.conversation.id, visitor1.session.conversation.id, "one visitor, two nodes");
    const agent2 = await node2.agent(account.token);
    const agent1 = await node1.agent(account.token);
    return {
      conversationId: visitor1.session.conversation.id,
      visitor1: visitor1.socket,
      visitor2: visitor2.socket,
      agent1: agent1.socket,
      agent2: agent2.socket,
    };
  }

  const visitorSend = (socket, clientId, text) => call(socket, "send", { clientId, text }, ACK_TIMEOUT);
  const agentSend = (socket, conversationId, clientId, text) =>
    call(socket, "send", { conversationId, clientId, text }, ACK_TIMEOUT);

  async function syncAll(socket, payload) {
    const ack = assertOk(await call(socket, "sync", payload, ACK_TIMEOUT), "sync");
    assert.equal(ack.hasMore, false, "everything fits in one sync");
    return ack.messages;
  }

  it("seq is gap-free and every clientId is stored once, with raced retries through the other node", async () => {
    const s = await scene();
    const vids = range(1, PER_SIDE).map(() => cid("v"));
    const aids = range(1, PER_SIDE).map(() => cid("a"));

    // While the burst runs, a client on each node keeps catching up with sync. A store that
    // let a higher seq commit before a lower one would show a hole here, and a client that
    // synced past the hole would never get the missing message.
    let bursting = true;
    const catchUp = async (socket, payload) => {
      let highest = 0;
      let rounds = 0;
      const seen = [];
      for (;;) {
        // A sync sent after the last ack arrived sees every message: that round is the last.
        const last = !bursting;
        rounds += 1;
        const got = await syncAll(socket, { ...payload, afterSeq: highest });
        assert.deepEqual(
          got.map((m) => m.seq),
          range(highest + 1, highest + got.length),
          `sync after ${highest} returned a hole`,
        );
        seen.push(...got);
        if (got.length) highest = got[got.length - 1].seq;
        if (last) break;
      }
      return { seen, rounds };
    };
    const watchers = [
      catchUp(s.visitor2, {}), // node 2, visitor side
      catchUp(s.agent1, { conversationId: s.conversationId }), // node 1, agent side
    ];

    // Everything in flight at once: each side's 100 originals go through its own node, and
    // the first 30 clientIds of each side are sent again, concurrently, through the other.
    const sends = [];
    for (let i = 0; i < PER_SIDE; i++) {
      sends.push(visitorSend(s.visitor1, vids[i], `visitor ${i}`).then((ack) => ({ side: "visitor", clientId: vids[i], via: 1, ack })));
      sends.push(agentSend(s.agent2, s.conversationId, aids[i], `agent ${i}`).then((ack) => ({ side: "agent", clientId: aids[i], via: 2, ack })));
      if (i < RACED_RETRIES) {
        sends.push(visitorSend(s.visitor2, vids[i], `visitor ${i}`).then((ack) => ({ side: "visitor", clientId: vids[i], via: 2, ack })));
        sends.push(agentSend(s.agent1, s.conversationId, aids[i], `agent ${i}`).then((ack) => ({ side: "agent", clientId: aids[i], via: 1, ack })));
      }
    }
    const started = Date.now();
    const results = await Promise.all(sends);
    const burstMs = Date.now() - started;
    bursting = false;
    const watched = await Promise.all(watchers);

    // Every send was acked ok, and all sends of one clientId acked the same message.
    const byKey = new Map(); // "side/clientId" -> message
    for (const r of results) {
      assertOk(r.ack, `${r.side} send ${r.clientId} via node ${r.via}`);
      const m = assertMessage(r.ack.message, { conversationId: s.conversationId, sender: r.side, clientId: r.clientId });
      const key = `${r.side}/${r.clientId}`;
      const first = byKey.get(key);
      if (first) assert.deepEqual(m, first, `both sends of ${key} must ack the same message`);
      else byKey.set(key, m);
    }
    const total = 2 * PER_SIDE;
    assert.equal(byKey.size, total);
    const ackedSeqs = [...byKey.values()].map((m) => m.seq).sort((a, b) => a - b);
    assert.deepEqual(ackedSeqs, range(1, total), "the acked seqs are exactly 1..N");

    // The store, read from both nodes and both sides: seq 1..N, each acked message exactly once.
    const stored1 = await syncAll(s.agent1, { conversationId: s.conversationId, afterSeq: 0 });
    const stored2 = await syncAll(s.visitor2, { afterSeq: 0 });
    assert.deepEqual(stored2, stored1, "both nodes read the same conversation");
    assert.deepEqual(stored1.map((m) => m.seq), range(1, total), "gap-free, no duplicates");
    assert.equal(new Set(stored1.map((m) => m.id)).size, total, "message ids are unique");
    const storedByKey = new Map(stored1.map((m) => [`${m.sender}/${m.clientId}`, m]));
    assert.equal(storedByKey.size, total, "one message per side and clientId");
    for (const [key, acked] of byKey) assert.deepEqual(storedByKey.get(key), acked, `acked ${key} is stored as acked`);

    // The clients that caught up during the burst hold the same, each message once.
    for (const [i, w] of watched.entries()) {
      assert.deepEqual(w.seen, stored1, `watcher ${i + 1} (${w.rounds} syncs) holds every message once`);
    }
    console.log(`${results.length} concurrent sends over two nodes acked in ${burstMs} ms; watchers synced ${watched.map((w) => w.rounds).join(" and ")} times`);
  });

  it("a later retry of every clientId through the other node acks the original id and seq", async () => {
    const s = await scene();
    const originals = [];
    const sends = [];
    for (let i = 0; i < 20; i++) {
      sends.push(visitorSend(s.visitor1, cid("v"), `visitor ${i}`));
      sends.push(agentSend(s.agent2, s.conversationId, cid("a"), `agent ${i}`));
    }
    for (const ack of await Promise.all(sends)) originals.push(assertOk(ack).message);

    // All retries at once, each through the node that did not store the original.
    const retries = await Promise.all(
      originals.map((m) =>
        m.sender === "visitor"
          ? visitorSend(s.visitor2, m.clientId, m.text)
          : agentSend(s.agent1, s.conversationId, m.clientId, m.text),
      ),
    );
    retries.forEach((ack, i) => assert.deepEqual(assertOk(ack, `retry ${i}`).message, originals[i], "the retry acks the original"));

    const stored = await syncAll(s.agent2, { conversationId: s.conversationId, afterSeq: 0 });
    assert.deepEqual(stored.map((m) => m.seq), range(1, originals.length), "retries stored nothing");
  });

  it("a visitor message through one node reopens a conversation that an agent on the other node ended, once", async () => {
    const s = await scene();
    assertOk(await call(s.agent2, "end", { conversationId: s.conversationId }), "end");
    // Two tabs on two nodes send at once into the ended conversation.
    const [a, b] = await Promise.all([
      visitorSend(s.visitor1, cid("v"), "back again (tab 1)"),
      visitorSend(s.visitor2, cid("v"), "back again (tab 2)"),
    ]);
    assertOk(a);
    assertOk(b);
    const list = assertOk(await call(s.agent1, "list", {}), "list");
    const summary = list.conversations.find((c) => c.id === s.conversationId);
    assert.equal(summary?.status, "open", "reopened");
    const stored = await syncAll(s.agent1, { conversationId: s.conversationId, afterSeq: 0 });
    const seqs = stored.map((m) => m.seq);
    assert.deepEqual(seqs, range(1, seqs.length), "gap-free");
    assert.deepEqual(
      stored.filter((m) => m.sender === "visitor").map((m) => m.text).sort(),
      ["back again (tab 1)", "back again (tab 2)"],
    );
  });
});
