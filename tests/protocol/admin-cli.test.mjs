// Running Parlor without SQL, from the command line: roles (`admin` or `agent`, in the login
// answer), the rule that a site keeps at least one enabled admin, and `site show|update|delete`
// on the database of a running server, which the next handshake sees.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, expectConnectError, visitorSay, unique } from "./support.mjs";

let srv;
before(async () => {
  srv = await startServer();
});
after(async () => {
  await srv?.dispose();
});
afterEach(() => srv.closeClients());

/** Runs `parlor ARGS` and expects it to succeed; its JSON output. */
async function ok(args) {
  const r = await srv.cli(args);
  assert.equal(r.code, 0, `parlor ${args.join(" ")}: ${r.stderr}`);
  return r.json;
}

/** Runs `parlor ARGS` and expects a refusal: non-zero exit, a message, no output. */
async function refused(args, message) {
  const r = await srv.cli(args);
  assert.notEqual(r.code, 0, `parlor ${args.join(" ")} succeeded`);
  assert.match(r.stderr, message);
  assert.equal(r.stdout.trim(), "");
}

const roles = async (siteKey) =>
  Object.fromEntries((await ok(["agent", "list", "--site", siteKey])).map((a) => [a.username, `${a.role}${a.disabled ? " (disabled)" : ""}`]));

describe("roles", () => {
  it("agent create --role admin makes an admin, and the login answer says so", async () => {
    const site = await srv.createSite();
    const boss = await srv.createAgent(site.siteKey, { role: "admin" });
    const helper = await srv.createAgent(site.siteKey);
    assert.equal(boss.agent.role, "admin");
    assert.equal(helper.agent.role, "agent");
    assert.deepEqual(await roles(site.siteKey), { [boss.username]: "admin", [helper.username]: "agent" });
  });

  it("agent role promotes and demotes, and the next login carries the new role", async () => {
    const site = await srv.createSite();
    const boss = await srv.createAgent(site.siteKey, { role: "admin", login: false });
    const ann = await srv.createAgent(site.siteKey, { login: false });
    await ok(["agent", "role", "--username", ann.username, "admin"]);
    assert.equal((await srv.login(ann.username, ann.password)).body.agent.role, "admin");
    await ok(["agent", "role", "--username", boss.username, "agent"]);
    assert.equal((await srv.login(boss.username, boss.password)).body.agent.role, "agent");
    assert.deepEqual(await roles(site.siteKey), { [boss.username]: "agent", [ann.username]: "admin" });
  });

  it("an unknown role is refused by the command line", async () => {
    const site = await srv.createSite();
    const ann = await srv.createAgent(site.siteKey, { login: false });
    const r = await srv.cli(["agent", "role", "--username", ann.username, "owner"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /owner/);
  });

  it("agent create --email takes an address and refuses what is not one", async () => {
    const site = await srv.createSite();
    const created = await srv.cli(
      ["agent", "create", "--site", site.siteKey, "--username", unique("mail"), "--name", "Mail", "--email", "ann@shop.example"],
      { env: { PARLOR_PASSWORD: "long enough password" } },
    );
    assert.equal(created.code, 0, created.stderr);
    const bad = await srv.cli(
      ["agent", "create", "--site", site.siteKey, "--username", unique("mail"), "--name", "Mail", "--email", "not an address"],
      { env: { PARLOR_PASSWORD: "long enough password" } },
    );
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /e-mail/);
  });
});

describe("a site keeps at least one enabled admin", () => {
  it("its last enabled admin cannot be demoted, disabled or deleted, and nothing changes", async () => {
    const site = await srv.createSite();
    const boss = await srv.createAgent(site.siteKey, { role: "admin", login: false });
    const ann = await srv.createAgent(site.siteKey, { login: false });
    for (const args of [
      ["agent", "role", "--username", boss.username, "agent"],
      ["agent", "disable", "--username", boss.username],
      ["agent", "delete", "--username", boss.username, "--yes"],
    ]) {
      await refused(args, /last enabled admin/);
    }
    assert.deepEqual(await roles(site.siteKey), { [boss.username]: "admin", [ann.username]: "agent" });
    assert.equal((await srv.login(boss.username, boss.password)).status, 200);

    // With a second admin, the first may go.
    await ok(["agent", "role", "--username", ann.username, "admin"]);
    await ok(["agent", "disable", "--username", boss.username]);
    // A disabled admin does not count: the other is now the last one.
    await refused(["agent", "role", "--username", ann.username, "agent"], /last enabled admin/);
    await ok(["agent", "enable", "--username", boss.username]);
    await ok(["agent", "delete", "--username", ann.username, "--yes"]);
    assert.deepEqual(await roles(site.siteKey), { [boss.username]: "admin" });
  });

  it("two admins demoting each other at the same moment leave exactly one admin", async () => {
    for (let round = 0; round < 5; round++) {
      const site = await srv.createSite();
      const a = await srv.createAgent(site.siteKey, { role: "admin", login: false });
      const b = await srv.createAgent(site.siteKey, { role: "admin", login: false });
      const results = await Promise.all([
        srv.cli(["agent", "role", "--username", a.username, "agent"]),
        srv.cli(["agent", "role", "--username", b.username, "agent"]),
      ]);
      assert.deepEqual(results.map((r) => r.code === 0).sort(), [false, true], results.map((r) => r.stderr).join("\n"));
      const admins = Object.values(await roles(site.siteKey)).filter((r) => r === "admin");
      assert.equal(admins.length, 1, `round ${round}`);
    }
  });

  it("the rule is per site: another site's admin does not count", async () => {
    const site = await srv.createSite();
    const other = await srv.createSite();
    const boss = await srv.createAgent(site.siteKey, { role: "admin", login: false });
    await srv.createAgent(other.siteKey, { role: "admin", login: false });
    await refused(["agent", "role", "--username", boss.username, "agent"], /last enabled admin/);
  });
});

describe("site show, update and delete", () => {
  it("site show prints the site's settings", async () => {
    const name = unique("shown");
    const site = await srv.createSite(name, { allowedOrigins: ["https://shop.example"] });
    assert.deepEqual(await ok(["site", "show", site.siteKey]), {
      id: site.id,
      siteKey: site.siteKey,
      name,
      allowedOrigins: ["https://shop.example"],
      prechatFields: ["name", "email"],
      allowedQueryParams: [],
      mailFrom: null,
    });
  });

  it("site update changes only what it is given, and the next visitor handshake sees it", async () => {
    const site = await srv.createSite(unique("before"), { allowedOrigins: ["https://old.example"] });
    const renamed = unique("after");
    const updated = await ok([
      "site", "update", site.siteKey,
      "--name", renamed,
      "--allowed-origin", "https://new.example/",
      "--prechat-fields", "phone",
    ]);
    assert.deepEqual(updated, {
      id: site.id,
      siteKey: site.siteKey,
      name: renamed,
      allowedOrigins: ["https://new.example"],
      prechatFields: ["phone"],
      allowedQueryParams: [],
      mailFrom: null,
    });
    // The running server reads the site on every handshake: no restart, no cache to wait for.
    const oldOrigin = srv.socket("/visitor", { auth: { siteKey: site.siteKey }, extraHeaders: { Origin: "https://old.example" } });
    await expectConnectError(oldOrigin);
    const v = await srv.visitor(site.siteKey, { extraHeaders: { Origin: "https://new.example" } });
    assert.equal(v.session.site.name, renamed);
    assert.deepEqual(v.session.site.prechatFields, ["phone"]);

    // Only the name: the lists stay. `""` empties a list.
    await ok(["site", "update", site.siteKey, "--name", "Just the name"]);
    assert.deepEqual((await ok(["site", "show", site.siteKey])).allowedOrigins, ["https://new.example"]);
    await ok(["site", "update", site.siteKey, "--allowed-origin", "", "--prechat-fields", ""]);
    const cleared = await ok(["site", "show", site.siteKey]);
    assert.deepEqual([cleared.allowedOrigins, cleared.prechatFields, cleared.name], [[], [], "Just the name"]);
  });

  it("bad settings are refused and change nothing", async () => {
    const site = await srv.createSite();
    const before = await ok(["site", "show", site.siteKey]);
    await refused(["site", "update", site.siteKey, "--prechat-fields", "name,shoe-size"], /pre-chat field/);
    await refused(["site", "update", site.siteKey, "--name", "  "], /--name/);
    await refused(["site", "update", site.siteKey, "--allowed-query-param", "a=b"], /allowed-query-param/);
    assert.deepEqual(await ok(["site", "show", site.siteKey]), before);
  });

  it("site delete refuses without --yes off a terminal, then removes the site and everything of it", async () => {
    const site = await srv.createSite();
    const keep = await srv.createSite();
    const agent = await srv.createAgent(site.siteKey, { role: "admin" });
    const v = await srv.visitor(site.siteKey);
    await visitorSay(v.socket, "soon gone");
    const kept = await srv.visitor(keep.siteKey);
    await visitorSay(kept.socket, "still here");

    await refused(["site", "delete", site.siteKey], /--yes/);
    await ok(["site", "show", site.siteKey]);
    await ok(["site", "delete", site.siteKey, "--yes"]);

    await refused(["site", "show", site.siteKey], /no site/);
    assert.equal((await srv.login(agent.username, agent.password)).status, 401);
    const gone = srv.socket("/visitor", { auth: { siteKey: site.siteKey } });
    assert.equal((await expectConnectError(gone)).message, "unknown_site");
    const count = (sql) => Number(srv.sql(sql));
    assert.equal(count(`SELECT COUNT(*) FROM conversations WHERE site_id = '${site.id}'`), 0);
    assert.equal(count(`SELECT COUNT(*) FROM visitors WHERE site_id = '${site.id}'`), 0);
    assert.equal(count(`SELECT COUNT(*) FROM agents WHERE site_id = '${site.id}'`), 0);
    // The other site is untouched.
    const again = await srv.visitor(keep.siteKey, { token: kept.token });
    assert.deepEqual(again.session.messages.map((m) => m.text), ["still here"]);
  });

  it("commands on an unknown site fail with a message and no output", async () => {
    for (const args of [
      ["site", "show", "pk_nope"],
      ["site", "update", "pk_nope", "--name", "x"],
      ["site", "delete", "pk_nope", "--yes"],
      ["agent", "role", "--username", unique("ghost"), "admin"],
    ]) {
      await refused(args, /no (site|agent)/);
    }
  });
});
