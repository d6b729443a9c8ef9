// A site's settings as its admins change them over /agent (`settings`, `updateSettings`): the
// next visitor connection's `session.site` carries them, a plain agent is refused, and one bad
// setting changes nothing.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, call, assertOk, assertError, expectConnectError } from "./support.mjs";

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.dispose();
});
afterEach(() => srv.closeClients());

async function adminOfNewSite() {
  const site = await srv.createSite("Acme Coffee");
  const boss = await srv.createAgent(site.siteKey, { role: "admin" });
  return { site, socket: (await srv.agent(boss.token)).socket };
}

describe("site settings", () => {
  it("settings shows the site's settings, defaults first", async () => {
    const { site, socket } = await adminOfNewSite();
    assert.deepEqual(assertOk(await call(socket, "settings", {})).settings, {
      siteKey: site.siteKey,
      name: "Acme Coffee",
      accentColor: null,
      greeting: null,
      awayMessage: null,
      prechatFields: ["name", "email"],
      prechatRequired: [],
      allowedOrigins: [],
    });
  });

  it("updateSettings changes what it is given, and the next visitor session carries it", async () => {
    const { site, socket } = await adminOfNewSite();
    const before = await srv.visitor(site.siteKey);
    const { settings } = assertOk(
      await call(socket, "updateSettings", {
        name: "Acme Roasters",
        accentColor: "#FF6600",
        greeting: "Hi there!\nAsk us anything.",
        awayMessage: "We're away, leave a message.",
        prechatFields: ["name", "email", "phone"],
        prechatRequired: ["email"],
      }),
    );
    assert.equal(settings.accentColor, "#ff6600");
    assert.deepEqual(settings.prechatRequired, ["email"]);
    const v = await srv.visitor(site.siteKey, { token: before.token });
    assert.deepEqual(v.session.site, {
      name: "Acme Roasters",
      prechatFields: ["name", "email", "phone"],
      prechatRequired: ["email"],
      allowedQueryParams: [],
      accentColor: "#ff6600",
      greeting: "Hi there!\nAsk us anything.",
      awayMessage: "We're away, leave a message.",
    });
    // Only the greeting: the rest stays; an empty text goes back to the default.
    assertOk(await call(socket, "updateSettings", { greeting: "" }));
    const after = assertOk(await call(socket, "settings", {})).settings;
    assert.equal(after.greeting, null);
    assert.equal(after.accentColor, "#ff6600");
    assert.equal(after.name, "Acme Roasters");
  });

  it("allowed origins apply to the next visitor handshake", async () => {
    const { site, socket } = await adminOfNewSite();
    assertOk(await call(socket, "updateSettings", { allowedOrigins: ["https://shop.example/"] }));
    const stranger = srv.socket("/visitor", { auth: { siteKey: site.siteKey }, extraHeaders: { Origin: "https://evil.example" } });
    await expectConnectError(stranger);
    await srv.visitor(site.siteKey, { extraHeaders: { Origin: "https://shop.example" } });
  });

  it("one bad setting is invalid and changes nothing", async () => {
    const { socket } = await adminOfNewSite();
    const before = assertOk(await call(socket, "settings", {})).settings;
    for (const bad of [
      { name: "Fine", accentColor: "orange" },
      { greeting: "x".repeat(501) },
      { awayMessage: "bell\u0007" },
      { prechatFields: ["name", "shoe size"] },
      { prechatRequired: ["phone"] },
      { prechatFields: ["name"], prechatRequired: ["email"] },
      { allowedOrigins: ["shop.example"] },
      { name: "   " },
      { accentColor: 12 },
    ]) {
      assertError(await call(socket, "updateSettings", bad), "invalid", JSON.stringify(bad));
    }
    assert.deepEqual(assertOk(await call(socket, "settings", {})).settings, before);
  });

  it("a plain agent is refused, and nothing changes", async () => {
    const { site, socket } = await adminOfNewSite();
    const ann = await srv.createAgent(site.siteKey);
    const annSocket = (await srv.agent(ann.token)).socket;
    assertError(await call(annSocket, "settings", {}), "forbidden");
    assertError(await call(annSocket, "updateSettings", { name: "Mine now" }), "forbidden");
    assert.equal(assertOk(await call(socket, "settings", {})).settings.name, "Acme Coffee");
  });

  it("the greeting is text, never HTML: it comes back exactly as written", async () => {
    const { site, socket } = await adminOfNewSite();
    const html = '<img src=x onerror="alert(1)"> & <b>bold</b>';
    assertOk(await call(socket, "updateSettings", { greeting: html }));
    assert.equal((await srv.visitor(site.siteKey)).session.site.greeting, html);
  });
});
