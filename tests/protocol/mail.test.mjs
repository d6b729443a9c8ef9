// E-mail through a real SMTP server (smtp-server): the visitor's and the agent's `transcript`,
// and the outbox that delivers it exactly once whatever the SMTP server and Parlor go through.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, call, assertOk, assertError, visitorSay, agentSay, sleep, BACKEND, waitFor, PARLOR_BIN } from "./support.mjs";
import { smtpServer, freePort } from "./smtp.mjs";

let smtp;
let srv;
before(async () => {
  smtp = await smtpServer();
  srv = await startServer({ env: { PARLOR_SMTP_URL: smtp.url, PARLOR_MAIL_FROM: "Parlor <chat@parlor.test>" } });
});
after(async () => {
  await srv?.dispose();
  await smtp?.close();
});
afterEach(() => srv.closeClients());

/** A site with an agent and a visitor who gave `email`; the visitor's socket and session. */
let mailboxes = 0;
/** An address no other test writes to. */
const address = () => `visitor${++mailboxes}@example.test`;

async function conversation(server = srv, { email = address(), siteName } = {}) {
  const site = await server.createSite(siteName);
  const agent = await server.createAgent(site.siteKey, { name: "Ann Agent" });
  const agentSocket = (await server.agent(agent.token)).socket;
  const v = await server.visitor(site.siteKey);
  if (email) assertOk(await call(v.socket, "profile", { email }));
  return { site, agentSocket, v, conversationId: v.session.conversation.id };
}

describe("transcripts", () => {
  it("transcript e-mails the whole conversation to the visitor, as text and as HTML", async () => {
    const email = address();
    const { v, agentSocket, conversationId } = await conversation(srv, { email, siteName: "Acme Coffee" });
    assert.equal(v.session.site.transcripts, true, "the session says this server e-mails transcripts");
    await visitorSay(v.socket, "Do you ship to Lisbon?");
    await agentSay(agentSocket, conversationId, "Yes, in 3 days.\nAnything else?");
    assert.deepEqual(assertOk(await call(v.socket, "transcript", {})), { ok: true });
    const [mail] = await smtp.to(email);
    assert.equal(mail.from, '"Acme Coffee" <chat@parlor.test>');
    assert.match(mail.subject, /Acme Coffee/);
    assert.match(mail.text, /You \(.*\):\nDo you ship to Lisbon\?/);
    assert.match(mail.text, /Ann Agent \(.*\):\nYes, in 3 days\.\nAnything else\?/);
    assert.match(mail.html, /Do you ship to Lisbon\?/);
    assert.match(mail.raw, /Content-Type: multipart\/alternative/i);
    assert.ok(!/<img|<script|https?:\/\/[^"]*\.(gif|png)/i.test(mail.html), "no images, no tracking pixels");
  });

  it("text in the HTML part is escaped, never markup", async () => {
    const email = address();
    const { v } = await conversation(srv, { email });
    await visitorSay(v.socket, '<b>bold</b> <img src=x onerror="alert(1)"> & co');
    assertOk(await call(v.socket, "transcript", {}));
    const [mail] = await smtp.to(email);
    assert.ok(mail.html.includes("&lt;b&gt;bold&lt;/b&gt; &lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co"), mail.html);
    assert.ok(!mail.html.includes("<b>bold</b>"));
    assert.ok(mail.text.includes('<b>bold</b> <img src=x onerror="alert(1)"> & co'), "the text part is the text as written");
  });

  it("the site's contact address is the Reply-To; without one there is none", async () => {
    const email = address();
    const { site, v } = await conversation(srv, { email });
    const boss = await srv.createAgent(site.siteKey, { role: "admin" });
    const admin = (await srv.agent(boss.token)).socket;
    assertOk(await call(v.socket, "transcript", {}));
    const [plain] = await smtp.to(email);
    assert.equal(plain.headers.get("reply-to"), undefined);
    const { settings } = assertOk(await call(admin, "updateSettings", { contactEmail: "help@acme.example" }));
    assert.equal(settings.contactEmail, "help@acme.example");
    assertOk(await call(v.socket, "transcript", {}));
    const [, replied] = await smtp.to(email, 2);
    assert.equal(replied.headers.get("reply-to").text, "help@acme.example");
    assert.equal(assertOk(await call(admin, "updateSettings", { contactEmail: "" })).settings.contactEmail, null);
  });

  it("a site's own sender (mailFrom) is the From of its e-mails", async () => {
    const email = address();
    const { site, v } = await conversation(srv, { email });
    const updated = await srv.cli(["site", "update", site.siteKey, "--mail-from", "Acme Help <help@acme.test>"]);
    assert.equal(updated.code, 0, updated.stderr);
    assertOk(await call(v.socket, "transcript", {}));
    const [mail] = await smtp.to(email);
    assert.equal(mail.from, '"Acme Help" <help@acme.test>');
  });

  it("every e-mail of one conversation is in one thread", async () => {
    const email = address();
    const { v } = await conversation(srv, { email });
    assertOk(await call(v.socket, "transcript", {}));
    assertOk(await call(v.socket, "transcript", {}));
    const [a, b] = await smtp.to(email, 2);
    assert.notEqual(a.messageId, b.messageId);
    assert.equal(a.inReplyTo, b.inReplyTo);
    assert.equal(a.references, b.references);
    assert.match(a.inReplyTo, /^<conversation-.+@parlor\.test>$/);
  });

  it("without an e-mail address on the profile, transcript is invalid", async () => {
    const { v } = await conversation(srv, { email: null });
    assertError(await call(v.socket, "transcript", {}), "invalid");
  });

  it("a conversation gets at most 5 transcripts an hour (rate_limited)", async () => {
    const { v, agentSocket, conversationId } = await conversation();
    for (let i = 0; i < 4; i++) assertOk(await call(v.socket, "transcript", {}), `transcript ${i + 1}`);
    assertOk(await call(agentSocket, "transcript", { conversationId }), "the agent's counts too");
    assertError(await call(v.socket, "transcript", {}), "rate_limited");
    assertError(await call(agentSocket, "transcript", { conversationId }), "rate_limited");
  });

  it("an agent e-mails the transcript of its site's conversation; another site's is not_found", async () => {
    const [mine, theirs] = [address(), address()];
    const { agentSocket, conversationId } = await conversation(srv, { email: mine });
    const other = await conversation(srv, { email: theirs });
    assertError(await call(agentSocket, "transcript", { conversationId: other.conversationId }), "not_found");
    assertOk(await call(agentSocket, "transcript", { conversationId }));
    await smtp.to(mine);
    await sleep(500);
    assert.equal(smtp.mails.filter((m) => m.to === theirs).length, 0);
  });

  it("a server without PARLOR_SMTP_URL answers transcript with invalid", async () => {
    const plain = await startServer();
    try {
      const { v } = await conversation(plain);
      assert.equal(v.session.site.transcripts, false);
      const ack = await call(v.socket, "transcript", {});
      assertError(ack, "invalid");
      assert.match(JSON.stringify(ack), /e-mail/);
    } finally {
      await plain.dispose();
    }
  });
});

describe("configuration", () => {
  it("a bad PARLOR_SMTP_URL stops the start with its reason, and never shows the password", () => {
    const run = spawnSync(PARLOR_BIN, [], {
      env: {
        ...process.env,
        PARLOR_SMTP_URL: "ftp://parlor:hunter2secret@mail.example",
        PARLOR_DATABASE_URL: `sqlite://${join(mkdtempSync(join(tmpdir(), "parlor-smtp-")), "test.db")}`,
        PARLOR_LISTEN: "127.0.0.1:0",
        PARLOR_DEMO: "false",
        RUST_LOG: "info",
      },
      timeout: 10000,
    });
    const output = `${run.stdout}${run.stderr}`;
    assert.notEqual(run.status, 0, output);
    assert.match(output, /PARLOR_SMTP_URL: .*ftp/);
    assert.ok(!output.includes("hunter2secret"), output);
  });
});

describe("delivery", () => {
  /** A server whose SMTP server is not there yet: its port is free. */
  async function serverWithoutSmtp(env = {}) {
    const port = await freePort();
    const server = await startServer({ env: { PARLOR_SMTP_URL: `smtp://127.0.0.1:${port}`, ...env } });
    return { server, port };
  }

  it("an SMTP server down at first and up later gets the e-mail exactly once", async () => {
    const { server, port } = await serverWithoutSmtp();
    let late;
    try {
      const { v } = await conversation(server);
      assertOk(await call(v.socket, "transcript", {}));
      await sleep(3000); // tried and refused (connection refused) at least once
      late = await smtpServer(port);
      await late.nth(1, 20000);
      await sleep(3000);
      assert.equal(late.mails.length, 1);
      assert.equal(server.sql("SELECT status || ':' || CASE WHEN attempts > 1 THEN 'retried' ELSE 'first' END FROM outbox"), "sent:retried");
    } finally {
      await server.dispose();
      await late?.close();
    }
  });

  it("a temporary refusal (451) is retried; a permanent one (550) is not", async () => {
    const [later, nobody] = [address(), address()];
    smtp.refuse(451);
    const { v } = await conversation(srv, { email: later });
    try {
      assertOk(await call(v.socket, "transcript", {}));
      await sleep(2500);
      assert.equal(smtp.mails.filter((m) => m.to === later).length, 0);
    } finally {
      smtp.refuse(null);
    }
    await smtp.to(later, 1, 20000);

    smtp.refuse(550);
    try {
      const other = await conversation(srv, { email: nobody });
      assertOk(await call(other.v.socket, "transcript", {}));
      await waitFor(() => srv.sql(`SELECT status FROM outbox WHERE recipient = '${nobody}'`) === "failed", 10000, "the e-mail marked failed");
    } finally {
      smtp.refuse(null);
    }
    await sleep(2500);
    assert.equal(smtp.mails.filter((m) => m.to === nobody).length, 0);
  });

  it("an e-mail queued before Parlor is killed is sent once after it restarts", async () => {
    const { server, port } = await serverWithoutSmtp();
    let late;
    try {
      const { v } = await conversation(server);
      assertOk(await call(v.socket, "transcript", {}));
      await sleep(500);
      await server.kill9();
      late = await smtpServer(port);
      await server.restart();
      await late.nth(1, 20000);
      await sleep(3000);
      assert.equal(late.mails.length, 1);
    } finally {
      await server.dispose();
      await late?.close();
    }
  });

  it("two nodes on one PostgreSQL database send each e-mail once", { skip: BACKEND !== "postgres" && "two nodes sharing one database need PostgreSQL: run with PARLOR_TEST_BACKEND=postgres" }, async () => {
    const { server: first, port } = await serverWithoutSmtp();
    const second = await startServer({ env: { PARLOR_DATABASE_URL: first.databaseUrl, PARLOR_SMTP_URL: `smtp://127.0.0.1:${port}` } });
    let late;
    try {
      const visitors = [];
      for (let i = 0; i < 10; i++) {
        const node = i % 2 ? second : first;
        const { v } = await conversation(node, { email: `v${i}@example.test` });
        visitors.push(v);
        assertOk(await call(v.socket, "transcript", {}));
      }
      await sleep(2500); // both nodes are retrying every e-mail
      late = await smtpServer(port);
      await late.nth(10, 30000);
      await sleep(3000);
      const recipients = late.mails.map((m) => m.to).sort();
      assert.deepEqual(recipients, Array.from({ length: 10 }, (_, i) => `v${i}@example.test`).sort());
    } finally {
      await second.dispose();
      await first.dispose();
      await late?.close();
    }
  });
});
