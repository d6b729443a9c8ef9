// The settings side of e-mail: a site's own sender (`mailFrom`) and whether the server sends
// e-mail at all (`emailEnabled`) in the site settings, and an agent's own address and its choice
// of offline-message e-mails in `profile`.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, call, assertOk, assertError } from "./support.mjs";
import { freePort } from "./smtp.mjs";

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.dispose();
});
afterEach(() => srv.closeClients());

async function adminOfNewSite(server = srv) {
  const site = await server.createSite("Acme Coffee");
  const boss = await server.createAgent(site.siteKey, { role: "admin" });
  return { site, boss, socket: (await server.agent(boss.token)).socket };
}

const settingsOf = async (socket) => assertOk(await call(socket, "settings", {})).settings;

describe("a site's own sender", () => {
  it("mailFrom is null by default, takes a name and an address or a bare address, and empty clears it", async () => {
    const { socket } = await adminOfNewSite();
    assert.equal((await settingsOf(socket)).mailFrom, null);
    const named = assertOk(await call(socket, "updateSettings", { mailFrom: "  Acme Support <support@acme.example> " }));
    assert.equal(named.settings.mailFrom, "Acme Support <support@acme.example>");
    assert.equal((await settingsOf(socket)).mailFrom, "Acme Support <support@acme.example>");
    // Another setting leaves it as it is.
    assert.equal(assertOk(await call(socket, "updateSettings", { greeting: "Hi" })).settings.mailFrom, "Acme Support <support@acme.example>");
    // A name with a comma is written quoted, as a mail header needs it.
    const quoted = assertOk(await call(socket, "updateSettings", { mailFrom: "Acme, Inc. <support@acme.example>" }));
    assert.equal(quoted.settings.mailFrom, '"Acme, Inc." <support@acme.example>');
    const bare = assertOk(await call(socket, "updateSettings", { mailFrom: "hello@acme.example" }));
    assert.equal(bare.settings.mailFrom, "hello@acme.example");
    assert.equal(assertOk(await call(socket, "updateSettings", { mailFrom: "" })).settings.mailFrom, null);
    assert.equal((await settingsOf(socket)).mailFrom, null);
  });

  it("a bad sender is invalid and changes nothing", async () => {
    const { socket } = await adminOfNewSite();
    assertOk(await call(socket, "updateSettings", { mailFrom: "Acme <support@acme.example>" }));
    const before = await settingsOf(socket);
    for (const bad of [
      "Acme",
      "Acme <not an address>",
      "Acme <>",
      "Acme <support@acme.example",
      'Ac"me <support@acme.example>',
      "Ac<me <support@acme.example>",
      "Ac\\me <support@acme.example>",
      "Acme <support:x@acme.example>",
      "Acme\r\nBcc: everyone@example.test <support@acme.example>",
      "a@acme.example, b@acme.example",
      `${"x".repeat(101)} <support@acme.example>`,
      42,
    ]) {
      assertError(await call(socket, "updateSettings", { greeting: "changed", mailFrom: bad }), "invalid", JSON.stringify(bad));
    }
    assert.deepEqual(await settingsOf(socket), before);
  });

  it("a plain agent may not change it", async () => {
    const { site, socket } = await adminOfNewSite();
    const ann = await srv.createAgent(site.siteKey);
    const annSocket = (await srv.agent(ann.token)).socket;
    assertError(await call(annSocket, "updateSettings", { mailFrom: "Ann <ann@acme.example>" }), "forbidden");
    assert.equal((await settingsOf(socket)).mailFrom, null);
  });

  it("parlor site update --mail-from sets it, shows it and empty clears it; a bad one is refused", async () => {
    const { site, socket } = await adminOfNewSite();
    const set = await srv.cli(["site", "update", site.siteKey, "--mail-from", "Acme Support <support@acme.example>"]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.json.mailFrom, "Acme Support <support@acme.example>");
    assert.equal((await settingsOf(socket)).mailFrom, "Acme Support <support@acme.example>");
    const refused = await srv.cli(["site", "update", site.siteKey, "--mail-from", "Acme <nowhere>"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /--mail-from/);
    assert.equal((await srv.cli(["site", "show", site.siteKey])).json.mailFrom, "Acme Support <support@acme.example>");
    assert.equal((await srv.cli(["site", "update", site.siteKey, "--mail-from", ""])).json.mailFrom, null);
  });
});

describe("whether the server sends e-mail", () => {
  it("emailEnabled is false without PARLOR_SMTP_URL, and cannot be set", async () => {
    const { socket } = await adminOfNewSite();
    assert.equal((await settingsOf(socket)).emailEnabled, false);
    const after = assertOk(await call(socket, "updateSettings", { emailEnabled: true, greeting: "Hi" })).settings;
    assert.equal(after.emailEnabled, false);
  });

  it("emailEnabled is true with PARLOR_SMTP_URL", async () => {
    // Nothing is sent here: the server only needs to know where it would send.
    const mailing = await startServer({ env: { PARLOR_SMTP_URL: `smtp://127.0.0.1:${await freePort()}` } });
    try {
      const { socket } = await adminOfNewSite(mailing);
      assert.equal((await settingsOf(socket)).emailEnabled, true);
    } finally {
      await mailing.dispose();
    }
  });
});

describe("an agent's e-mail settings", () => {
  it("profile {} answers the current address (none) and offline e-mails (on), changing nothing", async () => {
    const site = await srv.createSite();
    const ann = await srv.createAgent(site.siteKey, { name: "Ann" });
    const annSocket = (await srv.agent(ann.token)).socket;
    const { agent, token } = assertOk(await call(annSocket, "profile", {}));
    assert.deepEqual(agent, { id: ann.id, name: "Ann", siteId: ann.agent.siteId, role: "agent", email: null, offlineEmails: true });
    assert.equal(token, undefined);
  });

  it("profile sets the address and offline e-mails, and they survive a new connection; empty clears the address", async () => {
    const site = await srv.createSite();
    const ann = await srv.createAgent(site.siteKey);
    const annSocket = (await srv.agent(ann.token)).socket;
    const set = assertOk(await call(annSocket, "profile", { email: " ann@acme.example ", offlineEmails: false })).agent;
    assert.deepEqual([set.email, set.offlineEmails], ["ann@acme.example", false]);
    srv.closeClients();
    const again = (await srv.agent(ann.token)).socket;
    const now = assertOk(await call(again, "profile", {})).agent;
    assert.deepEqual([now.email, now.offlineEmails], ["ann@acme.example", false]);
    // One field at a time: the other stays.
    assert.deepEqual(
      (({ email, offlineEmails }) => [email, offlineEmails])(assertOk(await call(again, "profile", { offlineEmails: true })).agent),
      ["ann@acme.example", true],
    );
    assert.deepEqual(
      (({ email, offlineEmails }) => [email, offlineEmails])(assertOk(await call(again, "profile", { email: "" })).agent),
      [null, true],
    );
  });

  it("the address from agent create --email shows in the profile", async () => {
    const site = await srv.createSite();
    const username = `bob${Date.now()}`;
    const created = await srv.cli(["agent", "create", "--site", site.siteKey, "--username", username, "--name", "Bob", "--email", "bob@acme.example"], {
      env: { PARLOR_PASSWORD: "correct horse battery staple" },
    });
    assert.equal(created.code, 0, created.stderr);
    const login = await srv.login(username, "correct horse battery staple");
    const socket = (await srv.agent(login.body.token)).socket;
    assert.equal(assertOk(await call(socket, "profile", {})).agent.email, "bob@acme.example");
  });

  it("a bad address or choice is invalid and changes nothing, the name given with it included", async () => {
    const site = await srv.createSite();
    const ann = await srv.createAgent(site.siteKey, { name: "Ann" });
    const annSocket = (await srv.agent(ann.token)).socket;
    assertOk(await call(annSocket, "profile", { email: "ann@acme.example" }));
    for (const bad of [
      { email: "ann at acme", name: "Ann Changed" },
      { email: "ann@acme", offlineEmails: false },
      { email: "a b@acme.example" },
      { email: `${"a".repeat(250)}@acme.example` },
      { email: 7 },
      { offlineEmails: "no", name: "Ann Changed" },
    ]) {
      assertError(await call(annSocket, "profile", bad), "invalid", JSON.stringify(bad));
    }
    const now = assertOk(await call(annSocket, "profile", {})).agent;
    assert.deepEqual([now.name, now.email, now.offlineEmails], ["Ann", "ann@acme.example", true]);
  });
});
