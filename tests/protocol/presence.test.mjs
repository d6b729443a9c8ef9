// Presence: visitors online/offline for agents (with a grace period), and
// agentsOnline for visitors. The server runs with PARLOR_PRESENCE_GRACE_MS=300.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, call, nextEvent, expectNoEvent, assertOk, sleep, drain, received, nextEventOf,
} from "./support.mjs";

const GRACE = 300;
let srv;
before(async () => { srv = await startServer({ env: { PARLOR_PRESENCE_GRACE_MS: String(GRACE) } }); });
after(async () => { await srv?.dispose(); });
afterEach(() => srv.closeClients());

/**
 * A brand-new visitor is announced with a `conversation` Summary; whether a
 * `presence` event also comes is not pinned down by PROTOCOL.md. Wait until the
 * agent has learned either way that the visitor is online, then forget both.
 */
async function seenOnline(agent, convId) {
  await nextEventOf(agent, {
    presence: (p) => p.conversationId === convId && p.online === true,
    conversation: (c) => c.id === convId && c.online === true,
  });
  await sleep(50);
  drain(agent);
}

async function summaryOf(agent, convId) {
  return assertOk(await call(agent, "list", {})).conversations.find((c) => c.id === convId);
}

describe("visitor presence seen by agents", () => {
  it("a new visitor is shown online to agents", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    await nextEvent(agent, "conversation", (x) => x.id === convId);
    await nextEventOf(agent, {
      presence: (p) => p.conversationId === convId && p.online === true,
      conversation: (c) => c.id === convId && c.online === true,
    }).catch(() => assert.fail("the agent must learn that the new visitor is online"));
    await sleep(GRACE);
    const p = received(agent, "presence").filter((x) => x.conversationId === convId);
    assert.ok(!p.some((x) => x.online === false), `no offline presence for a connected visitor: ${JSON.stringify(p)}`);
    assert.equal((await summaryOf(agent, convId)).online, true);
  });

  it("a returning visitor is reported online again", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    await seenOnline(agent, convId);
    v.socket.disconnect();
    await nextEvent(agent, "presence", (p) => p.conversationId === convId && p.online === false);
    drain(agent);
    await srv.visitor(site.siteKey, { token: v.token });
    assert.deepEqual(await nextEvent(agent, "presence", (p) => p.conversationId === convId), { conversationId: convId, online: true });
  });

  it("a visitor that disconnects is reported offline only after the grace period", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    await seenOnline(agent, convId);
    v.socket.disconnect();
    await expectNoEvent(agent, "presence", GRACE / 3, (p) => p.conversationId === convId);
    assert.deepEqual(await nextEvent(agent, "presence", (p) => p.conversationId === convId), { conversationId: convId, online: false });
    assert.equal((await summaryOf(agent, convId)).online, false);
  });

  it("a reload within the grace period does not flap presence", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const convId = v.session.conversation.id;
    await seenOnline(agent, convId);
    v.socket.disconnect();
    await srv.visitor(site.siteKey, { token: v.token }); // the page reloaded
    await expectNoEvent(agent, "presence", GRACE * 4, (p) => p.conversationId === convId);
    assert.equal((await summaryOf(agent, convId)).online, true);
  });

  it("a visitor with several tabs stays online until the last tab closes", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const tab1 = await srv.visitor(site.siteKey);
    const convId = tab1.session.conversation.id;
    const tab2 = await srv.visitor(site.siteKey, { token: tab1.token });
    const tab3 = await srv.visitor(site.siteKey, { token: tab1.token, transports: ["polling"] });
    await seenOnline(agent, convId);
    tab1.socket.disconnect();
    tab3.socket.disconnect();
    await expectNoEvent(agent, "presence", GRACE * 4, (p) => p.conversationId === convId && !p.online);
    assert.equal((await summaryOf(agent, convId)).online, true);
    tab2.socket.disconnect();
    assert.deepEqual(await nextEvent(agent, "presence", (p) => p.conversationId === convId && !p.online), { conversationId: convId, online: false });
  });

  it("after a burst of tabs opening and closing the visitor settles offline", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const first = await srv.visitor(site.siteKey);
    const convId = first.session.conversation.id;
    await seenOnline(agent, convId);
    const tabs = [first.socket];
    for (let round = 0; round < 4; round++) {
      const opened = await Promise.all([1, 2].map(() => srv.visitor(site.siteKey, { token: first.token })));
      tabs.push(...opened.map((t) => t.socket));
      tabs.shift().disconnect();
      await sleep(round * 40);
    }
    tabs.forEach((t) => t.disconnect());
    await nextEvent(agent, "presence", (p) => p.conversationId === convId && p.online === false, 5000);
    await sleep(GRACE * 3);
    const all = received(agent, "presence").filter((p) => p.conversationId === convId);
    assert.equal(all[all.length - 1].online, false, `the last presence must be offline: ${JSON.stringify(all)}`);
    assert.equal((await summaryOf(agent, convId)).online, false);
  });

  it("an agent connecting later sees the visitor's current online state in conversations", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const on = await srv.visitor(site.siteKey);
    const off = await srv.visitor(site.siteKey);
    off.socket.disconnect();
    await sleep(GRACE * 4);
    const { conversations } = await srv.agent(acc.token);
    assert.equal(conversations.find((c) => c.id === on.session.conversation.id).online, true);
    assert.equal(conversations.find((c) => c.id === off.session.conversation.id).online, false);
  });
});

describe("agentsOnline seen by visitors", () => {
  it("the session reports agentsOnline true while an agent of the site is connected", async () => {
    const { site } = await srv.siteWithAgent();
    const { session } = await srv.visitor(site.siteKey);
    assert.equal(session.agentsOnline, true);
  });

  it("visitors get presence agentsOnline:true when the first agent connects", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const v = await srv.visitor(site.siteKey);
    assert.equal(v.session.agentsOnline, false);
    await srv.agent(acc.token);
    assert.deepEqual(await nextEvent(v.socket, "presence"), { agentsOnline: true });
  });

  it("visitors get presence agentsOnline:false after the last agent leaves and the grace period", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const a = await srv.agent(acc.token);
    const v = await srv.visitor(site.siteKey);
    assert.equal(v.session.agentsOnline, true);
    a.socket.disconnect();
    await expectNoEvent(v.socket, "presence", GRACE / 3);
    assert.deepEqual(await nextEvent(v.socket, "presence"), { agentsOnline: false });
    v.socket.disconnect();
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.equal(again.session.agentsOnline, false);
  });

  it("presence is sent to visitors only when agentsOnline changes", async () => {
    const site = await srv.createSite();
    const acc1 = await srv.createAgent(site.siteKey);
    const acc2 = await srv.createAgent(site.siteKey);
    const a1 = await srv.agent(acc1.token);
    const v = await srv.visitor(site.siteKey);
    await srv.agent(acc2.token); // a second agent: still online, no change
    a1.socket.disconnect(); // one of two leaves: still online, no change
    await expectNoEvent(v.socket, "presence", GRACE * 4);
    const a1again = await srv.agent(acc1.token); // the same agent in a second tab
    await expectNoEvent(v.socket, "presence", 300);
    assert.ok(a1again.socket.connected);
  });

  it("an agent reconnecting within the grace period does not flap agentsOnline", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    const a = await srv.agent(acc.token);
    const v = await srv.visitor(site.siteKey);
    a.socket.disconnect();
    await srv.agent(acc.token);
    await expectNoEvent(v.socket, "presence", GRACE * 4);
  });

  it("after rapid agent reconnects the visitor ends with agentsOnline true", async () => {
    const site = await srv.createSite();
    const acc = await srv.createAgent(site.siteKey);
    let a = await srv.agent(acc.token);
    const v = await srv.visitor(site.siteKey);
    for (let i = 0; i < 5; i++) {
      a.socket.disconnect();
      await sleep(i * 30);
      a = await srv.agent(acc.token);
    }
    await sleep(GRACE * 4);
    const seen = received(v.socket, "presence");
    if (seen.length > 0) assert.deepEqual(seen[seen.length - 1], { agentsOnline: true }, `presence events: ${JSON.stringify(seen)}`);
    v.socket.disconnect();
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.equal(again.session.agentsOnline, true);
  });

  it("agentsOnline of one site does not depend on agents of another site", async () => {
    const other = await srv.siteWithAgent();
    assert.ok(other.agent.connected);
    const site = await srv.createSite();
    const { session } = await srv.visitor(site.siteKey);
    assert.equal(session.agentsOnline, false);
  });
});
