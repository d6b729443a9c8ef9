// The HTTP edge on the public internet: slow and oversized requests, connection caps, login
// backoff and its password pool, CORS, response headers, client addresses behind a trusted
// proxy, the handshake rate, file modes and the first-run demo. Attacks come from raw sockets
// bound to distinct loopback addresses (127.0.0.x), so each test can play several clients.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import http from "node:http";
import { statSync, existsSync, readFileSync, readdirSync } from "node:fs";
import { execFileSync } from "node:child_process";
import {
  startServer, connect, nextEvent, call, assertOk, unique, sleep, BACKEND,
} from "./support.mjs";

const KiB = 1024;

function hostPort(srv) {
  const u = new URL(srv.url);
  return { host: u.hostname, port: Number(u.port) };
}

/** One HTTP request from `localAddress`, on its own connection. Resolves { status, headers, text, body }. */
function request(srv, method, path, { headers = {}, body, localAddress = "127.0.0.1", chunked = false, timeoutMs = 10000 } = {}) {
  const { host, port } = hostPort(srv);
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (body !== undefined && !chunked) h["content-length"] = Buffer.byteLength(body);
    const req = http.request({ host, port, method, path, headers: h, localAddress, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { text += d; });
      res.on("end", () => {
        let parsed = text;
        try { parsed = JSON.parse(text); } catch {}
        resolve({ status: res.statusCode, headers: res.headers, text, body: parsed });
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A raw TCP connection from `localAddress`; resolves once connected, with a `gone` promise. */
function rawSocket(srv, localAddress) {
  const { host, port } = hostPort(srv);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, localAddress });
    s.received = "";
    s.closedAt = null;
    s.gone = new Promise((r) => s.once("close", () => { s.closedAt = Date.now(); r(); }));
    s.on("data", (d) => { s.received += d; });
    s.on("error", () => {});
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

/** User + system CPU time of a process so far, in clock ticks (1/100 s). */
function cpuTicks(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

function hardNofile(pid) {
  const line = readFileSync(`/proc/${pid}/limits`, "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  return line.trim().split(/\s+/)[4];
}

function vmRssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : NaN;
}

const login = (srv, username, password, localAddress) =>
  request(srv, "POST", "/api/login", {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
    localAddress,
  });

describe("slow and oversized requests", () => {
  let srv;
  // The defaults of a real server, which the test harness raises.
  before(async () => { srv = await startServer({ env: { PARLOR_MAX_CONNECTIONS_PER_ADDRESS: "500", PARLOR_RATE_HANDSHAKES: "600" } }); });
  after(async () => { await srv?.dispose(); });

  it("2,000 half request lines from one address are closed within 30 s while other addresses are served within 1 s", async (t) => {
    const site = await srv.createSite();
    const started = Date.now();
    const sockets = [];
    // Open them in waves, as fast as the kernel lets us; some are refused at once (the cap).
    for (let wave = 0; wave < 20; wave++) {
      const batch = await Promise.all(
        Array.from({ length: 100 }, () => rawSocket(srv, "127.0.0.1").catch(() => null)),
      );
      for (const s of batch) {
        if (!s) continue;
        s.write("GET /healthz HTT");
        sockets.push(s);
      }
    }
    t.diagnostic(`opened ${sockets.length} connections in ${Date.now() - started} ms`);

    // Meanwhile another address is served promptly.
    let t0 = Date.now();
    const health = await request(srv, "GET", "/healthz", { localAddress: "127.0.0.2" });
    const healthMs = Date.now() - t0;
    assert.equal(health.status, 200);
    t0 = Date.now();
    const v = srv.socket("/visitor", { auth: { siteKey: site.siteKey }, localAddress: "127.0.0.2" });
    await connect(v);
    await nextEvent(v, "session");
    assertOk(await call(v, "send", { clientId: unique("c"), text: "still served" }));
    const visitorMs = Date.now() - t0;
    v.disconnect();
    t.diagnostic(`under attack: /healthz ${healthMs} ms, visitor connect + send ${visitorMs} ms`);
    assert.ok(healthMs < 1000, `/healthz took ${healthMs} ms`);
    assert.ok(visitorMs < 1000, `visitor connect + send took ${visitorMs} ms`);

    const deadline = started + 30000;
    while (Date.now() < deadline && sockets.filter((s) => s.closedAt).length < sockets.length * 0.95) await sleep(200);
    const closed = sockets.filter((s) => s.closedAt);
    const last = Math.max(...closed.map((s) => s.closedAt - started));
    t.diagnostic(`${closed.length}/${sockets.length} closed, the last after ${last} ms`);
    for (const s of sockets) s.destroy();
    assert.ok(closed.length >= sockets.length * 0.95, `only ${closed.length} of ${sockets.length} closed within 30 s`);
  });

  it("a connection that sends nothing at all is closed by the idle timeout", { timeout: 15000 }, async () => {
    const quick = await startServer({ env: { PARLOR_HTTP_IDLE_TIMEOUT_MS: "1500" } });
    try {
      const s = await rawSocket(quick, "127.0.0.5");
      const t0 = Date.now();
      await s.gone;
      const ms = Date.now() - t0;
      assert.ok(ms >= 1000 && ms < 5000, `closed after ${ms} ms`);
    } finally {
      await quick.dispose();
    }
  });

  it("a keep-alive connection waiting for its next request is closed by the header timeout", { timeout: 15000 }, async () => {
    const quick = await startServer({ env: { PARLOR_HTTP_HEADER_TIMEOUT_MS: "1000" } });
    try {
      const s = await rawSocket(quick, "127.0.0.5");
      s.write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      const t0 = Date.now();
      await s.gone;
      const ms = Date.now() - t0;
      assert.match(s.received, /^HTTP\/1\.1 200/);
      assert.ok(ms < 4000, `closed after ${ms} ms`);
    } finally {
      await quick.dispose();
    }
  });

  it("a request head over the size bound is answered 431 or closed, and the server goes on", async () => {
    const s = await rawSocket(srv, "127.0.0.3");
    s.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${"a".repeat(20 * KiB)}\r\n\r\n`);
    await Promise.race([s.gone, sleep(5000)]);
    assert.ok(s.closedAt, "the connection is closed");
    assert.ok(s.received === "" || /^HTTP\/1\.1 431/.test(s.received), `got ${JSON.stringify(s.received.slice(0, 40))}`);
    // A head under the bound is fine.
    const ok = await request(srv, "GET", "/healthz", { headers: { "x-padding": "a".repeat(4 * KiB) }, localAddress: "127.0.0.3" });
    assert.equal(ok.status, 200);
  });

  it("a login body sent too slowly is cut off with 408", { timeout: 15000 }, async () => {
    const quick = await startServer({ env: { PARLOR_HTTP_REQUEST_TIMEOUT_MS: "1000" } });
    try {
      const s = await rawSocket(quick, "127.0.0.5");
      s.write("POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user");
      const t0 = Date.now();
      while (!s.received && Date.now() - t0 < 5000) await sleep(50);
      assert.match(s.received, /^HTTP\/1\.1 408/);
      assert.ok(Date.now() - t0 < 3000);
      s.destroy();
    } finally {
      await quick.dispose();
    }
  });

  it("an oversized login body is refused with 413, with or without a content-length", async () => {
    const body = JSON.stringify({ username: "x".repeat(20 * KiB), password: "y" });
    const sized = await request(srv, "POST", "/api/login", { headers: { "content-type": "application/json" }, body });
    assert.equal(sized.status, 413);
    const chunked = await request(srv, "POST", "/api/login", { headers: { "content-type": "application/json" }, body, chunked: true });
    assert.equal(chunked.status, 413);
    assert.equal(chunked.body.error, "too_large");
  });
});

describe("out of file descriptors", () => {
  it("the accept loop backs off instead of spinning, and recovers", { timeout: 30000 }, async (t) => {
    const srv = await startServer();
    const pid = srv.proc.pid;
    const sockets = [];
    try {
      const fds = readdirSync(`/proc/${pid}/fd`).length;
      // Only the soft limit: raising a hard limit again needs privileges.
      execFileSync("prlimit", [`--pid=${pid}`, `--nofile=${fds + 8}:`]);
      for (let i = 0; i < 40; i++) sockets.push(await rawSocket(srv, "127.0.0.7"));
      await sleep(300);
      const before = cpuTicks(pid);
      await sleep(2000);
      const used = cpuTicks(pid) - before;
      t.diagnostic(`CPU while out of descriptors: ${used} ticks in 2 s`);
      assert.match(srv.output, /accept failed/, "accept did run out of descriptors");
      assert.ok(used < 40, `the server used ${used} ticks of CPU in 2 s while accept failed`);
    } finally {
      for (const s of sockets) s.destroy();
      execFileSync("prlimit", [`--pid=${pid}`, `--nofile=${hardNofile(pid)}:`]);
    }
    const deadline = Date.now() + 5000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = await request(srv, "GET", "/healthz", { localAddress: "127.0.0.8", timeoutMs: 1000 }).then((r) => r.status, () => 0);
    }
    assert.equal(status, 200);
    await srv.dispose();
  });
});

describe("login backoff and the password pool", () => {
  let srv;
  // Two password checks at once, whatever the machine: one argon2 buffer is about 19 MiB, so
  // the pool's memory is about 2 of them, and 3 is the bound the tests allow.
  const ARGON2_MIB = 19.5;
  const BOUND_MIB = 3 * ARGON2_MIB;
  before(async () => {
    srv = await startServer({ env: { PARLOR_RATE_LOGIN: "5", PARLOR_LOGIN_WAIT_MS: "30000", PARLOR_LOGIN_CONCURRENCY: "2" } });
  });
  after(async () => { await srv?.dispose(); });

  it("50 wrong passwords from one address lock that address out, not the agent from another", async () => {
    const site = await srv.createSite();
    const username = unique("mira");
    const password = "the right password";
    await srv.createAgent(site.siteKey, { username, password, login: false });
    const statuses = [];
    for (let i = 0; i < 50; i++) statuses.push((await login(srv, username, `wrong ${i}`, "127.0.0.1")).status);
    assert.deepEqual(statuses.slice(0, 5), [401, 401, 401, 401, 401]);
    assert.ok(statuses.slice(5).every((s) => s === 429), `after the budget: ${statuses.slice(5)}`);

    const elsewhere = await login(srv, username, password, "127.0.0.2");
    assert.equal(elsewhere.status, 200, elsewhere.text);
    assert.equal(typeof elsewhere.body.token, "string");
    const attacker = await login(srv, username, password, "127.0.0.1");
    assert.equal(attacker.status, 429);
    assert.equal(attacker.body.error, "rate_limited");
  });

  it("successful logins are not charged", async () => {
    const site = await srv.createSite();
    const username = unique("daily");
    const password = "pw of a busy agent";
    await srv.createAgent(site.siteKey, { username, password, login: false });
    for (let i = 0; i < 8; i++) assert.equal((await login(srv, username, password, "127.0.0.4")).status, 200);
  });

  it("100 concurrent logins hold only a few argon2 buffers", { timeout: 60000 }, async (t) => {
    const site = await srv.createSite();
    const username = unique("crowd");
    const password = "pw of the crowd";
    await srv.createAgent(site.siteKey, { username, password, login: false });
    const pid = srv.proc.pid;
    await sleep(1500); // jemalloc returns pages about a second after they are freed
    const before = vmRssKiB(pid);
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, vmRssKiB(pid)); }, 10);
    const t0 = Date.now();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => login(srv, username, password, `127.0.1.${i + 1}`)),
    );
    const ms = Date.now() - t0;
    clearInterval(sampler);
    peak = Math.max(peak, vmRssKiB(pid));
    const grewMiB = (peak - before) / 1024;
    t.diagnostic(`100 logins in ${ms} ms; VmRSS ${(before / 1024).toFixed(1)} MiB before, ${(peak / 1024).toFixed(1)} MiB peak (+${grewMiB.toFixed(1)} MiB)`);
    assert.deepEqual([...new Set(results.map((r) => r.status))], [200]);
    assert.ok(grewMiB < BOUND_MIB, `RSS grew by ${grewMiB.toFixed(1)} MiB`);
  });

  it("logins whose clients hang up at once still wait for a password check slot", { timeout: 60000 }, async (t) => {
    const site = await srv.createSite();
    const username = unique("quitter");
    const password = "pw of a quitter";
    await srv.createAgent(site.siteKey, { username, password, login: false });
    const { host, port } = hostPort(srv);
    const pid = srv.proc.pid;
    await sleep(1500);
    const before = vmRssKiB(pid);
    let peak = before;
    const sampler = setInterval(() => { peak = Math.max(peak, vmRssKiB(pid)); }, 10);
    const body = JSON.stringify({ username, password });
    for (let i = 0; i < 100; i++) {
      const req = http.request({
        host, port, method: "POST", path: "/api/login", agent: false, localAddress: `127.0.3.${i + 1}`,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      });
      req.on("error", () => {});
      req.end(body);
      setTimeout(() => req.destroy(), 50);
    }
    // Long enough for every check to run, one slot after another.
    await sleep(4000);
    clearInterval(sampler);
    const grewMiB = (peak - before) / 1024;
    t.diagnostic(`100 abandoned logins: VmRSS ${(before / 1024).toFixed(1)} MiB before, ${(peak / 1024).toFixed(1)} MiB peak (+${grewMiB.toFixed(1)} MiB)`);
    assert.ok(grewMiB < BOUND_MIB, `RSS grew by ${grewMiB.toFixed(1)} MiB`);
  });

  it("a login that waits too long for the password pool answers 503 unavailable", async () => {
    const busy = await startServer({ env: { PARLOR_LOGIN_CONCURRENCY: "1", PARLOR_LOGIN_WAIT_MS: "1" } });
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => login(busy, unique("nobody"), "pw", `127.0.2.${i + 1}`)),
      );
      const refused = results.filter((r) => r.status === 503);
      assert.ok(refused.length > 0, `statuses: ${results.map((r) => r.status)}`);
      assert.ok(results.every((r) => r.status === 503 || r.status === 401));
      assert.equal(refused[0].body.error, "unavailable");
      assert.equal(typeof refused[0].body.message, "string");
      assert.ok(Number(refused[0].headers["retry-after"]) > 0);
    } finally {
      await busy.dispose();
    }
  });
});

describe("response headers and CORS", () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await srv?.dispose(); });

  it("/api/login answers no Access-Control-Allow-Origin to a foreign origin", async () => {
    const origin = "https://evil.example";
    const post = await request(srv, "POST", "/api/login", {
      headers: { origin, "content-type": "application/json" },
      body: JSON.stringify({ username: "x", password: "y" }),
    });
    assert.equal(post.headers["access-control-allow-origin"], undefined);
    const preflight = await request(srv, "OPTIONS", "/api/login", {
      headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.equal(preflight.headers["access-control-allow-origin"], undefined);
    // The widget's own requests still may cross origins.
    const poll = await request(srv, "GET", "/socket.io/?EIO=4&transport=polling", { headers: { origin } });
    assert.equal(poll.status, 200);
    assert.ok(["*", origin].includes(poll.headers["access-control-allow-origin"]));
    const widget = await request(srv, "GET", "/widget.js", { headers: { origin } });
    assert.ok(["*", origin].includes(widget.headers["access-control-allow-origin"]));
  });

  it("every response carries X-Content-Type-Options: nosniff", async () => {
    const answers = await Promise.all([
      request(srv, "GET", "/healthz"),
      request(srv, "POST", "/api/login", { headers: { "content-type": "application/json" }, body: "{}" }),
      request(srv, "GET", "/socket.io/?EIO=4&transport=polling"),
      request(srv, "GET", "/socket.io/?EIO=4&transport=polling&sid=nope"),
      request(srv, "GET", "/widget.js"),
      request(srv, "GET", "/admin"),
      request(srv, "GET", "/no/such/page"),
    ]);
    for (const a of answers) assert.equal(a.headers["x-content-type-options"], "nosniff", `status ${a.status}`);
  });

  it("/admin may be framed only by this server and sends no referrer", async () => {
    const res = await request(srv, "GET", "/admin");
    assert.equal(res.status, 200);
    assert.match(res.headers["content-security-policy"], /frame-ancestors 'self'/);
    assert.equal(res.headers["x-frame-options"], "SAMEORIGIN");
    assert.equal(res.headers["referrer-policy"], "no-referrer");
  });
});

describe("client addresses, the handshake rate and the connection cap", () => {
  let srv;
  const open = (from, headers = {}) =>
    request(srv, "GET", "/socket.io/?EIO=4&transport=polling", { localAddress: from, headers });
  before(async () => {
    srv = await startServer({
      env: {
        PARLOR_TRUSTED_PROXIES: "127.0.0.2/32",
        PARLOR_RATE_HANDSHAKES: "3",
        PARLOR_MAX_CONNECTIONS_PER_ADDRESS: "5",
      },
    });
  });
  after(async () => { await srv?.dispose(); });

  it("new Engine.IO sessions beyond the rate from one address get 429; other addresses and existing sessions do not", async () => {
    const first = await open("127.0.0.3");
    assert.equal(first.status, 200);
    await open("127.0.0.3");
    await open("127.0.0.3");
    const over = await open("127.0.0.3");
    assert.equal(over.status, 429);
    assert.equal(over.body.error, "rate_limited");
    assert.ok(Number(over.headers["retry-after"]) > 0);
    // An untrusted peer cannot dodge it with X-Forwarded-For.
    assert.equal((await open("127.0.0.3", { "x-forwarded-for": "203.0.113.50" })).status, 429);
    // A session already open goes on polling.
    const sid = JSON.parse(first.text.slice(1)).sid;
    const poll = await request(srv, "POST", `/socket.io/?EIO=4&transport=polling&sid=${sid}`, { localAddress: "127.0.0.3", body: "1" });
    assert.notEqual(poll.status, 429);
    assert.equal((await open("127.0.0.4")).status, 200);
  });

  it("behind a trusted proxy the rightmost untrusted X-Forwarded-For address is the client", async () => {
    const via = (xff) => open("127.0.0.2", { "x-forwarded-for": xff });
    for (let i = 0; i < 3; i++) assert.equal((await via("198.51.100.7")).status, 200);
    assert.equal((await via("198.51.100.7")).status, 429);
    // What a client writes on the left does not change who it is.
    assert.equal((await via("10.9.9.9, 198.51.100.7")).status, 429);
    assert.equal((await via("198.51.100.8")).status, 200);
    // The proxy itself is unlimited only as far as its clients are.
    assert.equal((await via("198.51.100.8, 127.0.0.2")).status, 200);
  });

  it("IPv6 clients are keyed by their /64", async () => {
    const via = (xff) => open("127.0.0.2", { "x-forwarded-for": xff });
    for (let i = 1; i <= 3; i++) assert.equal((await via(`2001:db8:5:6::${i}`)).status, 200);
    assert.equal((await via("2001:db8:5:6:ffff::1")).status, 429);
    assert.equal((await via("2001:db8:5:7::1")).status, 200);
  });

  it("connections beyond the per-address cap are closed at once; trusted proxies are exempt", async () => {
    const held = [];
    for (let i = 0; i < 5; i++) held.push(await rawSocket(srv, "127.0.0.6"));
    const extra = await rawSocket(srv, "127.0.0.6");
    await Promise.race([extra.gone, sleep(2000)]);
    assert.ok(extra.closedAt, "the sixth connection is closed");
    assert.equal(extra.received, "");
    // The five are still served.
    held[4].write("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    await sleep(300);
    assert.match(held[4].received, /^HTTP\/1\.1 200/);
    assert.equal(held[0].closedAt, null);
    // Closing one frees a place.
    held[0].destroy();
    await sleep(200);
    assert.equal((await request(srv, "GET", "/healthz", { localAddress: "127.0.0.6" })).status, 200);

    const proxied = [];
    for (let i = 0; i < 8; i++) proxied.push(await rawSocket(srv, "127.0.0.2"));
    await sleep(300);
    assert.ok(proxied.every((s) => s.closedAt === null), "a trusted proxy may hold more");
    for (const s of [...held, ...proxied]) s.destroy();
  });
});

describe("files and the first run", () => {
  it("the SQLite database and its -wal and -shm are readable by the owner only", async (t) => {
    if (BACKEND !== "sqlite") return t.skip("SQLite only");
    const srv = await startServer();
    try {
      await srv.createSite(); // a write, so the -wal exists
      for (const suffix of ["", "-wal", "-shm"]) {
        const path = srv.dbPath + suffix;
        if (!existsSync(path)) continue;
        assert.equal((statSync(path).mode & 0o777).toString(8), "600", path);
      }
    } finally {
      await srv.dispose();
    }
  });

  it("the demo site is created only when asked for or on a terminal", async () => {
    const quiet = await startServer({ env: { PARLOR_DEMO: undefined } });
    try {
      assert.doesNotMatch(quiet.output, /First run/);
      assert.equal((await quiet.login("admin", "anything")).status, 401);
    } finally {
      await quiet.dispose();
    }
    const asked = await startServer({ env: { PARLOR_DEMO: "true" } });
    try {
      const deadline = Date.now() + 3000;
      while (!/First run/.test(asked.output) && Date.now() < deadline) await sleep(50);
      assert.match(asked.output, /First run/);
    } finally {
      await asked.dispose();
    }
  });
});
