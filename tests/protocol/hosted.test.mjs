// The hosted pages: `GET /c/{token}` (a conversation link from an e-mail) and
// `GET /chat/{siteKey}`. Valid links are taken from a transcript e-mail, received by a real SMTP
// server (smtp.mjs).
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { startServer, call, assertOk, visitorSay, unique } from "./support.mjs";
import { smtpServer } from "./smtp.mjs";

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

const NOT_VALID = "This link has expired or is not valid";

let mailboxes = 0;

/**
 * A visitor of a new site (named `siteName`) who wrote a message and asked for the transcript;
 * resolves with { site, v, link } where `link` is the path `/c/TOKEN` from the e-mail and
 * `token` its token.
 */
async function linkFromTranscript(server = srv, { siteName = unique("site"), allowedOrigins } = {}) {
  const email = `hosted${++mailboxes}-${process.pid}@example.test`;
  const site = await server.createSite(siteName, { allowedOrigins });
  const v = await server.visitor(site.siteKey, allowedOrigins ? { extraHeaders: { Origin: allowedOrigins[0] } } : {});
  assertOk(await call(v.socket, "profile", { email }));
  await visitorSay(v.socket, "Where is my order?");
  assertOk(await call(v.socket, "transcript", {}));
  const [mail] = await smtp.to(email);
  const m = /\/c\/([^\s"'<>()\[\]]+)/.exec(mail.text);
  assert.ok(m, `the transcript e-mail carries a /c/ link:\n${mail.text}`);
  assert.ok(mail.html.includes(`/c/${m[1]}`), "the HTML part carries the same link");
  return { site, v, link: `/c/${m[1]}`, token: decodeURIComponent(m[1]) };
}

/** The `<script>` tags of a page, as { attribute: value } (values unescaped). */
function scripts(html) {
  return [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map(([, attrs, body]) => {
    const a = { body };
    for (const [, name, value] of attrs.matchAll(/([\w-]+)(?:="([^"]*)")?/g)) a[name] = unescape(value ?? "");
    return a;
  });
}
const unescape = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");

/** The headers every hosted page carries, 200 or 404. */
function assertHardened(res, what) {
  assert.match(res.headers.get("content-type") ?? "", /^text\/html; charset=utf-8$/i, what);
  const csp = res.headers.get("content-security-policy") ?? "";
  assert.match(csp, /(^|;)\s*script-src 'self'\s*(;|$)/, `${what}: scripts of this server only: ${csp}`);
  assert.match(csp, /(^|;)\s*default-src 'none'/, `${what}: ${csp}`);
  assert.match(csp, /frame-ancestors 'none'/, `${what}: ${csp}`);
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `${what}: ${csp}`);
  assert.equal(res.headers.get("x-frame-options"), "DENY", what);
  assert.equal(res.headers.get("referrer-policy"), "no-referrer", what);
  assert.equal(res.headers.get("cache-control"), "no-store", what);
}

/** A page that runs the widget full page for `siteKey`; its script tag. */
function assertWidgetPage(res, siteKey, what) {
  assert.equal(res.status, 200, `${what}: ${res.text.slice(0, 300)}`);
  assertHardened(res, what);
  assert.match(res.text, /<meta name="viewport" content="width=device-width, initial-scale=1[^"]*">/, `${what}: mobile viewport`);
  const all = scripts(res.text);
  assert.equal(all.length, 1, `${what}: one script tag`);
  const [widget] = all;
  assert.equal(widget.src, "/widget.js");
  assert.equal(widget.body, "", "no inline script");
  assert.equal(widget["data-site"], siteKey);
  assert.equal(widget["data-mode"], "page");
  return widget;
}

async function assertNotValid(path, what) {
  const res = await srv.http("GET", path);
  assert.equal(res.status, 404, `${what}: ${path} answered ${res.status}`);
  assertHardened(res, what);
  assert.ok(res.text.includes(NOT_VALID), `${what}: ${res.text}`);
  assert.ok(!/<script/i.test(res.text), `${what}: no widget on the 404 page`);
  return res.text;
}

describe("hosted pages", () => {
  it("GET /chat/{siteKey} runs the widget full page for the site, under the strict headers", async () => {
    const name = unique("Acme Coffee");
    const site = await srv.createSite(name);
    const res = await srv.http("GET", `/chat/${site.siteKey}`);
    const widget = assertWidgetPage(res, site.siteKey, "/chat/");
    assert.equal(widget["data-token"], undefined, "no conversation link: the browser's own conversation");
    assert.ok(res.text.includes(`<title>${name}</title>`), "the site's name is the title");
  });

  it("GET /chat/ with a key no site has, or no key at all, answers the 404 page", async () => {
    const a = await assertNotValid("/chat/pk_nosuchsiteatall000000", "unknown key");
    await assertNotValid(`/chat/${"k".repeat(65)}`, "a key longer than any");
    await assertNotValid("/chat/pk_a%20b%3Cscript%3E", "a key with other characters");
    const b = await assertNotValid(`/c/${"x".repeat(40)}`, "a link token that is not one");
    assert.equal(a, b, "one page for every dead end");
  });

  it("the page escapes the site's name", async () => {
    const name = `<script>alert("x")</script> & "co"`;
    const site = await srv.createSite(name);
    const res = await srv.http("GET", `/chat/${site.siteKey}`);
    assertWidgetPage(res, site.siteKey, "a site named <script>");
    assert.ok(!res.text.includes("<script>alert"), res.text);
    assert.ok(res.text.includes("<title>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;co&quot;</title>"), res.text);
  });

  it("a link from a transcript e-mail opens a page that runs the widget in that conversation", async () => {
    const name = unique("Juniper & Oak");
    const { site, v, link, token } = await linkFromTranscript(srv, { siteName: name });
    const res = await srv.http("GET", link);
    const widget = assertWidgetPage(res, site.siteKey, "/c/");
    assert.equal(widget["data-token"], token, "the page hands the link's token to the widget");
    assert.ok(res.text.includes(`<title>${name.replace("&", "&amp;")}</title>`));
    // What the widget then does: the handshake with the page's key and token, from this server's
    // own origin, joins the conversation.
    const there = await srv.visitor(widget["data-site"], { token: widget["data-token"], extraHeaders: { Origin: srv.url } });
    assert.equal(there.session.conversation.id, v.session.conversation.id);
    assert.ok(there.session.messages.some((m) => m.text === "Where is my order?"), "the earlier messages");
  });

  it("a link's page is admitted to a site with an origin allowlist (the page is on this server's origin)", async () => {
    const { site, v, token } = await linkFromTranscript(srv, { allowedOrigins: ["https://shop.example"] });
    const there = await srv.visitor(site.siteKey, { token, extraHeaders: { Origin: srv.url } });
    assert.equal(there.session.conversation.id, v.session.conversation.id);
  });

  it("GET /c/ with a forged, tampered or malformed token, or another kind of token, answers the 404 page", async () => {
    const { token } = await linkFromTranscript();
    // One character of the link changed, at the end and in the middle: its high bit flipped, so
    // that the bytes it stands for change (not only a base64 character's unused low bits).
    const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const flip = (s, i) => {
      while (B64.indexOf(s[i]) < 0) i -= 1;
      return s.slice(0, i) + B64[B64.indexOf(s[i]) ^ 32] + s.slice(i + 1);
    };
    await assertNotValid(`/c/${encodeURIComponent(flip(token, token.length - 1))}`, "the last character changed");
    await assertNotValid(`/c/${encodeURIComponent(flip(token, token.length >> 1))}`, "a middle character changed");
    await assertNotValid(`/c/${encodeURIComponent(token.slice(0, -4))}`, "cut short");
    await assertNotValid(`/c/${encodeURIComponent(token)}x`, "one character more");
    await assertNotValid("/c/%00%01%3Cscript%3E", "control characters and markup");
    await assertNotValid(`/c/${"a.".repeat(2000)}`, "a very long one");
    // Secrets of another kind are no links: a visitor's own token and an agent's login token.
    const site = await srv.createSite();
    const visitor = await srv.visitor(site.siteKey);
    await assertNotValid(`/c/${encodeURIComponent(visitor.token)}`, "a visitor token");
    const agent = await srv.createAgent(site.siteKey);
    await assertNotValid(`/c/${encodeURIComponent(agent.token)}`, "an agent's login token");
  });

  it("GET /c/ with a link that another server signed answers the 404 page", async () => {
    const other = await startServer({ env: { PARLOR_SMTP_URL: smtp.url, PARLOR_MAIL_FROM: "Parlor <chat@parlor.test>" } });
    try {
      const { link } = await linkFromTranscript(other);
      assert.equal((await other.http("GET", link)).status, 200, "valid where it was made");
      await assertNotValid(link, "a link of another server");
    } finally {
      await other.dispose();
    }
  });
});
