// E-mail when one side has left, through a real SMTP server (smtp-server) and with delays of
// two seconds: agent replies the visitor leaves unread, visitor messages that arrive while no
// agent is online, the conversation link that continues a conversation on another device, and
// the one-click unsubscribe.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, call, assertOk, visitorSay, agentSay, sleep, BACKEND } from "./support.mjs";
import { smtpServer } from "./smtp.mjs";

const DELAY_SECS = 2;
/** Longer than a delay plus the scheduler's one-second look and the delivery. */
const PAST_DUE_MS = DELAY_SECS * 1000 + 3000;

const mailEnv = (smtp) => ({
  PARLOR_SMTP_URL: smtp.url,
  PARLOR_MAIL_FROM: "Parlor <chat@parlor.test>",
  PARLOR_MAIL_VISITOR_DELAY_SECS: String(DELAY_SECS),
  PARLOR_MAIL_AGENT_DELAY_SECS: String(DELAY_SECS),
});

let smtp;
let srv;
before(async () => {
  smtp = await smtpServer();
  srv = await startServer({ env: mailEnv(smtp) });
});
after(async () => {
  await srv?.dispose();
  await smtp?.close();
});
afterEach(() => srv.closeClients());

let mailboxes = 0;
/** An address no other test writes to. */
const address = (who = "visitor") => `${who}${++mailboxes}@example.test`;

/** A site whose agent is connected, and a visitor who gave an address. */
async function chatting(server = srv, { email = address(), siteName } = {}) {
  const site = await server.createSite(siteName);
  const agent = await server.createAgent(site.siteKey, { name: "Ann Agent" });
  const agentSocket = (await server.agent(agent.token)).socket;
  const v = await server.visitor(site.siteKey);
  if (email) assertOk(await call(v.socket, "profile", { email }));
  return { site, agentSocket, v, email, conversationId: v.session.conversation.id };
}

/** A site whose agents (with addresses) are all offline, and a connected visitor. */
async function unattended({ agents = 1 } = {}) {
  const site = await srv.createSite("Night Shop");
  const accounts = [];
  for (let i = 0; i < agents; i++) {
    const email = address("agent");
    accounts.push({ ...(await srv.createAgent(site.siteKey, { email })), email });
  }
  const v = await srv.visitor(site.siteKey);
  assertOk(await call(v.socket, "profile", { name: "Vera Visitor" }));
  return { site, accounts, v, conversationId: v.session.conversation.id };
}

const mailsTo = (to) => smtp.mails.filter((m) => m.to === to);
const linkIn = (mail, path) => {
  const found = new RegExp(`https?://[^\\s"<>]+/${path}/[A-Za-z0-9._-]+`).exec(mail.text);
  assert.ok(found, `a ${path} link in:\n${mail.text}`);
  return found[0];
};

describe("missed replies", () => {
  it("an agent reply the visitor leaves unread is e-mailed once, after the delay", async () => {
    const { v, agentSocket, conversationId, email } = await chatting(srv, { siteName: "Acme Coffee" });
    await visitorSay(v.socket, "Do you ship to Lisbon?");
    await agentSay(agentSocket, conversationId, 'Yes! <b>3 days</b> & "free"');
    await sleep(DELAY_SECS * 1000 - 800);
    assert.equal(mailsTo(email).length, 0, "nothing before the delay");
    const [mail] = await smtp.to(email, 1, PAST_DUE_MS);
    assert.equal(mail.subject, "New reply from Acme Coffee");
    assert.match(mail.text, /Ann Agent \(.*\):\nYes! <b>3 days<\/b> & "free"/);
    assert.ok(!mail.text.includes("Do you ship"), "only the unread replies");
    assert.match(mail.html, /Yes! &lt;b&gt;3 days&lt;\/b&gt; &amp; &quot;free&quot;/, "HTML escaped");
    assert.ok(!/<img/i.test(mail.html), "no images, no tracking pixels");
    linkIn(mail, "c");
    await sleep(PAST_DUE_MS);
    assert.equal(mailsTo(email).length, 1, "once");
  });

  it("three replies within the delay are one e-mail", async () => {
    const { v, agentSocket, conversationId, email } = await chatting();
    await visitorSay(v.socket, "Hello?");
    for (const text of ["One", "Two", "Three"]) await agentSay(agentSocket, conversationId, text);
    const [mail] = await smtp.to(email, 1, PAST_DUE_MS);
    assert.match(mail.subject, /^3 new replies from /);
    assert.match(mail.text, /One[\s\S]*Two[\s\S]*Three/);
    await sleep(PAST_DUE_MS);
    assert.equal(mailsTo(email).length, 1);
  });

  it("replies the visitor read in time are not e-mailed", async () => {
    const { v, agentSocket, conversationId, email } = await chatting();
    const reply = await agentSay(agentSocket, conversationId, "Read me now");
    assertOk(await call(v.socket, "read", { seq: reply.seq }));
    await sleep(PAST_DUE_MS + 1000);
    assert.equal(mailsTo(email).length, 0);
  });

  it("a reply after the e-mail gets an e-mail of its own, with only the new reply", async () => {
    const { agentSocket, conversationId, email } = await chatting();
    await agentSay(agentSocket, conversationId, "First answer");
    await smtp.to(email, 1, PAST_DUE_MS);
    await agentSay(agentSocket, conversationId, "Second answer");
    const [first, second] = await smtp.to(email, 2, PAST_DUE_MS);
    assert.match(second.text, /Second answer/);
    assert.ok(!second.text.includes("First answer"));
    assert.deepEqual(second.references, first.references, "one thread");
  });

  it("a visitor without an e-mail address gets none, and nothing else breaks", async () => {
    const { v, agentSocket, conversationId } = await chatting(srv, { email: null });
    const before = smtp.mails.length;
    await agentSay(agentSocket, conversationId, "Anyone there?");
    await sleep(PAST_DUE_MS);
    assert.equal(smtp.mails.length, before);
    assertOk(await call(v.socket, "profile", { email: address() }));
  });
});

describe("unsubscribe", () => {
  it("missed-reply e-mails carry a one-click List-Unsubscribe (RFC 8058)", async () => {
    const { agentSocket, conversationId, email } = await chatting();
    await agentSay(agentSocket, conversationId, "Hello from us");
    const [mail] = await smtp.to(email, 1, PAST_DUE_MS);
    assert.match(mail.raw, /^List-Unsubscribe: <https?:\/\/[^>]+\/unsubscribe\/[^>]+>\r?$/m);
    assert.match(mail.raw, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
  });

  it("the one-click POST stops missed-reply e-mails; the page's GET alone does not", async () => {
    const { v, agentSocket, conversationId, email } = await chatting(srv, { siteName: "Tea & <Co>" });
    await agentSay(agentSocket, conversationId, "First");
    const [mail] = await smtp.to(email, 1, PAST_DUE_MS);
    const url = /^List-Unsubscribe: <([^>]+)>/m.exec(mail.raw)[1];

    const page = await fetch(url);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Tea &amp; &lt;Co&gt;/, "the site's name escaped");
    assert.match(html, /<form method="post">/);
    await agentSay(agentSocket, conversationId, "Second");
    await smtp.to(email, 2, PAST_DUE_MS);

    const oneClick = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    assert.equal(oneClick.status, 200);
    await agentSay(agentSocket, conversationId, "Third");
    await sleep(PAST_DUE_MS);
    assert.equal(mailsTo(email).length, 2, "no e-mail after unsubscribing");
    assertOk(await call(v.socket, "transcript", {}));
    await smtp.to(email, 3, 15000); // a transcript asked for is still sent
  });

  it("a forged or malformed unsubscribe link is 404 and changes nothing", async () => {
    for (const token of ["x.y.z", "nope", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA"]) {
      const res = await fetch(`${srv.url}/unsubscribe/${token}`, { method: "POST" });
      assert.equal(res.status, 404, token);
    }
  });
});

describe("offline messages to agents", () => {
  it("visitor messages while no agent is online are e-mailed to each agent, once, batched", async () => {
    const { v, accounts, conversationId } = await unattended({ agents: 2 });
    await visitorSay(v.socket, "Is anyone there?");
    await visitorSay(v.socket, "<i>Hello</i>?");
    for (const { email } of accounts) {
      const [mail] = await smtp.to(email, 1, PAST_DUE_MS);
      assert.match(mail.subject, /^2 messages from Vera Visitor to Night Shop/);
      assert.match(mail.text, /Vera Visitor \(.*\):\nIs anyone there\?/);
      assert.match(mail.html, /&lt;i&gt;Hello&lt;\/i&gt;\?/);
      assert.ok(mail.text.includes(`/admin/conversations/${conversationId}`), "links to the conversation");
    }
    await sleep(PAST_DUE_MS);
    for (const { email } of accounts) assert.equal(mailsTo(email).length, 1);
  });

  it("a visitor message while an agent is online e-mails nobody", async () => {
    const { v, accounts } = await unattended();
    const online = await srv.agent(accounts[0].token);
    await visitorSay(v.socket, "Hi");
    await online.socket.disconnect();
    await sleep(PAST_DUE_MS);
    assert.equal(mailsTo(accounts[0].email).length, 0);
  });

  it("messages an agent read in time are not e-mailed", async () => {
    const { v, accounts, conversationId } = await unattended();
    const said = await visitorSay(v.socket, "Quick question");
    const agent = await srv.agent(accounts[0].token);
    assertOk(await call(agent.socket, "read", { conversationId, seq: said.seq }));
    await agent.socket.disconnect();
    await sleep(PAST_DUE_MS);
    assert.equal(mailsTo(accounts[0].email).length, 0);
  });

  it("disabled agents and agents without an address get none", async () => {
    const { v, accounts, site } = await unattended({ agents: 2 });
    await srv.createAgent(site.siteKey, { login: false }); // no address
    assert.equal((await srv.cli(["agent", "disable", "--username", accounts[1].username])).code, 0);
    await visitorSay(v.socket, "Hello");
    await smtp.to(accounts[0].email, 1, PAST_DUE_MS);
    await sleep(1000);
    assert.equal(mailsTo(accounts[1].email).length, 0);
    assert.equal(smtp.mails.filter((m) => m.subject?.includes("to Night Shop") && m.text.includes(v.session.conversation.id)).length, 1, "only the one agent");
  });
});

describe("conversation links", () => {
  async function linkFromAMissedReply() {
    const chat = await chatting();
    await visitorSay(chat.v.socket, "Earlier question");
    await agentSay(chat.agentSocket, chat.conversationId, "The answer");
    const [mail] = await smtp.to(chat.email, 1, PAST_DUE_MS);
    return { ...chat, link: linkIn(mail, "c") };
  }

  it("the e-mail's link continues the conversation on another device", async () => {
    const { site, link, conversationId, agentSocket } = await linkFromAMissedReply();
    const token = link.split("/c/")[1];
    const elsewhere = await srv.visitor(site.siteKey, { token });
    assert.equal(elsewhere.session.conversation.id, conversationId);
    assert.deepEqual(elsewhere.session.messages.map((m) => m.text), ["Earlier question", "The answer"]);
    assert.equal(elsewhere.session.token, token, "the link is this device's token");
    const heard = new Promise((resolve) => agentSocket.on("message", resolve));
    await visitorSay(elsewhere.socket, "Sent from my phone");
    assert.equal((await heard).text, "Sent from my phone");
    const again = await srv.visitor(site.siteKey, { token });
    assert.equal(again.session.conversation.id, conversationId, "and again on reconnect");
  });

  it("a link is no token for another site, and a forged one starts afresh", async () => {
    const { link, conversationId } = await linkFromAMissedReply();
    const token = link.split("/c/")[1];
    const other = await srv.createSite();
    const there = await srv.visitor(other.siteKey, { token });
    assert.notEqual(there.session.conversation.id, conversationId);
    assert.notEqual(there.session.token, token);
    const [head, claims] = token.split(".");
    const forged = `${head}.${claims}.${"A".repeat(43)}`;
    const { site } = await chatting();
    const fresh = await srv.visitor(site.siteKey, { token: forged });
    assert.equal(fresh.session.messages.length, 0);
  });

  it("the server's own pages pass a site's origin allowlist; other origins do not", async () => {
    const site = await srv.createSite(undefined, { allowedOrigins: ["https://shop.example"] });
    const own = await srv.visitor(site.siteKey, { extraHeaders: { origin: srv.url } });
    assert.ok(own.session.conversation.id);
    await assert.rejects(
      srv.visitor(site.siteKey, { extraHeaders: { origin: "https://evil.example" } }),
      /origin_not_allowed/,
    );
  });
});

describe("in a cluster", () => {
  it("two nodes on one PostgreSQL database send a missed reply once", { skip: BACKEND !== "postgres" && "two nodes sharing one database need PostgreSQL: run with PARLOR_TEST_BACKEND=postgres" }, async () => {
    const second = await startServer({ env: { ...mailEnv(smtp), PARLOR_DATABASE_URL: srv.databaseUrl } });
    try {
      const emails = [];
      for (let i = 0; i < 6; i++) {
        const { agentSocket, conversationId, email } = await chatting(i % 2 ? second : srv);
        await agentSay(agentSocket, conversationId, `Reply ${i}`);
        emails.push(email);
      }
      for (const email of emails) await smtp.to(email, 1, PAST_DUE_MS);
      await sleep(PAST_DUE_MS);
      for (const email of emails) assert.equal(mailsTo(email).length, 1, email);
    } finally {
      await second.dispose();
    }
  });
});
