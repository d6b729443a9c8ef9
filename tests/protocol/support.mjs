// Plumbing for the black-box protocol tests: spawn the real `parlor` binary on a
// fresh database, drive its CLI, and talk to it with the official
// socket.io-client. Tests read like the protocol; this file hides the rest.
//
// The database is a fresh SQLite file, or with PARLOR_TEST_BACKEND=postgres a
// fresh PostgreSQL database (CREATE DATABASE parlor_test_..., dropped again on
// dispose) on the server named by PARLOR_TEST_PG_URL.
//
// Every socket created through these helpers records all the events it receives
// (from before the connection completes), so `nextEvent` never misses an event
// that arrived before the test started waiting for it.

import { spawn, execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import net from "node:net";
import assert from "node:assert/strict";
import { io } from "socket.io-client";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, "..", "..");
export const PARLOR_BIN = process.env.PARLOR_BIN || join(REPO, "target", "release", "parlor");

export const DEFAULT_TIMEOUT = 5000;

/** "sqlite" (default) or "postgres": the storage every startServer() gets. */
export const BACKEND = process.env.PARLOR_TEST_BACKEND || "sqlite";
if (!["sqlite", "postgres"].includes(BACKEND)) {
  throw new Error(`PARLOR_TEST_BACKEND must be "sqlite" or "postgres", got ${JSON.stringify(BACKEND)}`);
}
/** A PostgreSQL URL whose user may CREATE and DROP databases. */
export const PG_URL = process.env.PARLOR_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/postgres";

// ---------------------------------------------------------------------------
// PostgreSQL databases, one per server

/** Run SQL through psql against the server of PG_URL (its own database unless `url` says). */
export function psql(sql, url = PG_URL) {
  return execFileSync("psql", [url, "-X", "-v", "ON_ERROR_STOP=1", "-qAtc", sql], {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30000,
  }).toString();
}

/** PG_URL with its database name replaced. */
export function pgDatabaseUrl(name) {
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

const liveDatabases = new Set();

/** CREATE DATABASE parlor_test_<random>; resolves with { name, url, drop() }. */
export function createPgDatabase(prefix = "parlor_test") {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString("hex")}`;
  psql(`CREATE DATABASE ${name}`);
  liveDatabases.add(name);
  return {
    name,
    url: pgDatabaseUrl(name),
    drop() {
      if (!liveDatabases.delete(name)) return;
      if (process.env.PARLOR_KEEP_DB) return;
      // FORCE: a kill -9'ed server may leave sessions behind for a moment.
      psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

// A test file that fails before its after() hook still drops its databases.
process.on("exit", () => {
  if (process.env.PARLOR_KEEP_DB) return;
  for (const name of liveDatabases) {
    try {
      psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } catch {}
  }
});

/** RFC 3339 UTC with exactly three fractional digits, as PROTOCOL.md requires. */
export const CREATED_AT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
export const ERROR_CODES = ["invalid", "not_found", "unauthorized", "forbidden", "rate_limited", "too_large", "unsupported_type", "internal"];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const REDIS_URL = process.env.PARLOR_TEST_REDIS_URL || "redis://127.0.0.1:6379";

/**
 * A cluster of `n` nodes on a fresh PostgreSQL database and a fresh Redis prefix, sharing one
 * JWT secret. `env` is added to every node's; `redisUrls[i]`, when given, is node i's Redis.
 * With `settle`, it resolves once every node has heard every other's heartbeat. Each node has
 * a files folder of its own (startServer's).
 */
export async function startCluster(n, { env = {}, heartbeatMs = 300, settle = true, redisUrls = [], prefix = "parlor_cluster" } = {}) {
  const db = createPgDatabase(prefix);
  const shared = {
    PARLOR_DATABASE_URL: db.url,
    PARLOR_REDIS_URL: REDIS_URL,
    PARLOR_REDIS_PREFIX: `test-${db.name}`,
    PARLOR_CLUSTER_HEARTBEAT_MS: String(heartbeatMs),
    PARLOR_JWT_SECRET: randomBytes(32).toString("hex"),
    ...env,
  };
  const nodes = [];
  for (let i = 0; i < n; i++) {
    nodes.push(await startServer({ env: { ...shared, PARLOR_REDIS_URL: redisUrls[i] ?? shared.PARLOR_REDIS_URL } }));
  }
  if (settle) await sleep(3 * heartbeatMs);
  return {
    nodes,
    async dispose() {
      await Promise.all(nodes.map((node) => node.dispose().catch(() => {})));
      db.drop();
    },
  };
}

let counter = 0;
/** A name that is unique across the run (usernames are global). */
export function unique(prefix = "u") {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}_${randomBytes(3).toString("hex")}`;
}

const HIGH = "100000";

/**
 * Start `parlor serve` on 127.0.0.1:0 with a fresh temp database (see BACKEND).
 * opts.env overrides environment variables (e.g. PARLOR_RATE_MESSAGES: "3"); a
 * PARLOR_DATABASE_URL given there is used as is and never dropped, which is how
 * several servers share one database.
 */
export async function startServer(opts = {}) {
  if (!existsSync(PARLOR_BIN)) {
    throw new Error(`parlor binary not found at ${PARLOR_BIN}; run \`cargo build --release\` or set PARLOR_BIN`);
  }
  const dir = mkdtempSync(join(tmpdir(), "parlor-proto-"));
  const sqlitePath = join(dir, "test.db");
  const pgDatabase = BACKEND === "postgres" && !opts.env?.PARLOR_DATABASE_URL ? createPgDatabase() : null;
  const env = {
    ...process.env,
    PARLOR_LISTEN: "127.0.0.1:0",
    PARLOR_DATABASE_URL: pgDatabase ? pgDatabase.url : `sqlite://${sqlitePath}`,
    PARLOR_DEMO: "false",
    PARLOR_PRESENCE_GRACE_MS: "300",
    PARLOR_RATE_NEW_VISITORS: HIGH,
    PARLOR_RATE_MESSAGES: HIGH,
    PARLOR_RATE_PROFILE: HIGH,
    PARLOR_RATE_LOGIN: HIGH,
    PARLOR_RATE_LOGIN_PER_ADDRESS: HIGH,
    PARLOR_RATE_SYNC: HIGH,
    PARLOR_RATE_READ: HIGH,
    PARLOR_RATE_RECONNECTS: HIGH,
    PARLOR_RATE_UPLOADS: HIGH,
    // Uploaded files in the test's own folder, on either backend.
    PARLOR_FILES_DIR: join(dir, "files"),
    // Every client of a test shares 127.0.0.1; security-http.test.mjs sets these per test.
    PARLOR_RATE_HANDSHAKES: HIGH,
    PARLOR_MAX_CONNECTIONS_PER_ADDRESS: HIGH,
    RUST_LOG: process.env.RUST_LOG || "warn",
    ...(opts.env || {}),
  };
  // A single node unless the test asks for a cluster.
  if (!opts.env?.PARLOR_REDIS_URL) delete env.PARLOR_REDIS_URL;

  const sockets = new Set();
  const server = {
    url: null,
    /** "sqlite" or "postgres". */
    backend: env.PARLOR_DATABASE_URL.startsWith("postgres") ? "postgres" : "sqlite",
    databaseUrl: env.PARLOR_DATABASE_URL,
    /**
     * A file holding what the database stores: the SQLite file itself, or on
     * PostgreSQL a fresh `pg_dump` of the database made on every read, so a test
     * that looks at the bytes at rest works on both backends.
     */
    get dbPath() {
      if (server.backend === "sqlite") return sqlitePath;
      const dump = join(dir, "dump.sql");
      writeFileSync(dump, execFileSync("pg_dump", ["--data-only", server.databaseUrl], { timeout: 30000 }));
      return dump;
    },
    dir,
    env,
    proc: null,
    /** Everything the server wrote, standard output and error interleaved. */
    output: "",
    /** Standard output alone, and standard error alone. */
    stdout: "",
    stderr: "",
    /** The metrics listener's base URL, when PARLOR_METRICS_LISTEN is set. */
    metricsUrl: null,
    sockets,

    /** `parlor site create`; returns { id, siteKey }. */
    async createSite(name = unique("site"), { allowedOrigins = [] } = {}) {
      const args = ["site", "create", "--name", name];
      for (const o of allowedOrigins) args.push("--allowed-origin", o);
      return JSON.parse(await cli(env, args));
    },

    /**
     * `parlor agent create` (with `role`: `--role`, `email`: `--email`), then log in. Returns
     * { id, username, name, password, siteKey, token, agent } where agent is the
     * login answer's `agent` object. With { login: false } only the CLI runs.
     */
    async createAgent(siteKey, { username = unique("agent"), name = `Agent ${unique("n")}`, password = "correct horse battery staple", login = true, role, email } = {}) {
      const args = ["agent", "create", "--site", siteKey, "--username", username, "--name", name];
      if (role) args.push("--role", role);
      if (email) args.push("--email", email);
      const created = JSON.parse(await cli({ ...env, PARLOR_PASSWORD: password }, args));
      if (!login) return { id: created.id, username, name, password, siteKey };
      const res = await server.login(username, password);
      assert.equal(res.status, 200, `login of a fresh agent failed: ${JSON.stringify(res.body)}`);
      return { id: created.id, username, name, password, siteKey, token: res.body.token, agent: res.body.agent };
    },

    /**
     * Run any `parlor` subcommand on this server's database; never throws on a
     * non-zero exit. Resolves with { code, stdout, stderr, json } (json: the
     * parsed stdout, or undefined). opts.env adds variables; opts.input is
     * written to standard input (which is then a pipe, never a terminal).
     */
    async cli(args, { env: extra = {}, input = "" } = {}) {
      return cliRun({ ...env, ...extra }, args, input);
    },

    /**
     * Run SQL on this server's database (sqlite3 or psql); resolves with the
     * output, one row per line, columns separated by "|".
     */
    sql(statement) {
      if (server.backend === "sqlite") {
        return execFileSync("sqlite3", [sqlitePath, statement], { timeout: 30000 }).toString().trim();
      }
      return psql(statement, server.databaseUrl).trim();
    },

    /** `parlor agent password`. */
    async setPassword(username, password) {
      return cli({ ...env, PARLOR_PASSWORD: password }, ["agent", "password", "--username", username]);
    },

    /** POST /api/login; returns { status, body, headers }. */
    async login(username, password) {
      return server.http("POST", "/api/login", { json: { username, password } });
    },

    /** Raw HTTP helper: opts.json (object) or opts.body (string) and opts.headers. */
    async http(method, path, { json, body, headers = {} } = {}) {
      const init = { method, headers: { ...headers } };
      if (json !== undefined) {
        init.body = JSON.stringify(json);
        init.headers["content-type"] ??= "application/json";
      } else if (body !== undefined) {
        init.body = body;
      }
      const res = await fetch(server.url + path, init);
      const text = await res.text();
      let parsed = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: res.status, body: parsed, text, headers: res.headers };
    },

    /** GET /metrics on the metrics listener; resolves with the exposition text (asserted 200). */
    async metrics() {
      assert.ok(server.metricsUrl, "the server has no metrics listener (PARLOR_METRICS_LISTEN)");
      const res = await fetch(`${server.metricsUrl}/metrics`);
      const text = await res.text();
      assert.equal(res.status, 200, `GET /metrics: ${res.status} ${text}`);
      return text;
    },

    /** A raw, not yet connected socket on a namespace, recording its events. */
    socket(nsp, { auth, transports = ["websocket"], extraHeaders, ...rest } = {}) {
      const o = {
        auth,
        transports,
        forceNew: true,
        reconnection: false,
        autoConnect: false,
        timeout: DEFAULT_TIMEOUT,
        ...rest,
      };
      if (extraHeaders) {
        o.extraHeaders = extraHeaders;
        o.transportOptions = { polling: { extraHeaders }, websocket: { extraHeaders } };
      }
      const s = io(server.url + nsp, o);
      record(s);
      sockets.add(s);
      return s;
    },

    /**
     * Connect a visitor; resolves with { socket, session } once `session` arrived.
     * opts: token, transports, extraHeaders.
     */
    async visitor(siteKey, { token, transports, extraHeaders } = {}) {
      const auth = { siteKey };
      if (token !== undefined) auth.token = token;
      const socket = server.socket("/visitor", { auth, transports, extraHeaders });
      await connect(socket);
      const session = await nextEvent(socket, "session");
      return { socket, session, token: session.token };
    },

    /** Connect an agent with a JWT; resolves with { socket, conversations, hasMore }. */
    async agent(token, { transports } = {}) {
      const socket = server.socket("/agent", { auth: { token }, transports });
      await connect(socket);
      const first = await nextEvent(socket, "conversations");
      return { socket, conversations: first.conversations, hasMore: first.hasMore, initial: first };
    },

    /** Create a site with one agent, connected. */
    async siteWithAgent(opts = {}) {
      const site = await server.createSite(undefined, opts);
      const agentAccount = await server.createAgent(site.siteKey);
      const agent = await server.agent(agentAccount.token);
      return { site, agentAccount, agent: agent.socket, initial: agent };
    },

    /** Disconnect every socket created so far. */
    closeClients() {
      for (const s of sockets) s.disconnect();
      sockets.clear();
    },

    async stop() {
      server.closeClients();
      await stopProc("SIGTERM");
    },

    async kill9() {
      await stopProc("SIGKILL");
    },

    /** Start the binary again on the same database (the port changes). */
    async restart() {
      if (server.proc) await stopProc("SIGTERM");
      await launch();
    },

    /** stop(), remove the temp dir and drop the PostgreSQL database this server created. */
    async dispose() {
      await server.stop();
      if (!process.env.PARLOR_KEEP_DB) rmSync(dir, { recursive: true, force: true });
      pgDatabase?.drop();
    },
  };

  async function launch() {
    const proc = spawn(PARLOR_BIN, ["serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
    server.proc = proc;
    server.exited = new Promise((r) => proc.once("exit", (code, sig) => r({ code, sig })));
    // The metrics address is printed on the line after the public one.
    const metrics = Boolean(env.PARLOR_METRICS_LISTEN);
    server.url = await new Promise((resolveUrl, reject) => {
      let buf = "";
      const onData = (chunk) => {
        buf += chunk.toString();
        server.output += chunk.toString();
        server.stdout += chunk.toString();
        const m = /listening on (http:\/\/\S+)/.exec(buf);
        const mm = /metrics on (http:\/\/\S+)\/metrics/.exec(buf);
        if (m && (mm || !metrics)) {
          clearTimeout(t);
          server.metricsUrl = mm ? mm[1] : null;
          resolveUrl(m[1].replace(/\/$/, ""));
        }
      };
      const t = setTimeout(() => reject(new Error(`parlor did not print "listening on" within 20s:\n${server.output}`)), 20000);
      proc.stdout.on("data", onData);
      proc.stderr.on("data", (c) => {
        server.output += c.toString();
        server.stderr += c.toString();
        if (process.env.PARLOR_TEST_LOG) process.stderr.write(c);
      });
      proc.once("exit", (code, sig) => {
        clearTimeout(t);
        reject(new Error(`parlor exited (${code ?? sig}) before listening:\n${server.output}`));
      });
    });
  }

  async function stopProc(signal) {
    const proc = server.proc;
    if (!proc) return;
    server.proc = null;
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill(signal);
      const killer = setTimeout(() => proc.kill("SIGKILL"), 5000);
      await server.exited;
      clearTimeout(killer);
    }
  }

  await launch();
  return server;
}

/** Run the parlor CLI; resolves with stdout. */
export function cli(env, args) {
  return new Promise((resolveOut, reject) => {
    execFile(PARLOR_BIN, args, { env, timeout: 20000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`parlor ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolveOut(stdout.trim().split("\n").pop());
    });
  });
}

/** Run the parlor CLI without throwing; resolves with { code, stdout, stderr, json }. */
export function cliRun(env, args, input = "") {
  return new Promise((resolveOut) => {
    const child = execFile(PARLOR_BIN, args, { env, timeout: 20000 }, (err, stdout, stderr) => {
      let json;
      try {
        json = JSON.parse(stdout.trim().split("\n").pop());
      } catch {}
      resolveOut({ code: err ? (err.code ?? 1) : 0, stdout, stderr, json });
    });
    // A command that exits before reading its input (a refusal) closes the pipe: not an error.
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

// ---------------------------------------------------------------------------
// Redis

/**
 * A Redis of the test's own on a free port, so that killing it disturbs no other test file
 * (the suite runs two at a time against the machine's Redis).
 */
export async function ownRedis() {
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  let proc = null;
  const redis = {
    url: `redis://127.0.0.1:${port}`,
    up() {
      try {
        return execFileSync("redis-cli", ["-p", String(port), "ping"], { stdio: "pipe" }).toString().trim() === "PONG";
      } catch {
        return false;
      }
    },
    async start() {
      proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
        stdio: "ignore",
      });
      await waitFor(() => redis.up(), 5000, "redis to start");
    },
    /** SIGKILL: Redis goes away as in a crash. */
    async kill() {
      proc?.kill("SIGKILL");
      proc = null;
      await waitFor(() => !redis.up(), 5000, "redis to stop");
    },
  };
  await redis.start();
  return redis;
}

// ---------------------------------------------------------------------------
// Sockets

function record(socket) {
  socket.__log = []; // { name, args, consumed }
  socket.__waiters = new Set();
  socket.onAny((name, ...args) => {
    const entry = { name, args, consumed: false };
    socket.__log.push(entry);
    for (const w of socket.__waiters) w(entry);
  });
}

/** Connect a socket created with autoConnect: false; rejects on connect_error. */
export function connect(socket, timeoutMs = DEFAULT_TIMEOUT) {
  return new Promise((res, rej) => {
    const t = setTimeout(() => {
      cleanup();
      rej(new Error("connect timed out"));
    }, timeoutMs);
    const ok = () => {
      cleanup();
      res(socket);
    };
    const bad = (err) => {
      cleanup();
      const e = new Error(`connect_error: ${err && err.message}`);
      e.connectError = err;
      rej(e);
    };
    function cleanup() {
      clearTimeout(t);
      socket.off("connect", ok);
      socket.off("connect_error", bad);
    }
    socket.on("connect", ok);
    socket.on("connect_error", bad);
    socket.connect();
  });
}

/**
 * Expect the handshake to be refused. Resolves with the connect_error Error
 * (its `.message` is what the server sent). Fails if the socket connects or if
 * the server emits `session`/`conversations`.
 */
export function expectConnectError(socket, timeoutMs = DEFAULT_TIMEOUT) {
  return new Promise((res, rej) => {
    const t = setTimeout(() => {
      cleanup();
      rej(new Error("neither connect nor connect_error within timeout"));
    }, timeoutMs);
    const ok = () => {
      cleanup();
      socket.disconnect();
      rej(new assert.AssertionError({ message: "the handshake was accepted but should have been refused" }));
    };
    const bad = (err) => {
      cleanup();
      socket.disconnect();
      res(err);
    };
    function cleanup() {
      clearTimeout(t);
      socket.off("connect", ok);
      socket.off("connect_error", bad);
    }
    socket.on("connect", ok);
    socket.on("connect_error", bad);
    socket.connect();
  });
}

/** emitWithAck with a timeout. `args` are the event's arguments (default: [payload]). */
/** Connect `socket` and send `event` in the same moment the connection opens; its ack. */
export function callAtConnect(socket, event, payload, timeoutMs = DEFAULT_TIMEOUT) {
  const acked = new Promise((resolve) => {
    socket.once("connect", () => {
      socket.timeout(timeoutMs).emit(event, payload, (err, ack) => resolve(err ? { unanswered: String(err) } : ack));
    });
  });
  socket.connect();
  return acked;
}

export async function call(socket, event, payload, timeoutMs = DEFAULT_TIMEOUT) {
  return socket.timeout(timeoutMs).emitWithAck(event, payload);
}

/** emitWithAck with arbitrary arguments (e.g. none at all). */
export async function callRaw(socket, event, args, timeoutMs = DEFAULT_TIMEOUT) {
  return socket.timeout(timeoutMs).emitWithAck(event, ...args);
}

/**
 * Emit with ack, but also resolve if the socket is disconnected first.
 * Resolves with { ack } or { disconnected: reason }.
 */
export function callOrDisconnect(socket, event, payload, timeoutMs = 15000) {
  return new Promise((res, rej) => {
    if (!socket.connected) return res({ disconnected: "not connected" });
    const t = setTimeout(() => {
      cleanup();
      rej(new Error(`neither an ack nor a disconnect within ${timeoutMs} ms for ${event}`));
    }, timeoutMs);
    const onDisc = (reason) => {
      cleanup();
      res({ disconnected: reason });
    };
    function cleanup() {
      clearTimeout(t);
      socket.off("disconnect", onDisc);
    }
    socket.on("disconnect", onDisc);
    socket.emit(event, payload, (ack) => {
      cleanup();
      res({ ack });
    });
  });
}

/**
 * Resolve with the payload (first argument) of the next not yet consumed `name`
 * event matching `predicate`, including events that arrived before the call.
 */
export function nextEvent(socket, name, predicate = () => true, timeoutMs = DEFAULT_TIMEOUT) {
  if (typeof predicate === "number") {
    timeoutMs = predicate;
    predicate = () => true;
  }
  const matches = (e) => !e.consumed && e.name === name && predicate(e.args[0], ...e.args.slice(1));
  const found = socket.__log.find(matches);
  if (found) {
    found.consumed = true;
    return Promise.resolve(found.args[0]);
  }
  return new Promise((res, rej) => {
    const waiter = (e) => {
      if (matches(e)) {
        e.consumed = true;
        socket.__waiters.delete(waiter);
        clearTimeout(t);
        res(e.args[0]);
      }
    };
    const t = setTimeout(() => {
      socket.__waiters.delete(waiter);
      const seen = socket.__log.filter((e) => e.name === name).map((e) => JSON.stringify(e.args[0]));
      rej(new assert.AssertionError({ message: `no matching "${name}" event within ${timeoutMs} ms; "${name}" events seen: [${seen.join(", ")}]` }));
    }, timeoutMs);
    socket.__waiters.add(waiter);
  });
}

/**
 * Fail if a not yet consumed `name` event matching `predicate` is already
 * buffered or arrives within `ms`.
 */
export async function expectNoEvent(socket, name, ms = 800, predicate = () => true) {
  await sleep(ms);
  const got = socket.__log.filter((e) => !e.consumed && e.name === name && predicate(e.args[0]));
  assert.deepEqual(
    got.map((e) => e.args[0]),
    [],
    `expected no "${name}" event, got ${JSON.stringify(got.map((e) => e.args[0]))}`,
  );
}

/** All events named `name` received so far (consumed or not), payloads only. */
export function received(socket, name) {
  return socket.__log.filter((e) => e.name === name).map((e) => e.args[0]);
}

/** Mark every buffered event as consumed. */
export function drain(socket) {
  for (const e of socket.__log) e.consumed = true;
}

/** Resolve when the socket disconnects (or immediately if it is not connected). */
export function disconnected(socket, timeoutMs = DEFAULT_TIMEOUT) {
  if (!socket.connected) return Promise.resolve("already");
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error("socket did not disconnect")), timeoutMs);
    socket.once("disconnect", (reason) => {
      clearTimeout(t);
      res(reason);
    });
  });
}

// ---------------------------------------------------------------------------
// Shape assertions (PROTOCOL.md)

export function assertOk(ack, what = "ack") {
  assert.equal(typeof ack, "object", `${what}: ack is not an object: ${JSON.stringify(ack)}`);
  assert.notEqual(ack, null, `${what}: ack is null`);
  assert.equal(ack.ok, true, `${what}: expected ok:true, got ${JSON.stringify(ack)}`);
  return ack;
}

/** Exactly `{ ok: false, error: { code, message } }` with the given code. */
export function assertError(ack, code, what = "ack") {
  assert.equal(typeof ack, "object", `${what}: ack is not an object: ${JSON.stringify(ack)}`);
  assert.notEqual(ack, null, `${what}: ack is null`);
  assert.deepEqual(Object.keys(ack).sort(), ["error", "ok"], `${what}: error ack must be exactly {ok,error}, got ${JSON.stringify(ack)}`);
  assert.equal(ack.ok, false, `${what}: expected ok:false, got ${JSON.stringify(ack)}`);
  assert.deepEqual(Object.keys(ack.error).sort(), ["code", "message"], `${what}: error must be {code,message}, got ${JSON.stringify(ack.error)}`);
  assert.ok(ERROR_CODES.includes(ack.error.code), `${what}: unknown error code ${ack.error.code}`);
  assert.equal(typeof ack.error.message, "string", `${what}: error.message must be a string`);
  if (Array.isArray(code)) assert.ok(code.includes(ack.error.code), `${what}: expected one of ${code}, got ${JSON.stringify(ack)}`);
  else assert.equal(ack.error.code, code, `${what}: expected error ${code}, got ${JSON.stringify(ack)}`);
  return ack;
}

export function assertId(v, what = "id") {
  assert.ok(
    (typeof v === "string" && v.length > 0) || (Number.isInteger(v) && v > 0),
    `${what} must be a non-empty string or positive integer, got ${JSON.stringify(v)}`,
  );
}

/** Message = { id, conversationId, seq, sender, agentName, text, clientId, createdAt, attachments }. */
export function assertMessage(m, expected = {}) {
  assert.equal(typeof m, "object");
  assert.notEqual(m, null, "message is null");
  assert.deepEqual(
    Object.keys(m).sort(),
    ["agentName", "attachments", "clientId", "conversationId", "createdAt", "id", "sender", "seq", "text"],
    `Message must have exactly the fields of PROTOCOL.md, got ${JSON.stringify(m)}`,
  );
  assert.ok(Array.isArray(m.attachments), "Message.attachments is an array ([] when none)");
  assert.equal(typeof m.id, "string", "Message.id must be a string");
  assert.ok(m.id.length > 0);
  assertId(m.conversationId, "Message.conversationId");
  assert.ok(Number.isInteger(m.seq) && m.seq >= 1, `seq must be a positive integer, got ${m.seq}`);
  assert.ok(["visitor", "agent", "system"].includes(m.sender), `bad sender ${m.sender}`);
  assert.ok(m.agentName === null || typeof m.agentName === "string");
  if (m.sender === "visitor") assert.equal(m.agentName, null, "a visitor message has agentName null");
  if (m.sender === "agent") assert.equal(typeof m.agentName, "string", "an agent message carries agentName");
  assert.equal(typeof m.text, "string");
  assert.ok(m.clientId === null || typeof m.clientId === "string");
  assert.match(m.createdAt, CREATED_AT, "createdAt must be RFC 3339 UTC with milliseconds");
  assert.ok(!Number.isNaN(Date.parse(m.createdAt)));
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(m[k], v, `Message.${k}`);
  return m;
}

export function assertVisitorObject(v) {
  assert.equal(typeof v, "object");
  assert.notEqual(v, null);
  assert.deepEqual(Object.keys(v).sort(), ["email", "id", "name", "phone"], `visitor must be {id,name,email,phone}, got ${JSON.stringify(v)}`);
  assertId(v.id, "visitor.id");
  for (const k of ["name", "email", "phone"]) assert.ok(v[k] === null || typeof v[k] === "string", `visitor.${k}`);
  return v;
}

/** session = { visitor, token, conversation: {id,status}, messages, hasMore, agentsOnline }. */
export const SESSION_FIELDS = ["agentsOnline", "conversation", "hasMore", "messages", "token", "visitor"];
/** Checks the PROTOCOL.md fields; extra fields are checked only by the test named for them. */
export function assertSession(s) {
  for (const k of SESSION_FIELDS) assert.ok(k in s, `session lacks ${k}: ${JSON.stringify(Object.keys(s))}`);
  assertVisitorObject(s.visitor);
  assert.equal(typeof s.token, "string");
  assert.ok(s.token.length >= 16, "token should be an unguessable opaque string");
  assert.deepEqual(Object.keys(s.conversation).sort(), ["id", "status"]);
  assertId(s.conversation.id, "conversation.id");
  assert.ok(["open", "ended"].includes(s.conversation.status));
  assert.ok(Array.isArray(s.messages));
  s.messages.forEach((m) => assertMessage(m, { conversationId: s.conversation.id }));
  assertAscending(s.messages);
  assert.equal(typeof s.hasMore, "boolean");
  assert.equal(typeof s.agentsOnline, "boolean");
  return s;
}

/** Summary = { id, visitor, status, online, page, lastMessage, unread, updatedAt }. */
export function assertSummary(c) {
  assert.deepEqual(
    Object.keys(c).sort(),
    ["id", "lastMessage", "online", "page", "status", "unread", "updatedAt", "visitor"],
    `Summary must have exactly the fields of PROTOCOL.md, got ${JSON.stringify(c)}`,
  );
  assertId(c.id, "Summary.id");
  assertVisitorObject(c.visitor);
  assert.ok(["open", "ended"].includes(c.status), `Summary.status ${c.status}`);
  assert.equal(typeof c.online, "boolean");
  if (c.page !== null) {
    assert.deepEqual(Object.keys(c.page).sort(), ["title", "url"], `Summary.page must be {url,title}`);
    assert.equal(typeof c.page.url, "string");
  }
  if (c.lastMessage !== null) assertMessage(c.lastMessage, { conversationId: c.id });
  assert.ok(Number.isInteger(c.unread) && c.unread >= 0, `unread ${c.unread}`);
  assert.equal(typeof c.updatedAt, "string", "updatedAt must be a timestamp string");
  assert.ok(!Number.isNaN(Date.parse(c.updatedAt)), `updatedAt must parse: ${c.updatedAt}`);
  return c;
}

export function assertAscending(messages) {
  for (let i = 1; i < messages.length; i++) {
    assert.ok(messages[i].seq > messages[i - 1].seq, `messages not ascending by seq: ${messages.map((m) => m.seq)}`);
  }
}

/** A conversation id of the same type as `id` that does not exist. */
export function missingIdLike(id) {
  if (Number.isInteger(id)) return id + 10_000_000;
  if (/^\d+$/.test(id)) return String(Number(id) + 10_000_000);
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return "00000000-0000-4000-8000-000000000000";
  // Same length and alphabet, different content.
  return id.split("").reverse().join("") === id ? id + "x" : id.split("").reverse().join("");
}

let clientSeq = 0;
export function cid(prefix = "c") {
  clientSeq += 1;
  return `${prefix}-${clientSeq}-${randomBytes(4).toString("hex")}`;
}

/** Visitor send with a fresh clientId; returns the ack (asserted ok) message. */
export async function visitorSay(socket, text, clientId = cid("v")) {
  const ack = assertOk(await call(socket, "send", { clientId, text }), `visitor send "${text}"`);
  return ack.message;
}

/** Agent send; returns the acked message. */
export async function agentSay(socket, conversationId, text, clientId = cid("a")) {
  const ack = assertOk(await call(socket, "send", { conversationId, clientId, text }), `agent send "${text}"`);
  return ack.message;
}

/** Poll `fn` until it returns truthy (or its promise resolves truthy); fails after timeoutMs. */
export async function waitFor(fn, timeoutMs = DEFAULT_TIMEOUT, what = "condition") {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new assert.AssertionError({ message: `timed out waiting for ${what}` });
    await sleep(50);
  }
}

/**
 * Like nextEvent, for the first of several events: `matchers` maps event names to
 * predicates. Resolves with { name, payload }.
 */
export function nextEventOf(socket, matchers, timeoutMs = DEFAULT_TIMEOUT) {
  const matches = (e) => !e.consumed && e.name in matchers && matchers[e.name](e.args[0]);
  const found = socket.__log.find(matches);
  if (found) {
    found.consumed = true;
    return Promise.resolve({ name: found.name, payload: found.args[0] });
  }
  return new Promise((res, rej) => {
    const waiter = (e) => {
      if (matches(e)) {
        e.consumed = true;
        socket.__waiters.delete(waiter);
        clearTimeout(t);
        res({ name: e.name, payload: e.args[0] });
      }
    };
    const t = setTimeout(() => {
      socket.__waiters.delete(waiter);
      rej(new assert.AssertionError({ message: `none of ${Object.keys(matchers)} within ${timeoutMs} ms` }));
    }, timeoutMs);
    socket.__waiters.add(waiter);
  });
}
