// Three real `parlor serve` nodes sharing one PostgreSQL database and one Redis: a broadcast
// on one node reaches every node, presence is cluster-wide, a dead node's visitors go offline,
// and a Redis restart (of a Redis the test starts and kills itself) heals by itself.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import {
  startServer,
  nextEvent,
  expectNoEvent,
  call,
  assertOk,
  visitorSay,
  agentSay,
  waitFor,
  sleep,
  cid,
  ownRedis,
  REDIS_URL,
  startCluster as startPgCluster,
} from "./support.mjs";

const GRACE_MS = 300;
const HEARTBEAT_MS = 300;
/**
 * How long a dead node's members may stay online (docs/deploy.md): grace + 2 heartbeats. The
 * death tests beat once a second, so that the bound is far from what a slower detection
 * would take (the 3 heartbeats of silence it once was).
 */
const DEATH_HEARTBEAT_MS = 1000;
const DEAD_NODE_BOUND_MS = GRACE_MS + 2 * DEATH_HEARTBEAT_MS;
/** What a kill -9 and the event's way to the client add; small, or the bound tells nothing. */
const DEATH_SLACK_MS = 200;
/** What a loaded test machine adds to a bound: process start, event loop delays. */
const SLACK_MS = 500;
/** How soon presence must reach the other side, wherever the two connect. */
const PRESENCE_BOUND_MS = 500;

/** A cluster (support.mjs) with this file's heartbeat and presence grace. */
function startCluster(n, { settle = true, heartbeatMs = HEARTBEAT_MS, redisUrls = [] } = {}) {
  return startPgCluster(n, { settle, heartbeatMs, redisUrls, env: { PARLOR_PRESENCE_GRACE_MS: String(GRACE_MS) } });
}

describe("a cluster of three nodes", () => {
  let cluster, A, B, C;
  before(async () => {
    cluster = await startCluster(3);
    [A, B, C] = cluster.nodes;
  });
  after(() => cluster?.dispose());

  async function siteWithAgentsOnBAndC() {
    const site = await A.createSite();
    const b = await B.agent((await A.createAgent(site.siteKey)).token);
    const c = await C.agent((await A.createAgent(site.siteKey)).token);
    return { site, agentB: b.socket, agentC: c.socket };
  }

  it("a visitor message on node A reaches agents on nodes B and C", async () => {
    const { site, agentB, agentC } = await siteWithAgentsOnBAndC();
    const { socket: visitor } = await A.visitor(site.siteKey);
    const sent = await visitorSay(visitor, "hello from A");
    assert.deepEqual(await nextEvent(agentB, "message", (m) => m.id === sent.id), sent);
    assert.deepEqual(await nextEvent(agentC, "message", (m) => m.id === sent.id), sent);
  });

  it("an agent reply on node B reaches the visitor on A and the other agent on C", async () => {
    const { site, agentB, agentC } = await siteWithAgentsOnBAndC();
    const { socket: visitor, session } = await A.visitor(site.siteKey);
    const reply = await agentSay(agentB, session.conversation.id, "hi from B");
    assert.deepEqual(await nextEvent(visitor, "message", (m) => m.id === reply.id), reply);
    assert.deepEqual(await nextEvent(agentC, "message", (m) => m.id === reply.id), reply);
  });

  it("typing, read markers and end chat cross nodes", async () => {
    const { site, agentB, agentC } = await siteWithAgentsOnBAndC();
    const { socket: visitor, session } = await A.visitor(site.siteKey);
    const conversationId = session.conversation.id;
    const sent = await visitorSay(visitor, "are you there?");

    visitor.emit("typing", { typing: true });
    assert.deepEqual(await nextEvent(agentC, "typing", (t) => t.conversationId === conversationId), {
      conversationId,
      typing: true,
    });
    agentB.emit("typing", { conversationId, typing: true });
    assert.equal((await nextEvent(visitor, "typing")).typing, true);

    assertOk(await call(agentB, "read", { conversationId, seq: sent.seq }));
    assert.deepEqual(await nextEvent(visitor, "read"), { seq: sent.seq });
    assert.deepEqual(await nextEvent(agentC, "read", (r) => r.conversationId === conversationId), {
      conversationId,
      by: "agent",
      seq: sent.seq,
    });

    assertOk(await call(agentC, "end", { conversationId }));
    assert.deepEqual(await nextEvent(visitor, "conversation"), { id: conversationId, status: "ended" });
    const summary = await nextEvent(agentB, "conversation", (c) => c.id === conversationId && c.status === "ended");
    assert.equal(summary.status, "ended");
  });

  it("a visitor with tabs on two nodes stays online until both are gone", async () => {
    const { site, agentB } = await siteWithAgentsOnBAndC();
    const first = await A.visitor(site.siteKey);
    const conversationId = first.session.conversation.id;
    await nextEvent(agentB, "presence", (p) => p.conversationId === conversationId && p.online);
    const second = await C.visitor(site.siteKey, { token: first.token });

    first.socket.disconnect();
    await expectNoEvent(agentB, "presence", GRACE_MS + 4 * HEARTBEAT_MS, (p) => p.conversationId === conversationId);
    const listed = assertOk(await call(agentB, "list", {})).conversations.find((c) => c.id === conversationId);
    assert.equal(listed.online, true, "online while the tab on node C is open");

    second.socket.disconnect();
    const offline = await nextEvent(agentB, "presence", (p) => p.conversationId === conversationId, 5000);
    assert.equal(offline.online, false);
  });

  it("agents online is true while any agent of the site is connected to any node", async () => {
    const site = await A.createSite();
    const { socket: visitor, session } = await A.visitor(site.siteKey);
    assert.equal(session.agentsOnline, false);
    const agentOnB = await B.agent((await A.createAgent(site.siteKey)).token);
    assert.deepEqual(await nextEvent(visitor, "presence"), { agentsOnline: true });
    const agentOnC = await C.agent((await A.createAgent(site.siteKey)).token);
    agentOnB.socket.disconnect();
    await expectNoEvent(visitor, "presence", GRACE_MS + 4 * HEARTBEAT_MS);
    agentOnC.socket.disconnect();
    assert.deepEqual(await nextEvent(visitor, "presence", () => true, 5000), { agentsOnline: false });
  });

  it("a visitor reconnecting to another node gets its history and syncs with nothing lost or doubled", async () => {
    const { site, agentB } = await siteWithAgentsOnBAndC();
    const first = await A.visitor(site.siteKey);
    const conversationId = first.session.conversation.id;
    const mine = await visitorSay(first.socket, "one");
    const theirs = await agentSay(agentB, conversationId, "two");
    await nextEvent(first.socket, "message", (m) => m.id === theirs.id);
    first.socket.disconnect();
    const missed = await agentSay(agentB, conversationId, "three, while away");

    const again = await C.visitor(site.siteKey, { token: first.token });
    assert.equal(again.session.conversation.id, conversationId);
    assert.deepEqual(again.session.messages.map((m) => m.id), [mine.id, theirs.id, missed.id]);
    const synced = assertOk(await call(again.socket, "sync", { afterSeq: theirs.seq }));
    assert.deepEqual(synced.messages, [missed]);
  });

  it("seq stays gap-free when visitor and agent write from different nodes at once", async () => {
    const { site, agentB } = await siteWithAgentsOnBAndC();
    const { socket: visitor, session } = await A.visitor(site.siteKey);
    const conversationId = session.conversation.id;
    const sends = [];
    for (let i = 0; i < 30; i++) {
      sends.push(visitorSay(visitor, `v${i}`));
      sends.push(agentSay(agentB, conversationId, `a${i}`));
    }
    const acked = await Promise.all(sends);
    const all = assertOk(await call(visitor, "sync", { afterSeq: 0 })).messages;
    assert.deepEqual(all.map((m) => m.seq), Array.from({ length: 60 }, (_, i) => i + 1));
    assert.deepEqual(new Set(all.map((m) => m.id)), new Set(acked.map((m) => m.id)));
  });
});

describe("presence across nodes, whatever the timing", () => {
  /** Whether `socket` gets (or got) a `presence` passing `pick` before `deadline`. */
  function told(socket, pick, deadline) {
    return nextEvent(socket, "presence", pick, Math.max(deadline - Date.now(), 0))
      .then(() => true)
      .catch(() => false);
  }

  for (const delay of [0, 50, 100, 300, 1000]) {
    it(`a visitor on one node sees an agent who connected ${delay} ms earlier on a node that just started`, async () => {
      const cluster = await startCluster(2, { settle: false });
      try {
        const [A, C] = cluster.nodes;
        const site = await A.createSite();
        const token = (await A.createAgent(site.siteKey)).token;
        await C.agent(token);
        const connected = Date.now();
        await sleep(delay);
        const visitor = await A.visitor(site.siteKey);
        if (visitor.session.agentsOnline) return;
        const deadline = Math.max(connected + PRESENCE_BOUND_MS, Date.now()) + SLACK_MS;
        assert.ok(
          await told(visitor.socket, (p) => p.agentsOnline, deadline),
          `no agentsOnline: true within ${PRESENCE_BOUND_MS} ms (delay ${delay} ms)`,
        );
      } finally {
        await cluster.dispose();
      }
    });

    it(`an agent on one node sees a visitor who connected ${delay} ms earlier on a node that just started`, async () => {
      const cluster = await startCluster(2, { settle: false });
      try {
        const [A, C] = cluster.nodes;
        const site = await A.createSite();
        const token = (await A.createAgent(site.siteKey)).token;
        const { session } = await A.visitor(site.siteKey);
        const connected = Date.now();
        await sleep(delay);
        const agent = await C.agent(token);
        const listed = agent.conversations.find((c) => c.id === session.conversation.id);
        if (listed?.online) return;
        const deadline = Math.max(connected + PRESENCE_BOUND_MS, Date.now()) + SLACK_MS;
        const online = (p) => p.conversationId === session.conversation.id && p.online;
        assert.ok(
          await told(agent.socket, online, deadline),
          `the visitor was not online within ${PRESENCE_BOUND_MS} ms (delay ${delay} ms)`,
        );
      } finally {
        await cluster.dispose();
      }
    });
  }
});

describe("a node that dies without saying goodbye", () => {
  let cluster, A, B;
  before(async () => {
    cluster = await startCluster(2, { heartbeatMs: DEATH_HEARTBEAT_MS });
    [A, B] = cluster.nodes;
  });
  after(() => cluster?.dispose());

  it(`takes its visitors offline for agents on other nodes within grace + 2 heartbeats (${DEAD_NODE_BOUND_MS} ms)`, async () => {
    const site = await B.createSite();
    const agent = await B.agent((await B.createAgent(site.siteKey)).token);
    const { session } = await A.visitor(site.siteKey);
    const conversationId = session.conversation.id;
    await nextEvent(agent.socket, "presence", (p) => p.conversationId === conversationId && p.online);

    await A.kill9();
    const offline = await nextEvent(
      agent.socket,
      "presence",
      (p) => p.conversationId === conversationId && !p.online,
      DEAD_NODE_BOUND_MS + DEATH_SLACK_MS,
    );
    assert.equal(offline.online, false);
  });
});

describe("a node with the only agent dies", () => {
  let cluster, A, B;
  before(async () => {
    cluster = await startCluster(2, { heartbeatMs: DEATH_HEARTBEAT_MS });
    [A, B] = cluster.nodes;
  });
  after(() => cluster?.dispose());

  it(`tells visitors on other nodes the agents are gone within grace + 2 heartbeats (${DEAD_NODE_BOUND_MS} ms)`, async () => {
    const site = await B.createSite();
    await A.agent((await B.createAgent(site.siteKey)).token);
    const { socket: visitor, session } = await B.visitor(site.siteKey);
    if (!session.agentsOnline) await nextEvent(visitor, "presence", (p) => p.agentsOnline);

    await A.kill9();
    const gone = await nextEvent(visitor, "presence", (p) => !p.agentsOnline, DEAD_NODE_BOUND_MS + DEATH_SLACK_MS);
    assert.equal(gone.agentsOnline, false);
  });
});

describe("a Redis restart during traffic", () => {
  let cluster, A, B, redis;
  before(async () => {
    redis = await ownRedis();
    cluster = await startCluster(2, { redisUrls: [redis.url, redis.url] });
    [A, B] = cluster.nodes;
  });
  after(async () => {
    await cluster?.dispose();
    await redis?.kill();
  });

  it("keeps same-node delivery, resumes cross-node delivery, and loses nothing acked", async (t) => {
    const site = await A.createSite();
    const agentOnA = (await A.agent((await A.createAgent(site.siteKey)).token)).socket;
    const agentOnB = (await B.agent((await A.createAgent(site.siteKey)).token)).socket;
    const { socket: visitor, session } = await A.visitor(site.siteKey);
    const conversationId = session.conversation.id;
    const before = await visitorSay(visitor, "before the outage");
    await nextEvent(agentOnB, "message", (m) => m.id === before.id);

    await redis.kill();
    const health = await waitFor(
      async () => {
        const h = await A.http("GET", "/healthz");
        return h.status === 503 && h;
      },
      5000,
      "healthz to report Redis down",
    );
    assert.equal(health.body.redis, "down");

    // Same-node delivery keeps its usual latency: Redis is not on its path.
    const latencies = [];
    const sentDuring = [];
    for (let i = 0; i < 20; i++) {
      const start = performance.now();
      const m = await visitorSay(visitor, `during the outage ${i}`);
      await nextEvent(agentOnA, "message", (e) => e.id === m.id);
      latencies.push(performance.now() - start);
      sentDuring.push(m);
    }
    latencies.sort((a, b) => a - b);
    const p95 = latencies[18];
    assert.ok(p95 <= 50, `same-node send→receive p95 ${p95.toFixed(1)} ms with Redis down (at most 50)`);
    assert.ok(latencies[19] <= 250, `same-node send→receive max ${latencies[19].toFixed(1)} ms with Redis down`);

    await redis.start();
    const back = Date.now();
    // What was sent meanwhile reaches the other node's agent when Redis returns, in order.
    // The bound is 2 s (docs/deploy.md); a loaded test machine gets 3 s more.
    for (const m of sentDuring) {
      assert.equal((await nextEvent(agentOnB, "message", (e) => e.id === m.id, 5000)).seq, m.seq);
    }
    t.diagnostic(`held messages delivered ${Date.now() - back} ms after Redis returned`);
    const after = await visitorSay(visitor, "after the outage");
    await nextEvent(agentOnB, "message", (e) => e.id === after.id, 2000);
    const during = sentDuring[0];
    await waitFor(async () => (await A.http("GET", "/healthz")).status === 200, 10000, "healthz to recover");

    const synced = assertOk(await call(agentOnB, "sync", { conversationId, afterSeq: 0 })).messages;
    const ids = synced.map((m) => m.id);
    assert.ok(ids.includes(before.id) && ids.includes(during.id) && ids.includes(after.id));
    assert.deepEqual(synced.map((m) => m.seq), Array.from({ length: synced.length }, (_, i) => i + 1));
  });
});

/**
 * A TCP proxy to Redis that the test can partition: `cut()` stops every byte in both
 * directions (connections stay open, as when the network between drops packets; new ones are
 * accepted and held), `heal()` lets everything through again.
 */
async function partitionableRedis() {
  const upstream = new URL(REDIS_URL);
  const pairs = new Set();
  let cut = false;
  const server = net.createServer((client) => {
    const pair = { client, redis: null };
    pairs.add(pair);
    const join = () => {
      pair.redis = net.connect(Number(upstream.port || 6379), upstream.hostname);
      client.pipe(pair.redis);
      pair.redis.pipe(client);
      const end = () => {
        client.destroy();
        pair.redis.destroy();
        pairs.delete(pair);
      };
      client.on("error", end).on("close", end);
      pair.redis.on("error", end).on("close", end);
    };
    if (cut) {
      client.pause();
      pair.join = join;
    } else join();
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `redis://127.0.0.1:${server.address().port}`,
    cut() {
      cut = true;
      for (const p of pairs) {
        p.client.pause();
        p.redis?.pause();
      }
    },
    heal() {
      cut = false;
      for (const p of pairs) {
        if (p.join) {
          const join = p.join;
          p.join = null;
          p.client.resume();
          join();
        } else {
          p.client.resume();
          p.redis?.resume();
        }
      }
    },
    close() {
      for (const p of pairs) {
        p.client.destroy();
        p.redis?.destroy();
      }
      server.close();
    },
  };
}

describe("a node cut off from Redis while the others reach it", () => {
  let cluster, A, B, proxy;
  before(async () => {
    proxy = await partitionableRedis();
    cluster = await startCluster(2, { heartbeatMs: DEATH_HEARTBEAT_MS, redisUrls: [REDIS_URL, proxy.url] });
    [A, B] = cluster.nodes;
  });
  after(async () => {
    proxy?.heal();
    await cluster?.dispose();
    proxy?.close();
  });

  it("looks dead to the others for the partition's length, keeps its own delivery, and rejoins when it heals", async (t) => {
    const site = await A.createSite();
    const agentOnB = (await B.agent((await A.createAgent(site.siteKey)).token)).socket;
    const { socket: visitorOnA, session } = await A.visitor(site.siteKey);
    const { socket: visitorOnB, session: sessionOnB } = await B.visitor(site.siteKey);
    if (!session.agentsOnline) await nextEvent(visitorOnA, "presence", (p) => p.agentsOnline);

    proxy.cut();
    const cutAt = Date.now();
    // The others take the silent node for dead: its agent is gone for visitors elsewhere.
    await nextEvent(visitorOnA, "presence", (p) => !p.agentsOnline, DEAD_NODE_BOUND_MS + SLACK_MS);
    t.diagnostic(`taken for dead ${Date.now() - cutAt} ms after the cut`);

    // On the cut-off node, delivery between its own sockets goes on.
    const local = await visitorSay(visitorOnB, "same node, during the partition");
    await nextEvent(agentOnB, "message", (m) => m.id === local.id, 1000);
    const health = await waitFor(
      async () => {
        const h = await B.http("GET", "/healthz");
        return h.status === 503 && h;
      },
      5000,
      "the cut-off node's healthz to report Redis down",
    );
    assert.equal(health.body.redis, "down");
    // Writes on the other side are committed as usual.
    const during = await visitorSay(visitorOnA, "other node, during the partition");

    proxy.heal();
    const healedAt = Date.now();
    // Its next heartbeat announces its members again, though the beats it sent during the
    // partition reach Redis now and put it back in the node list (they were only delayed).
    await nextEvent(visitorOnA, "presence", (p) => p.agentsOnline, 5000);
    t.diagnostic(`agents online again ${Date.now() - healedAt} ms after the partition healed`);
    const after = await visitorSay(visitorOnA, "other node, after the partition");
    const live = await nextEvent(agentOnB, "message", (m) => m.id === after.id, 2000);
    assert.equal(live.seq, after.seq);

    // Whatever did not arrive live, a sync from the agent's side holds it: nothing acked is lost.
    const conversationId = session.conversation.id;
    const synced = assertOk(await call(agentOnB, "sync", { conversationId, afterSeq: 0 })).messages;
    assert.deepEqual(synced.map((m) => m.id), [during.id, after.id]);
    assert.notEqual(sessionOnB.conversation.id, conversationId);
  });
});
