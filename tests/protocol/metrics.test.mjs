// Metrics and readiness: `GET /metrics` on the listener of PARLOR_METRICS_LISTEN (never on the
// public one) in the Prometheus text format, counters that move by exactly what the clients
// did, and `GET /readyz` (200 while the database and Redis answer, 503 once Redis is gone).
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer,
  call,
  cid,
  assertOk,
  assertError,
  visitorSay,
  agentSay,
  nextEvent,
  expectConnectError,
  disconnected,
  waitFor,
  ownRedis,
  unique,
  BACKEND,
} from "./support.mjs";

// ---------------------------------------------------------------------------
// The Prometheus text format (version 0.0.4), checked line by line

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = ["counter", "gauge", "histogram", "summary", "untyped"];

/** A sample value as the format allows it: a Go float, NaN or ±Inf. */
function parseValue(text, where) {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  assert.match(text, /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, `${where}: bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` from position `i` of `line`; returns [labels, index after "}"]. */
function parseLabels(line, i, where) {
  const labels = {};
  assert.equal(line[i], "{");
  i++;
  for (;;) {
    if (line[i] === "}") return [labels, i + 1];
    const eq = line.indexOf("=", i);
    assert.ok(eq > i, `${where}: a label without "="`);
    const name = line.slice(i, eq);
    assert.match(name, LABEL_NAME, `${where}: bad label name ${JSON.stringify(name)}`);
    assert.ok(!(name in labels), `${where}: label ${name} twice`);
    assert.equal(line[eq + 1], '"', `${where}: label value must be quoted`);
    let value = "";
    let j = eq + 2;
    for (;;) {
      assert.ok(j < line.length, `${where}: unterminated label value`);
      const c = line[j];
      if (c === "\\") {
        const next = line[j + 1];
        assert.ok(["\\", '"', "n"].includes(next), `${where}: bad escape \\${next}`);
        value += next === "n" ? "\n" : next;
        j += 2;
      } else if (c === '"') {
        j++;
        break;
      } else {
        value += c;
        j++;
      }
    }
    labels[name] = value;
    if (line[j] === ",") j++;
    else assert.equal(line[j], "}", `${where}: expected "," or "}" after a label`);
    i = j;
  }
}

/** The family a sample name belongs to, given the TYPE lines seen. */
function familyOf(name, types) {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && ["histogram", "summary"].includes(types.get(base))) {
      if (suffix === "_bucket" && types.get(base) !== "histogram") continue;
      return base;
    }
  }
  return name;
}

/**
 * Parses an exposition strictly: every line is a comment, HELP, TYPE or sample of the
 * format; each family's TYPE comes before its samples, its samples are together, no series
 * is repeated, and a histogram's buckets are cumulative up to `+Inf` = `_count`. Returns
 * Map(family → { type, help, samples: [{ name, labels, value }] }).
 */
export function parseExposition(text) {
  assert.ok(text.endsWith("\n"), "the exposition ends with a line feed");
  const families = new Map();
  const types = new Map();
  const series = new Set();
  const closed = new Set();
  let current = null;
  const family = (name) => {
    if (!families.has(name)) families.set(name, { type: types.get(name) ?? "untyped", help: null, samples: [] });
    return families.get(name);
  };
  text.split("\n").forEach((line, n) => {
    const where = `line ${n + 1} ${JSON.stringify(line)}`;
    if (line === "") return;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // a plain comment
      const [, kind, name, rest] = m;
      assert.match(name, METRIC_NAME, `${where}: bad metric name`);
      if (kind === "TYPE") {
        assert.ok(TYPES.includes(rest), `${where}: unknown type ${rest}`);
        assert.ok(!types.has(name), `${where}: a second TYPE for ${name}`);
        assert.ok(!families.get(name)?.samples.length, `${where}: TYPE after samples of ${name}`);
        types.set(name, rest);
        family(name).type = rest;
      } else {
        assert.equal(family(name).help, null, `${where}: a second HELP for ${name}`);
        assert.doesNotMatch(rest.replace(/\\[\\n]/g, ""), /\\/, `${where}: bad escape in HELP`);
        family(name).help = rest;
      }
      return;
    }
    const nameEnd = line.search(/[{ ]/);
    assert.ok(nameEnd > 0, `${where}: not a sample`);
    const name = line.slice(0, nameEnd);
    assert.match(name, METRIC_NAME, `${where}: bad metric name`);
    let labels = {};
    let i = nameEnd;
    if (line[i] === "{") [labels, i] = parseLabels(line, i, where);
    assert.equal(line[i], " ", `${where}: a space before the value`);
    const parts = line.slice(i + 1).split(" ");
    assert.ok(parts.length === 1 || parts.length === 2, `${where}: value [timestamp] expected`);
    const value = parseValue(parts[0], where);
    if (parts.length === 2) assert.match(parts[1], /^-?\d+$/, `${where}: bad timestamp`);
    const base = familyOf(name, types);
    if (current !== base) {
      assert.ok(!closed.has(base), `${where}: samples of ${base} are not together`);
      if (current) closed.add(current);
      current = base;
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    assert.ok(!series.has(key), `${where}: series repeated`);
    series.add(key);
    family(base).samples.push({ name, labels, value });
  });
  for (const [name, f] of families) {
    if (f.type !== "histogram") continue;
    const groups = new Map();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      if (!groups.has(key)) groups.set(key, { buckets: [], count: null, sum: null });
      const g = groups.get(key);
      if (s.name === `${name}_bucket`) g.buckets.push([parseValue(le, `${name} le`), s.value]);
      else if (s.name === `${name}_count`) g.count = s.value;
      else if (s.name === `${name}_sum`) g.sum = s.value;
    }
    for (const g of groups.values()) {
      assert.ok(g.count !== null && g.sum !== null, `${name}: _count and _sum`);
      assert.equal(g.buckets.at(-1)?.[0], Infinity, `${name}: the last bucket is +Inf`);
      for (let k = 1; k < g.buckets.length; k++) {
        assert.ok(g.buckets[k][0] > g.buckets[k - 1][0], `${name}: bucket bounds ascend`);
        assert.ok(g.buckets[k][1] >= g.buckets[k - 1][1], `${name}: buckets are cumulative`);
      }
      assert.equal(g.buckets.at(-1)[1], g.count, `${name}: the +Inf bucket equals _count`);
    }
  }
  return families;
}

/** The value of the one sample named `name` with exactly `labels` (undefined when absent). */
function sample(families, name, labels = {}) {
  const base = familyOf(name, new Map([...families].map(([n, f]) => [n, f.type])));
  const want = JSON.stringify(Object.entries(labels).sort());
  const found = families.get(base)?.samples.filter(
    (s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want,
  );
  assert.ok(!found || found.length <= 1);
  return found?.[0]?.value;
}

async function scrape(srv) {
  return parseExposition(await srv.metrics());
}

describe("the exposition check", () => {
  it("accepts the format and refuses what breaks it", () => {
    const good =
      '# HELP a_total Things.\n# TYPE a_total counter\na_total{k="x\\"y",l="1"} 3\n\n' +
      "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\n";
    const f = parseExposition(good);
    assert.equal(sample(f, "a_total", { k: 'x"y', l: "1" }), 3);
    assert.equal(sample(f, "h_count"), 2);
    for (const bad of [
      "a 1",
      "a{k=x} 1\n",
      "a{k=\"x\"}1\n",
      "a one\n",
      "# TYPE a counter\n# TYPE a counter\na 1\n",
      "a 1\nb 1\na{k=\"2\"} 1\n",
      "a 1\na 2\n",
      "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n",
      "9a 1\n",
    ]) {
      assert.throws(() => parseExposition(bad), assert.AssertionError, `accepted ${JSON.stringify(bad)}`);
    }
  });
});

// ---------------------------------------------------------------------------

describe("/metrics", () => {
  let srv;
  before(async () => {
    srv = await startServer({ env: { PARLOR_METRICS_LISTEN: "127.0.0.1:0" } });
  });
  after(async () => {
    await srv?.dispose();
  });
  afterEach(() => srv.closeClients());

  it("is served on its own listener, never on the public one", async () => {
    assert.ok(srv.metricsUrl, "the server printed its metrics address");
    assert.notEqual(new URL(srv.metricsUrl).port, new URL(srv.url).port);
    const res = await fetch(`${srv.metricsUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
    assert.equal((await srv.http("GET", "/metrics")).status, 404, "/metrics on the public listener");
    assert.equal((await fetch(`${srv.metricsUrl}/`)).status, 404, "only /metrics on the metrics listener");
    assert.equal((await fetch(`${srv.metricsUrl}/healthz`)).status, 404);
  });

  it("counts stored messages by side, not idempotent repeats, and the sockets of each namespace", async () => {
    // Start from no socket: the gauges must then match exactly what this test connects.
    await waitFor(async () => {
      const f = await scrape(srv);
      return sample(f, "parlor_sockets", { namespace: "visitor" }) === 0 && sample(f, "parlor_sockets", { namespace: "agent" }) === 0;
    }, 5000, "no socket open");
    const before = await scrape(srv);

    const { site, agent } = await srv.siteWithAgent();
    const v1 = await srv.visitor(site.siteKey);
    const v2 = await srv.visitor(site.siteKey);
    const tab2 = await srv.visitor(site.siteKey, { token: v1.token });
    await visitorSay(v1.socket, "one");
    await visitorSay(v2.socket, "two");
    const clientId = cid("v");
    const third = await visitorSay(tab2.socket, "three", clientId);
    // A retry of a stored send is answered with the original and counts for nothing.
    assert.equal((await visitorSay(v1.socket, "three", clientId)).id, third.id);
    await agentSay(agent, v1.session.conversation.id, "reply one");
    await agentSay(agent, v2.session.conversation.id, "reply two");
    await nextEvent(v2.socket, "message", (m) => m.text === "reply two");

    const during = await scrape(srv);
    const moved = (name, labels) => sample(during, name, labels) - (sample(before, name, labels) ?? 0);
    assert.equal(moved("parlor_messages_total", { side: "visitor" }), 3);
    assert.equal(moved("parlor_messages_total", { side: "agent" }), 2);
    assert.equal(sample(during, "parlor_sockets", { namespace: "visitor" }), 3);
    assert.equal(sample(during, "parlor_sockets", { namespace: "agent" }), 1);
    // Every message was committed, in one commit or several.
    assert.ok(moved("parlor_store_commit_seconds_count") >= 1, "commits were timed");
    assert.ok(moved("parlor_store_commit_seconds_sum") > 0);
    assert.equal(during.get("parlor_store_commit_seconds").type, "histogram");
    assert.equal(during.get("parlor_messages_total").type, "counter");
    assert.equal(during.get("parlor_sockets").type, "gauge");
    assert.equal(sample(during, "parlor_cluster_nodes"), 1, "a single node");
    assert.ok(sample(during, "process_resident_memory_bytes") > 1024 * 1024, "RSS in bytes");
    assert.ok(sample(during, "process_open_fds") >= 5, "open fds: stdio, listeners, sockets, the database");
    assert.ok(sample(during, "process_max_fds") >= sample(during, "process_open_fds"));
    for (const name of ["parlor_messages_total", "parlor_sockets", "parlor_store_commit_seconds", "parlor_rate_limited_total", "parlor_socket_drops_total"]) {
      assert.ok(during.get(name).help, `${name} has a HELP line`);
    }

    v2.socket.disconnect();
    agent.disconnect();
    await waitFor(async () => {
      const f = await scrape(srv);
      return sample(f, "parlor_sockets", { namespace: "visitor" }) === 2 && sample(f, "parlor_sockets", { namespace: "agent" }) === 0;
    }, 5000, "the gauges to follow the disconnects");
  });
});

describe("/metrics: refusals and drops", () => {
  let srv;
  before(async () => {
    srv = await startServer({
      env: { PARLOR_METRICS_LISTEN: "127.0.0.1:0", PARLOR_RATE_MESSAGES: "2", PARLOR_MAX_SOCKETS_PER_VISITOR: "1" },
    });
  });
  after(async () => {
    await srv?.dispose();
  });

  it("counts rate-limited requests by limit, and the sockets the server closed or refused by reason", async () => {
    const before = await scrape(srv);
    const site = await srv.createSite();
    const account = await srv.createAgent(site.siteKey);
    const { socket: agent } = await srv.agent(account.token);
    const v = await srv.visitor(site.siteKey);
    await visitorSay(v.socket, "one");
    await visitorSay(v.socket, "two");
    assertError(await call(v.socket, "send", { clientId: cid(), text: "three" }), "rate_limited");
    // A second socket of the same visitor is over the cap of 1.
    const err = await expectConnectError(srv.socket("/visitor", { auth: { siteKey: site.siteKey, token: v.token } }));
    assert.equal(err.message, "too_many_connections");
    // Disabling the agent closes its socket within 2 s.
    const gone = disconnected(agent, 5000);
    assert.equal((await srv.cli(["agent", "disable", "--username", account.username])).code, 0);
    await gone;

    const moved = async (name, labels) => sample(await scrape(srv), name, labels) - sample(before, name, labels);
    // Counted once the socket is closed, which its client may hear of first.
    await waitFor(async () => (await moved("parlor_socket_drops_total", { reason: "revoked" })) === 1, 2000, "the revoked socket to be counted");
    assert.equal(sample(before, "parlor_rate_limited_total", { limit: "messages" }), 0, "the series exists from the start");
    assert.equal(await moved("parlor_rate_limited_total", { limit: "messages" }), 1);
    assert.equal(await moved("parlor_rate_limited_total", { limit: "sync" }), 0);
    assert.equal(await moved("parlor_socket_drops_total", { reason: "too_many_connections" }), 1);
    assert.equal(await moved("parlor_socket_drops_total", { reason: "revoked" }), 1);
    assert.equal(await moved("parlor_socket_drops_total", { reason: "overflow" }), 0);
    assert.equal(await moved("parlor_messages_total", { side: "visitor" }), 2);
  });
});

describe("/readyz", () => {
  it("answers 200 with the state of the database on a healthy node, like /healthz", async () => {
    const srv = await startServer();
    try {
      const ready = await srv.http("GET", "/readyz");
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { database: "ok" });
      assert.deepEqual((await srv.http("GET", "/healthz")).body, ready.body);
      assert.equal((await srv.http("POST", "/readyz")).status, 405);
    } finally {
      await srv.dispose();
    }
  });

  it("answers 503 once the node's Redis is gone, and 200 again when it is back; the cluster gauge counts the nodes", { skip: BACKEND !== "postgres" && "a cluster needs PARLOR_TEST_BACKEND=postgres" }, async () => {
    const redis = await ownRedis();
    const env = {
      PARLOR_REDIS_URL: redis.url,
      PARLOR_REDIS_PREFIX: unique("readyz"),
      PARLOR_CLUSTER_HEARTBEAT_MS: "300",
      PARLOR_METRICS_LISTEN: "127.0.0.1:0",
    };
    const A = await startServer({ env });
    const B = await startServer({ env: { ...env, PARLOR_DATABASE_URL: A.databaseUrl } });
    try {
      const ready = await A.http("GET", "/readyz");
      assert.equal(ready.status, 200);
      assert.deepEqual(ready.body, { database: "ok", redis: "ok" });
      for (const node of [A, B]) {
        await waitFor(async () => sample(await scrape(node), "parlor_cluster_nodes") === 2, 5000, "both nodes to count 2 nodes");
      }

      await redis.kill();
      const down = await waitFor(async () => {
        const r = await A.http("GET", "/readyz");
        return r.status === 503 && r;
      }, 5000, "readyz to report Redis down");
      assert.deepEqual(down.body, { database: "ok", redis: "down" });

      await redis.start();
      await waitFor(async () => (await A.http("GET", "/readyz")).status === 200, 10000, "readyz to recover");
    } finally {
      await B.dispose();
      await A.dispose();
      await redis.kill();
    }
  });
});
