// Invitations: an admin's one-time link (`invite` over /agent, or `parlor invite create`) that
// a new agent opens to choose a name, a username and a password, joining the inviting site with
// the invitation's role. Used once, expires, never a way into another site. Password resets
// are links of the same kind.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, connect, call, assertOk, assertError, visitorSay, nextEvent, disconnected, unique } from "./support.mjs";

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.dispose();
});
afterEach(() => srv.closeClients());

const DASHBOARD = "https://chat.shop.example";

/** A site with a connected admin whose dashboard is at DASHBOARD. */
async function adminOfNewSite() {
  const site = await srv.createSite();
  const boss = await srv.createAgent(site.siteKey, { role: "admin" });
  const socket = srv.socket("/agent", { auth: { token: boss.token }, extraHeaders: { Origin: DASHBOARD } });
  await connect(socket);
  await nextEvent(socket, "conversations");
  return { site, boss, socket };
}

/** The token at the end of an invitation URL. */
const tokenOf = (url) => new URL(url).pathname.split("/").pop();

const offer = (token) => srv.http("GET", `/api/invitations/${token}`);
const signUp = (token, body) => srv.http("POST", `/api/invitations/${token}`, { json: body });
const someone = () => ({ name: "New Person", username: unique("invited"), password: "a long enough password" });

describe("invitations", () => {
  it("an admin's invite link lets a new agent sign up into the site, logged in at once", async () => {
    const { site, socket } = await adminOfNewSite();
    const { invitation } = assertOk(await call(socket, "invite", {}));
    assert.ok(invitation.url.startsWith(`${DASHBOARD}/admin/invite/`), invitation.url);
    assert.equal(invitation.role, "agent");
    const days = (Date.parse(invitation.expiresAt) - Date.now()) / 86400e3;
    assert.ok(days > 6.9 && days <= 7, `expires in ${days} days`);

    const token = tokenOf(invitation.url);
    const shown = await offer(token);
    assert.equal(shown.status, 200);
    assert.deepEqual(shown.body, { siteName: (await srv.cli(["site", "show", site.siteKey])).json.name, role: "agent", expiresAt: invitation.expiresAt });

    const me = someone();
    const joined = await signUp(token, me);
    assert.equal(joined.status, 200, JSON.stringify(joined.body));
    assert.equal(joined.body.agent.siteId, site.id, "the new agent belongs to the inviting site");
    assert.equal(joined.body.agent.name, "New Person");
    assert.equal(joined.body.agent.role, "agent");
    // Logged in: the token opens /agent, and the agent answers a visitor of that site.
    const agent = (await srv.agent(joined.body.token)).socket;
    const v = await srv.visitor(site.siteKey);
    const question = await visitorSay(v.socket, "hello?");
    await nextEvent(agent, "message", (m) => m.id === question.id);
    assertOk(await call(agent, "send", { conversationId: v.session.conversation.id, clientId: "a1", text: "hi, I'm new" }));
    // And logs in with what it chose.
    assert.equal((await srv.login(me.username, me.password)).status, 200);
    const team = assertOk(await call(socket, "team", {})).agents;
    assert.ok(team.some((a) => a.username === me.username));
  });

  it("a link is used once: a second sign-up and a second look find nothing", async () => {
    const { socket } = await adminOfNewSite();
    const token = tokenOf(assertOk(await call(socket, "invite", {})).invitation.url);
    assert.equal((await signUp(token, someone())).status, 200);
    const again = await signUp(token, someone());
    assert.equal(again.status, 404);
    assert.equal(again.body.error, "not_found");
    assert.equal((await offer(token)).status, 404);
  });

  it("two sign-ups through one link at the same moment: one agent joins", async () => {
    const { site, socket } = await adminOfNewSite();
    const token = tokenOf(assertOk(await call(socket, "invite", {})).invitation.url);
    const results = await Promise.all([signUp(token, someone()), signUp(token, someone())]);
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 404]);
    const agents = (await srv.cli(["agent", "list", "--site", site.siteKey])).json;
    assert.equal(agents.length, 2, "the admin and one new agent");
  });

  it("an expired link finds nothing", async () => {
    const { socket } = await adminOfNewSite();
    const token = tokenOf(assertOk(await call(socket, "invite", {})).invitation.url);
    srv.sql(`UPDATE invitations SET expires_at = ${Date.now() - 1000}`);
    assert.equal((await offer(token)).status, 404);
    assert.equal((await signUp(token, someone())).status, 404);
  });

  it("an unknown or malformed token is not_found, like a used one", async () => {
    for (const token of ["x".repeat(43), "not a token!", "a".repeat(200)]) {
      const r = await offer(encodeURIComponent(token));
      assert.equal(r.status, 404, token);
      assert.equal(r.body.error, "not_found");
    }
  });

  it("an admin invitation makes an admin", async () => {
    const { socket } = await adminOfNewSite();
    const { invitation } = assertOk(await call(socket, "invite", { role: "admin" }));
    assert.equal(invitation.role, "admin");
    const joined = await signUp(tokenOf(invitation.url), someone());
    assert.equal(joined.body.agent.role, "admin");
  });

  it("bad fields or a taken username are invalid, and the link stays usable", async () => {
    const { socket } = await adminOfNewSite();
    const other = await srv.createAgent((await srv.createSite()).siteKey, { login: false });
    const token = tokenOf(assertOk(await call(socket, "invite", {})).invitation.url);
    for (const bad of [
      { ...someone(), password: "short" },
      { ...someone(), name: "  " },
      { ...someone(), username: "" },
      { ...someone(), username: other.username },
      { name: "No password", username: unique("x") },
    ]) {
      const r = await signUp(token, bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.equal(r.body.error, "invalid");
    }
    assert.equal((await signUp(token, someone())).status, 200);
  });

  it("a plain agent cannot invite", async () => {
    const site = await srv.createSite();
    await srv.createAgent(site.siteKey, { role: "admin", login: false });
    const ann = await srv.createAgent(site.siteKey);
    const socket = (await srv.agent(ann.token)).socket;
    assertError(await call(socket, "invite", {}), "forbidden");
    assertError(await call(socket, "invite", { role: "owner" }), ["forbidden", "invalid"]);
  });

  it("parlor invite create prints a link that works, based on PARLOR_PUBLIC_URL when set", async () => {
    const site = await srv.createSite();
    const made = await srv.cli(["invite", "create", "--site", site.siteKey, "--role", "admin"], {
      env: { PARLOR_PUBLIC_URL: "https://support.example.com/" },
    });
    assert.equal(made.code, 0, made.stderr);
    assert.ok(made.json.url.startsWith("https://support.example.com/admin/invite/"), made.json.url);
    assert.equal(made.json.role, "admin");
    const joined = await signUp(tokenOf(made.json.url), someone());
    assert.equal(joined.status, 200);
    assert.equal(joined.body.agent.siteId, site.id);
    const unknown = await srv.cli(["invite", "create", "--site", "pk_nope"]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /no site/);
  });

  it("the link opens the dashboard", async () => {
    const { socket } = await adminOfNewSite();
    const { invitation } = assertOk(await call(socket, "invite", {}));
    const page = await srv.http("GET", new URL(invitation.url).pathname);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /text\/html/);
  });
});

describe("password resets", () => {
  const resetInfo = (token) => srv.http("GET", `/api/resets/${token}`);
  const setPassword = (token, password) => srv.http("POST", `/api/resets/${token}`, { json: { password } });

  it("an admin's reset ends the agent's sessions at once and its link sets a new password, once", async () => {
    const { site, socket } = await adminOfNewSite();
    const ann = await srv.createAgent(site.siteKey, { name: "Ann" });
    const annSocket = (await srv.agent(ann.token)).socket;
    const gone = disconnected(annSocket, 2500);
    const { reset } = assertOk(await call(socket, "resetPassword", { agentId: ann.id }));
    assert.ok(reset.url.startsWith(`${DASHBOARD}/admin/reset/`), reset.url);
    await gone;
    assert.equal((await srv.login(ann.username, ann.password)).status, 401, "the old password is gone");

    const token = tokenOf(reset.url);
    const shown = await resetInfo(token);
    assert.equal(shown.status, 200);
    assert.equal(shown.body.name, "Ann");
    assert.equal(shown.body.username, ann.username);
    // Not an invitation to join, and the other way round.
    assert.equal((await offer(token)).status, 404);
    assert.equal((await signUp(token, someone())).status, 404);

    assert.equal((await setPassword(token, "short")).status, 400);
    const done = await setPassword(token, "a brand new password");
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.agent.id, ann.id);
    await srv.agent(done.body.token);
    assert.equal((await srv.login(ann.username, "a brand new password")).status, 200);
    assert.equal((await setPassword(token, "yet another password")).status, 404, "used once");
    assert.equal((await srv.login(ann.username, "yet another password")).status, 401);
  });

  it("an invitation token is no reset token", async () => {
    const { socket } = await adminOfNewSite();
    const token = tokenOf(assertOk(await call(socket, "invite", {})).invitation.url);
    assert.equal((await resetInfo(token)).status, 404);
    assert.equal((await setPassword(token, "a long enough password")).status, 404);
    assert.equal((await offer(token)).status, 200, "and it is still a usable invitation");
  });

  it("a plain agent cannot reset anyone's password, nor an admin another site's agent", async () => {
    const { site, boss, socket } = await adminOfNewSite();
    const ann = await srv.createAgent(site.siteKey);
    const annSocket = (await srv.agent(ann.token)).socket;
    assertError(await call(annSocket, "resetPassword", { agentId: boss.id }), "forbidden");
    const stranger = await srv.createAgent((await srv.createSite()).siteKey, { login: false });
    assertError(await call(socket, "resetPassword", { agentId: stranger.id }), "not_found");
    assert.equal((await srv.login(stranger.username, stranger.password)).status, 200, "untouched");
    assert.equal((await srv.login(boss.username, boss.password)).status, 200, "untouched");
  });
});
