// A site's admins manage the team over /agent: `team`, `setRole`, `setDisabled`,
// `removeAgent`. Each is refused with `forbidden` for a plain agent, checked on the server at
// the moment of the request (not from the login), and the site keeps its last enabled admin.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, call, assertOk, assertError, disconnected, missingIdLike, nextEvent, expectNoEvent } from "./support.mjs";

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.dispose();
});
afterEach(() => srv.closeClients());

/** A site with a connected admin and a connected plain agent. */
async function team() {
  const site = await srv.createSite();
  const boss = await srv.createAgent(site.siteKey, { role: "admin", name: "Boss" });
  const ann = await srv.createAgent(site.siteKey, { name: "Ann" });
  return {
    site,
    boss,
    ann,
    bossSocket: (await srv.agent(boss.token)).socket,
    annSocket: (await srv.agent(ann.token)).socket,
  };
}

const members = async (socket) => assertOk(await call(socket, "team", {})).agents;

describe("the team, as its admin sees it", () => {
  it("team lists the site's agents with role and state, oldest first", async () => {
    const { boss, ann, bossSocket } = await team();
    assert.deepEqual(await members(bossSocket), [
      { id: boss.id, username: boss.username, name: "Boss", role: "admin", disabled: false, online: true },
      { id: ann.id, username: ann.username, name: "Ann", role: "agent", disabled: false, online: true },
    ]);
  });

  it("an agent's online state follows its dashboards, and agentPresence tells the site's agents", async () => {
    const { site, ann, bossSocket, annSocket } = await team();
    const sam = await srv.createAgent(site.siteKey, { name: "Sam" });
    const samOnline = nextEvent(bossSocket, "agentPresence", (p) => p.agentId === sam.id);
    const samSocket = (await srv.agent(sam.token)).socket;
    assert.deepEqual(await samOnline, { agentId: sam.id, online: true });
    // Ann, a plain agent, hears it too; a second dashboard of Sam's changes nothing.
    assert.deepEqual(await nextEvent(annSocket, "agentPresence", (p) => p.agentId === sam.id), { agentId: sam.id, online: true });
    const second = (await srv.agent(sam.token)).socket;
    await expectNoEvent(annSocket, "agentPresence", 500, (p) => p.agentId === sam.id);
    second.disconnect();
    const samOffline = nextEvent(annSocket, "agentPresence", (p) => p.agentId === sam.id && !p.online);
    samSocket.disconnect();
    await samOffline; // after the grace period
    const byId = Object.fromEntries((await members(bossSocket)).map((m) => [m.id, m.online]));
    assert.deepEqual([byId[sam.id], byId[ann.id]], [false, true]);
  });

  it("setRole makes an agent an admin, who may then manage the team at once", async () => {
    const { ann, bossSocket, annSocket } = await team();
    assertError(await call(annSocket, "team", {}), "forbidden");
    const promoted = assertOk(await call(bossSocket, "setRole", { agentId: ann.id, role: "admin" })).agent;
    assert.equal(promoted.role, "admin");
    // The role is read on every request: no new login needed.
    assert.equal((await members(annSocket)).length, 2);
    assert.equal((await srv.login(ann.username, ann.password)).body.agent.role, "admin");
  });

  it("setDisabled ends the agent's dashboard within 2 s; enabling lets it log in again", async () => {
    const { ann, bossSocket, annSocket } = await team();
    const gone = disconnected(annSocket, 2500);
    const disabled = assertOk(await call(bossSocket, "setDisabled", { agentId: ann.id, disabled: true })).agent;
    assert.equal(disabled.disabled, true);
    await gone;
    assert.equal((await srv.login(ann.username, ann.password)).status, 401);
    assertOk(await call(bossSocket, "setDisabled", { agentId: ann.id, disabled: false }));
    assert.equal((await srv.login(ann.username, ann.password)).status, 200);
  });

  it("removeAgent deletes the agent: gone from the team, its dashboard closed, its login refused", async () => {
    const { boss, ann, bossSocket, annSocket } = await team();
    const gone = disconnected(annSocket, 2500);
    assertOk(await call(bossSocket, "removeAgent", { agentId: ann.id }));
    await gone;
    assert.deepEqual((await members(bossSocket)).map((a) => a.id), [boss.id]);
    assert.equal((await srv.login(ann.username, ann.password)).status, 401);
  });
});

describe("admin operations refused", () => {
  it("a plain agent gets forbidden for every admin operation, and nothing changes", async () => {
    const { boss, ann, bossSocket, annSocket } = await team();
    const before = await members(bossSocket);
    for (const [event, payload] of [
      ["team", {}],
      ["setRole", { agentId: ann.id, role: "admin" }],
      ["setRole", { agentId: boss.id, role: "agent" }],
      ["setDisabled", { agentId: boss.id, disabled: true }],
      ["removeAgent", { agentId: boss.id }],
    ]) {
      assertError(await call(annSocket, event, payload), "forbidden", `${event} as a plain agent`);
    }
    assert.deepEqual(await members(bossSocket), before);
  });

  it("an admin demoted a moment ago is refused at once", async () => {
    const { ann, bossSocket } = await team();
    assertOk(await call(bossSocket, "setRole", { agentId: ann.id, role: "admin" }));
    const annAsAdmin = (await srv.agent((await srv.login(ann.username, ann.password)).body.token)).socket;
    assertOk(await call(annAsAdmin, "team", {}));
    assertOk(await call(bossSocket, "setRole", { agentId: ann.id, role: "agent" }));
    assertError(await call(annAsAdmin, "team", {}), "forbidden");
  });

  it("the last enabled admin cannot demote, disable or remove itself", async () => {
    const { boss, bossSocket } = await team();
    for (const [event, payload] of [
      ["setRole", { agentId: boss.id, role: "agent" }],
      ["setDisabled", { agentId: boss.id, disabled: true }],
      ["removeAgent", { agentId: boss.id }],
    ]) {
      const ack = assertError(await call(bossSocket, event, payload), "invalid", event);
      assert.match(ack.error.message, /admin/);
    }
    assert.equal((await members(bossSocket))[0].role, "admin");
  });

  it("another site's agent, or an id that cannot exist, is not_found", async () => {
    const { bossSocket } = await team();
    const other = await team();
    for (const agentId of [other.ann.id, missingIdLike(other.ann.id), "no such id!"]) {
      assertError(await call(bossSocket, "setDisabled", { agentId, disabled: true }), "not_found", agentId);
    }
    assert.equal((await members(other.bossSocket))[1].disabled, false);
  });

  it("malformed requests are invalid", async () => {
    const { ann, bossSocket } = await team();
    assertError(await call(bossSocket, "setRole", { agentId: ann.id, role: "owner" }), "invalid");
    assertError(await call(bossSocket, "setDisabled", { agentId: ann.id, disabled: "yes" }), "invalid");
    assertError(await call(bossSocket, "removeAgent", {}), "invalid");
  });
});

describe("an agent's own profile", () => {
  it("a new display name is used for the agent's next messages, without a new login", async () => {
    const { site, ann, annSocket } = await team();
    const changed = assertOk(await call(annSocket, "profile", { name: "Ann Smith" }));
    assert.equal(changed.agent.name, "Ann Smith");
    assert.equal(changed.token, undefined, "no new token for a rename");
    const v = await srv.visitor(site.siteKey);
    const conversationId = v.session.conversation.id;
    // The open connection takes the new name within the revocation sweep (about a second).
    let sent;
    for (let i = 0; i < 30; i++) {
      sent = assertOk(await call(annSocket, "send", { conversationId, clientId: `a${i}`, text: "hello" })).message;
      if (sent.agentName === "Ann Smith") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(sent.agentName, "Ann Smith");
    assert.equal((await srv.login(ann.username, ann.password)).body.agent.name, "Ann Smith");
  });

  it("a password change needs the current password, ends the older sessions and returns a new token", async () => {
    const { ann, annSocket } = await team();
    assertError(await call(annSocket, "profile", { currentPassword: "wrong password", newPassword: "a new password" }), "invalid");
    assertError(await call(annSocket, "profile", { newPassword: "a new password" }), "invalid");
    assertError(await call(annSocket, "profile", { currentPassword: ann.password, newPassword: "short" }), "invalid");
    assert.equal((await srv.login(ann.username, ann.password)).status, 200, "nothing changed yet");

    const gone = disconnected(annSocket, 2500);
    const changed = assertOk(await call(annSocket, "profile", { currentPassword: ann.password, newPassword: "a new password" }));
    assert.equal(typeof changed.token, "string");
    await gone;
    assert.equal((await srv.login(ann.username, ann.password)).status, 401);
    assert.equal((await srv.login(ann.username, "a new password")).status, 200);
    await srv.agent(changed.token);
  });

  it("a bad name is invalid and changes nothing", async () => {
    const { ann, annSocket } = await team();
    assertError(await call(annSocket, "profile", { name: "   " }), "invalid");
    assertError(await call(annSocket, "profile", { name: "x".repeat(101) }), "invalid");
    assert.equal((await srv.login(ann.username, ann.password)).body.agent.name, "Ann");
  });
});
