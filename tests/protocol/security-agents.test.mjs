// Revocation that bites: a password change, `agent disable` and `agent delete` (each run as a
// separate process on the shared database) end the agent's live /agent sockets within 2 s and
// its old tokens are refused; an expired JWT ends its socket too; a disabled agent's send is
// refused while everyone else's goes through. Also the administrative commands' output and
// the expiry of unused visitor tokens.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  BACKEND,
  startServer,
  startCluster,
  expectConnectError,
  call,
  assertOk,
  assertError,
  agentSay,
  visitorSay,
  nextEvent,
  sleep,
  unique,
  cid,
} from "./support.mjs";

/** The contract: a revoked token's socket ends within this. */
const REVOKE_BOUND_MS = 2000;
const DAY_MS = 24 * 3600 * 1000;

/**
 * Resolves with the milliseconds from `since` (a performance.now()) to the socket's
 * disconnect; rejects after `timeoutMs`.
 */
function disconnectAfter(socket, timeoutMs = 5000) {
  return new Promise((res, rej) => {
    if (!socket.connected) return rej(new Error("the socket was not connected"));
    const t = setTimeout(() => rej(new Error(`the socket was still connected after ${timeoutMs} ms`)), timeoutMs);
    socket.once("disconnect", (reason) => {
      clearTimeout(t);
      res({ at: performance.now(), reason });
    });
  });
}

/** Runs a CLI command that must succeed; resolves with performance.now() at its exit. */
async function admin(srv, args, opts) {
  const r = await srv.cli(args, opts);
  assert.equal(r.code, 0, `parlor ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  assert.deepEqual(r.json, { ok: true });
  return performance.now();
}

async function refusedToken(srv, token) {
  const err = await expectConnectError(srv.socket("/agent", { auth: { token } }));
  return err.message;
}

/** A site with two agents, both connected, and one visitor with a conversation. */
async function team(srv) {
  const site = await srv.createSite();
  const ann = await srv.createAgent(site.siteKey, { name: "Ann Revoked" });
  const bob = await srv.createAgent(site.siteKey, { name: "Bob Stays" });
  const annSocket = (await srv.agent(ann.token)).socket;
  const bobSocket = (await srv.agent(bob.token)).socket;
  const visitor = await srv.visitor(site.siteKey);
  return { site, ann, bob, annSocket, bobSocket, visitor, conversationId: visitor.session.conversation.id };
}

describe("revocation ends live agent connections", () => {
  let srv;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.dispose();
  });
  afterEach(() => srv.closeClients());

  it("a password change ends the dashboard socket within 2 s and refuses the old token", async (t) => {
    const { ann, annSocket, bobSocket } = await team(srv);
    const ended = disconnectAfter(annSocket);
    const r = await srv.cli(["agent", "password", "--username", ann.username], {
      env: { PARLOR_PASSWORD: "a brand new password" },
    });
    assert.equal(r.code, 0, r.stderr);
    const committed = performance.now();
    const { at } = await ended;
    t.diagnostic(`password change → disconnect: ${Math.round(at - committed)} ms`);
    assert.ok(at - committed <= REVOKE_BOUND_MS, `took ${Math.round(at - committed)} ms`);
    assert.equal(await refusedToken(srv, ann.token), "unauthorized");
    assert.equal((await srv.login(ann.username, ann.password)).status, 401);
    assert.equal((await srv.login(ann.username, "a brand new password")).status, 200);
    assert.ok(bobSocket.connected, "another agent of the site stays connected");
  });

  it("disable ends the socket within 2 s, login answers 401 like a wrong password, enable lets the agent back in", async (t) => {
    const { site, ann, annSocket, bobSocket } = await team(srv);
    const ended = disconnectAfter(annSocket);
    const committed = await admin(srv, ["agent", "disable", "--username", ann.username]);
    const { at } = await ended;
    t.diagnostic(`disable → disconnect: ${Math.round(at - committed)} ms`);
    assert.ok(at - committed <= REVOKE_BOUND_MS, `took ${Math.round(at - committed)} ms`);
    assert.equal(await refusedToken(srv, ann.token), "unauthorized");

    const disabled = await srv.login(ann.username, ann.password);
    const wrong = await srv.login(ann.username, "not the password");
    assert.equal(disabled.status, 401);
    assert.deepEqual(disabled.body, wrong.body, "a disabled agent is refused exactly like a wrong password");

    const listed = await srv.cli(["agent", "list", "--site", site.siteKey]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.json.find((a) => a.username === ann.username)?.disabled, true);

    await admin(srv, ["agent", "enable", "--username", ann.username]);
    const back = await srv.login(ann.username, ann.password);
    assert.equal(back.status, 200);
    const again = await srv.agent(back.body.token);
    assert.ok(again.socket.connected);
    // Tokens from before the disable stay revoked: enabling does not bring them back.
    assert.equal(await refusedToken(srv, ann.token), "unauthorized");
    await sleep(1500);
    assert.ok(again.socket.connected, "a fresh token after enable keeps its socket");
    assert.ok(bobSocket.connected, "another agent of the site stays connected");
  });

  it("delete refuses without --yes when not on a terminal, then ends the socket, keeps the messages' name and frees the username", async (t) => {
    const { site, ann, bob, annSocket, bobSocket, visitor, conversationId } = await team(srv);
    const said = await agentSay(annSocket, conversationId, "hello from Ann");

    const unconfirmed = await srv.cli(["agent", "delete", "--username", ann.username]);
    assert.notEqual(unconfirmed.code, 0, "delete without --yes and without a terminal must be refused");
    assert.match(unconfirmed.stderr, /--yes/);
    assert.equal(unconfirmed.stdout.trim(), "");
    assert.equal((await srv.login(ann.username, ann.password)).status, 200, "nothing was deleted");
    assert.ok(annSocket.connected);

    const ended = disconnectAfter(annSocket);
    const committed = await admin(srv, ["agent", "delete", "--username", ann.username, "--yes"]);
    const { at } = await ended;
    t.diagnostic(`delete → disconnect: ${Math.round(at - committed)} ms`);
    assert.ok(at - committed <= REVOKE_BOUND_MS, `took ${Math.round(at - committed)} ms`);
    assert.equal(await refusedToken(srv, ann.token), "unauthorized");
    assert.equal((await srv.login(ann.username, ann.password)).status, 401);

    const listed = await srv.cli(["agent", "list", "--site", site.siteKey]);
    assert.deepEqual(listed.json.map((a) => a.username), [bob.username], "a deleted agent is not listed");

    // Its messages stay, with the name the visitor saw.
    const history = assertOk(await call(bobSocket, "history", { conversationId, beforeSeq: 1000 }));
    const kept = history.messages.find((m) => m.id === said.id);
    assert.equal(kept?.agentName, "Ann Revoked");
    visitor.socket.disconnect();
    const back = await srv.visitor(site.siteKey, { token: visitor.token });
    assert.equal(back.session.messages.find((m) => m.id === said.id)?.agentName, "Ann Revoked");

    // The username is free again, for a new agent with nothing of the old one.
    const reused = await srv.createAgent(site.siteKey, { username: ann.username, name: "Ann Again", password: "another password" });
    assert.notEqual(String(reused.id), String(ann.id));
    assert.equal(reused.agent.name, "Ann Again");
    const again = await srv.agent(reused.token);
    assert.ok(again.socket.connected);
    assert.equal(await refusedToken(srv, ann.token), "unauthorized");
    // Deleting again finds nobody by the old account; the new one is untouched.
    const ghost = await srv.cli(["agent", "disable", "--username", `deleted:${ann.id}`]);
    assert.notEqual(ghost.code, 0, "a tombstone is not an agent one can act on");
  });

  it("a disabled agent's send is refused with unauthorized while another agent's and visitors' sends at the same moment succeed", async (t) => {
    // The sweep may close the socket before any send reaches the append after the commit;
    // then the scenario is repeated with a fresh team (at most three times).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const { site, ann, annSocket, bobSocket, visitor, conversationId } = await team(srv);
      const visitor2 = await srv.visitor(site.siteKey);
      let cliDone = false;
      let disabledAt = null;
      const annAcks = []; // { ack, afterCommit }
      const others = [];
      const spam = (async () => {
        while (annSocket.connected) {
          const afterCommit = cliDone;
          const sending = call(annSocket, "send", { conversationId, clientId: cid("ann"), text: "still here?" }, 3000)
            .then((ack) => annAcks.push({ ack, afterCommit }))
            .catch(() => {}); // the socket closed before the ack
          others.push(call(bobSocket, "send", { conversationId, clientId: cid("bob"), text: "Bob here" }, 3000));
          others.push(call(visitor.socket, "send", { clientId: cid("v"), text: "visitor one" }, 3000));
          others.push(call(visitor2.socket, "send", { clientId: cid("w"), text: "visitor two" }, 3000));
          await Promise.race([sending, sleep(10)]);
          await sleep(5);
        }
      })();
      const r = await srv.cli(["agent", "disable", "--username", ann.username]);
      assert.equal(r.code, 0, r.stderr);
      cliDone = true;
      disabledAt = performance.now();
      await spam;
      t.diagnostic(`attempt ${attempt}: socket ended ${Math.round(performance.now() - disabledAt)} ms after the disable`);
      for (const ack of await Promise.all(others)) assertOk(ack, "another sender's send");
      for (const { ack } of annAcks) {
        if (!ack.ok) assertError(ack, "unauthorized", "the disabled agent's send");
      }
      for (const { ack } of annAcks.filter((a) => a.afterCommit)) {
        assertError(ack, "unauthorized", "a send after the disable committed");
      }
      const refused = annAcks.filter(({ ack }) => !ack.ok).length;
      t.diagnostic(`attempt ${attempt}: ${annAcks.length} acks for the disabled agent, ${refused} refused; ${others.length} other sends all ok`);
      // Nothing the disabled agent sent after the commit is stored.
      const stored = assertOk(await call(bobSocket, "sync", { conversationId, afterSeq: 0 })).messages;
      const annStored = stored.filter((m) => m.agentName === "Ann Revoked").length;
      assert.equal(annStored, annAcks.filter(({ ack }) => ack.ok).length, "every stored message of hers was acked ok, and only those");
      if (refused > 0) return;
    }
    assert.fail("in three attempts the socket always closed before a send reached the store");
  });
});

describe("an expired agent token ends its socket", () => {
  let srv;
  before(async () => {
    srv = await startServer({ env: { PARLOR_JWT_TTL_SECS: "2" } });
  });
  after(async () => {
    await srv?.dispose();
  });

  it("the socket of a 2-second token ends soon after the token expires, and the token is then refused", async (t) => {
    const site = await srv.createSite();
    const ann = await srv.createAgent(site.siteKey);
    const exp = JSON.parse(Buffer.from(ann.token.split(".")[1], "base64url")).exp * 1000;
    const { socket } = await srv.agent(ann.token);
    const { at } = await disconnectAfter(socket, 8000);
    const late = Date.now() - exp - (performance.now() - at);
    t.diagnostic(`socket ended ${Math.round(late)} ms after the token's exp`);
    // The token is valid through its exp second (no leeway), then the sweep runs within 1 s.
    assert.ok(late <= 1000 + REVOKE_BOUND_MS, `ended ${Math.round(late)} ms after exp`);
    assert.equal(await refusedToken(srv, ann.token), "unauthorized");
  });
});

describe("administrative commands", () => {
  let srv;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.dispose();
  });

  it("site list prints every site with its settings", async () => {
    const name = unique("listed");
    const created = await srv.cli([
      "site", "create", "--name", name,
      "--allowed-origin", "https://shop.example/",
      "--prechat-fields", "name,phone",
      "--allowed-query-param", "utm_*",
      "--allowed-query-param", "ref",
    ]);
    assert.equal(created.code, 0, created.stderr);
    const plain = await srv.createSite();
    const r = await srv.cli(["site", "list"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Array.isArray(r.json));
    assert.deepEqual(r.json.find((s) => s.siteKey === created.json.siteKey), {
      id: created.json.id,
      siteKey: created.json.siteKey,
      name,
      allowedOrigins: ["https://shop.example"],
      prechatFields: ["name", "phone"],
      allowedQueryParams: ["utm_*", "ref"],
      mailFrom: null,
    });
    const p = r.json.find((s) => s.siteKey === plain.siteKey);
    assert.deepEqual(p.allowedQueryParams, []);
    assert.deepEqual(p.allowedOrigins, []);
  });

  it("a malformed --allowed-query-param is refused", async () => {
    const r = await srv.cli(["site", "create", "--name", unique("bad"), "--allowed-query-param", "a*b"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /allowed-query-param/);
  });

  it("agent list prints the site's agents as { id, username, name, role, disabled }", async () => {
    const site = await srv.createSite();
    const other = await srv.createSite();
    const a = await srv.createAgent(site.siteKey, { name: "Alpha", login: false });
    const b = await srv.createAgent(site.siteKey, { name: "Beta", login: false });
    await srv.createAgent(other.siteKey, { login: false });
    await admin(srv, ["agent", "disable", "--username", b.username]);
    const r = await srv.cli(["agent", "list", "--site", site.siteKey]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, [
      { id: a.id, username: a.username, name: "Alpha", role: "agent", disabled: false },
      { id: b.id, username: b.username, name: "Beta", role: "agent", disabled: true },
    ]);
  });

  it("commands on unknown sites or agents fail with a message and no output", async () => {
    for (const args of [
      ["agent", "list", "--site", "pk_nope"],
      ["agent", "disable", "--username", unique("ghost")],
      ["agent", "enable", "--username", unique("ghost")],
      ["agent", "delete", "--username", unique("ghost"), "--yes"],
    ]) {
      const r = await srv.cli(args);
      assert.notEqual(r.code, 0, `parlor ${args.join(" ")} succeeded`);
      assert.match(r.stderr, /no (site|agent)/, `parlor ${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), "");
    }
  });
});

describe("visitor tokens expire after inactivity", () => {
  let srv;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv?.dispose();
  });
  afterEach(() => srv.closeClients());

  const lastSeen = (visitorId) => Number(srv.sql(`SELECT last_seen_at FROM visitors WHERE id = '${visitorId}'`));
  const age = (visitorId, ms) => srv.sql(`UPDATE visitors SET last_seen_at = ${Date.now() - ms} WHERE id = '${visitorId}'`);

  it("a token unused for longer than PARLOR_VISITOR_TOKEN_TTL_DAYS (default 90) yields a new visitor", async () => {
    const site = await srv.createSite();
    const first = await srv.visitor(site.siteKey);
    await visitorSay(first.socket, "hello, long ago");
    first.socket.disconnect();
    age(first.session.visitor.id, 91 * DAY_MS);
    const back = await srv.visitor(site.siteKey, { token: first.token });
    assert.notEqual(back.token, first.token, "a new token");
    assert.notEqual(back.session.visitor.id, first.session.visitor.id, "a new visitor");
    assert.notEqual(back.session.conversation.id, first.session.conversation.id);
    assert.deepEqual(back.session.messages, []);
  });

  it("a returning visitor keeps its identity and its last_seen_at is refreshed once older than a day", async () => {
    const site = await srv.createSite();
    const first = await srv.visitor(site.siteKey);
    const id = first.session.visitor.id;
    first.socket.disconnect();
    // Within a day: nothing is written.
    const recent = Date.now() - 3600 * 1000;
    srv.sql(`UPDATE visitors SET last_seen_at = ${recent} WHERE id = '${id}'`);
    const again = await srv.visitor(site.siteKey, { token: first.token });
    assert.equal(again.session.visitor.id, id);
    assert.equal(lastSeen(id), recent);
    again.socket.disconnect();
    // 89 days: still valid, and refreshed to now.
    age(id, 89 * DAY_MS);
    const before = Date.now();
    const later = await srv.visitor(site.siteKey, { token: first.token });
    assert.equal(later.session.visitor.id, id);
    assert.equal(later.token, first.token);
    assert.ok(lastSeen(id) >= before - 1000, `last_seen_at ${lastSeen(id)} was not refreshed`);
  });
});

describe("a two-node cluster", { skip: BACKEND !== "postgres" && "PARLOR_TEST_BACKEND=postgres only" }, () => {
  let cluster, A, B;
  before(async () => {
    cluster = await startCluster(2, { prefix: "parlor_revoke", settle: false });
    [A, B] = cluster.nodes;
  });
  after(() => cluster?.dispose());

  it("agent disable ends the agent's socket on node B within 2 s, other agents stay", async (t) => {
    const site = await A.createSite();
    const ann = await A.createAgent(site.siteKey);
    const bob = await A.createAgent(site.siteKey);
    const annOnB = (await B.agent(ann.token)).socket;
    const bobOnB = (await B.agent(bob.token)).socket;
    const bobOnA = (await A.agent(bob.token)).socket;
    const ended = disconnectAfter(annOnB);
    const committed = await admin(A, ["agent", "disable", "--username", ann.username]);
    const { at } = await ended;
    t.diagnostic(`disable on the shared database → disconnect on node B: ${Math.round(at - committed)} ms`);
    assert.ok(at - committed <= REVOKE_BOUND_MS, `took ${Math.round(at - committed)} ms`);
    assert.equal(await refusedToken(B, ann.token), "unauthorized");
    assert.equal(await refusedToken(A, ann.token), "unauthorized");
    await sleep(1200);
    assert.ok(bobOnB.connected && bobOnA.connected, "another agent stays connected on both nodes");
    // A message from Bob on node A still reaches a visitor on node B.
    const visitor = await B.visitor(site.siteKey);
    await agentSay(bobOnA, visitor.session.conversation.id, "cluster still works");
    const m = await nextEvent(visitor.socket, "message", (x) => x.text === "cluster still works");
    assert.equal(m.sender, "agent");
  });
});
