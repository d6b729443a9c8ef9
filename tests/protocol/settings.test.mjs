// A site's settings as its admins change them over /agent (`settings`, `updateSettings`): the
// next visitor connection's `session.site` carries them, a plain agent is refused, and one bad
// setting changes nothing.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, call, assertOk, assertError, expectConnectError, nextEvent } from "./support.mjs";

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
      officeHours: null,
      contactEmail: null,
      mailFrom: null,
      emailEnabled: false,
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
      officeHours: null,
      transcripts: false,
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
      { officeHours: { timeZone: "Mars/Olympus", weekly: [] } },
      { officeHours: { timeZone: "UTC", weekly: [{ day: "monday", from: "09:00", to: "17:00" }] } },
      { officeHours: { timeZone: "UTC", weekly: [{ day: "mon", from: "17:00", to: "09:00" }] } },
      { officeHours: { timeZone: "UTC", weekly: [{ day: "mon", from: "9:00", to: "17:00" }] } },
      { officeHours: { timeZone: "UTC", weekly: [{ day: "mon", from: "09:00", to: "24:30" }] } },
      { officeHours: { timeZone: "UTC", weekly: Array(51).fill({ day: "mon", from: "09:00", to: "10:00" }) } },
      { officeHours: { weekly: [] } },
      { officeHours: "9 to 5" },
      { contactEmail: "support at acme" },
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

  describe("office hours", () => {
    const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    // Hours of `zone` that open at the next full hour (UTC) and close an hour later, on every
    // day: closed now, opening soon, whatever the day the test runs.
    function nextHour() {
      const opens = new Date(Math.ceil((Date.now() + 1000) / 3_600_000) * 3_600_000);
      const hh = String(opens.getUTCHours()).padStart(2, "0");
      const to = opens.getUTCHours() === 23 ? "24:00" : `${String(opens.getUTCHours() + 1).padStart(2, "0")}:00`;
      return { opens, weekly: DAYS.map((day) => ({ day, from: `${hh}:00`, to })) };
    }

    it("are always open by default (null), and the session says so", async () => {
      const { site } = await adminOfNewSite();
      assert.equal((await srv.visitor(site.siteKey)).session.site.officeHours, null);
    });

    it("outside them the session says closed and when the team is back", async () => {
      const { site, socket } = await adminOfNewSite();
      const { opens, weekly } = nextHour();
      const hours = { timeZone: "UTC", weekly };
      assert.deepEqual(assertOk(await call(socket, "updateSettings", { officeHours: hours })).settings.officeHours, hours);
      const { session } = await srv.visitor(site.siteKey);
      assert.deepEqual(session.site.officeHours, {
        ...hours,
        open: false,
        opensAt: opens.toISOString().replace(".000Z", "Z"),
        closesAt: null,
      });
    });

    it("within them the session says open and when they end", async () => {
      const { site, socket } = await adminOfNewSite();
      const weekly = DAYS.map((day) => ({ day, from: "00:00", to: "24:00" }));
      // Every day but the one after tomorrow: open now, closing at that day's midnight.
      const skip = new Date(Date.now() + 2 * 86_400_000);
      const skipDay = DAYS[(skip.getUTCDay() + 6) % 7];
      const hours = { timeZone: "UTC", weekly: weekly.filter((r) => r.day !== skipDay) };
      assertOk(await call(socket, "updateSettings", { officeHours: hours }));
      const { officeHours } = (await srv.visitor(site.siteKey)).session.site;
      assert.equal(officeHours.open, true);
      assert.equal(officeHours.opensAt, null);
      assert.equal(officeHours.closesAt, `${skip.toISOString().slice(0, 10)}T00:00:00Z`);
    });

    it("follow the site's time zone", async () => {
      const { site, socket } = await adminOfNewSite();
      const { opens } = nextHour();
      // Kathmandu is UTC+05:45 all year: the next full UTC hour is a quarter to in local time.
      const local = (opens.getUTCHours() * 60 + 5 * 60 + 45) % (24 * 60);
      const clock = (m) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
      const weekly = DAYS.map((day) => ({ day, from: clock(local), to: clock(Math.min(local + 30, 24 * 60)) }));
      assertOk(await call(socket, "updateSettings", { officeHours: { timeZone: "Asia/Kathmandu", weekly } }));
      const { officeHours } = (await srv.visitor(site.siteKey)).session.site;
      assert.equal(officeHours.open, false);
      assert.equal(officeHours.opensAt, opens.toISOString().replace(".000Z", "Z"));
    });

    it("null goes back to always open, and a setting not given leaves them as they are", async () => {
      const { socket } = await adminOfNewSite();
      const hours = { timeZone: "Europe/Berlin", weekly: [{ day: "mon", from: "09:00", to: "17:00" }] };
      assertOk(await call(socket, "updateSettings", { officeHours: hours }));
      assert.deepEqual(assertOk(await call(socket, "updateSettings", { greeting: "Hi" })).settings.officeHours, hours);
      assert.equal(assertOk(await call(socket, "updateSettings", { officeHours: null })).settings.officeHours, null);
    });

    it("outside them the visitor's messages still reach the agents", async () => {
      const { site, socket } = await adminOfNewSite();
      assertOk(await call(socket, "updateSettings", { officeHours: { timeZone: "UTC", weekly: [] } }));
      const v = await srv.visitor(site.siteKey);
      assert.equal(v.session.site.officeHours.open, false);
      const [, ack] = await Promise.all([
        nextEvent(socket, "message", (m) => m.text === "Anyone there?"),
        call(v.socket, "send", { text: "Anyone there?", clientId: "after-hours-1" }),
      ]);
      assertOk(ack);
    });
  });
});
