// Files in the chat (docs/protocol.md, "Files"): uploads over HTTP, attachments on `send` and on
// every message, authorized downloads, signed paths, safe serving and the limits.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import {
  startServer,
  call,
  assertOk,
  assertError,
  nextEvent,
  expectNoEvent,
  cid,
  sleep,
  unique,
} from "./support.mjs";
import { png, bomb } from "./files.mjs";

const MAX = 1024 * 1024; // PARLOR_UPLOAD_MAX_BYTES of the shared server
let srv;
before(async () => {
  srv = await startServer({ env: { PARLOR_UPLOAD_MAX_BYTES: String(MAX), PARLOR_UPLOAD_URL_TTL_SECS: "3" } });
});
after(() => srv?.dispose());
afterEach(() => srv.closeClients());

// ---- files -----------------------------------------------------------------------------------

const PDF = Buffer.from("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");

// ---- HTTP helpers ----------------------------------------------------------------------------

/** POST /api/uploads with a raw body; resolves with { status, body, headers }. */
async function upload(bearer, bytes, { filename = "file.bin", type = "application/octet-stream", conversationId, server = srv } = {}) {
  const q = new URLSearchParams({ filename });
  if (conversationId) q.set("conversationId", conversationId);
  const headers = { "content-type": type };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(`${server.url}/api/uploads?${q}`, { method: "POST", headers, body: bytes });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body, headers: res.headers };
}

/** The same as multipart/form-data, the file in a part named `file`. */
async function uploadMultipart(bearer, bytes, { filename, type = "application/octet-stream", conversationId } = {}) {
  const form = new FormData();
  form.append("note", "a part before the file");
  form.append("file", new Blob([bytes], { type }), filename);
  const q = conversationId ? `?conversationId=${conversationId}` : "";
  const res = await fetch(`${srv.url}/api/uploads${q}`, { method: "POST", headers: { authorization: `Bearer ${bearer}` }, body: form });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

/** GET a path of this server (a signed path, or /api/uploads/ID with a bearer). */
async function download(path, bearer, server = srv) {
  const headers = bearer ? { authorization: `Bearer ${bearer}` } : {};
  const res = await fetch(server.url + path, { headers });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/**
 * POST /api/uploads, writing `chunks` (with `length` as Content-Length, else chunked) and
 * resolving with the answer as soon as it comes, however much of the body was sent: the server
 * may answer and close before the client is done writing.
 */
function postUntilAnswered(bearer, filename, chunks, length) {
  return new Promise((resolve, reject) => {
    const url = new URL(`${srv.url}/api/uploads?filename=${filename}`);
    const headers = { authorization: `Bearer ${bearer}`, "content-type": "application/pdf" };
    if (length !== undefined) headers["content-length"] = String(length);
    const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: "POST", headers }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
    });
    req.on("error", (e) => (["EPIPE", "ECONNRESET"].includes(e.code) ? undefined : reject(e)));
    (async () => {
      for (const c of chunks) {
        if (req.destroyed || !req.write(c)) await new Promise((r) => setTimeout(r, 5));
      }
      if (length === undefined && !req.destroyed) req.end();
    })();
  });
}

/** Every file under the server's files folder (PARLOR_FILES_DIR), recursively. */
function storedFiles(server = srv) {
  const root = join(server.dir, "files");
  const out = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(root);
  return out;
}

/** A site with a connected agent and a connected visitor. */
async function chat(server = srv) {
  const { site, agentAccount, agent } = await server.siteWithAgent();
  const v = await server.visitor(site.siteKey);
  return { site, agentAccount, agent, v, conversationId: v.session.conversation.id };
}

function assertAttachment(a, { name, size, contentType }) {
  assert.match(a.id, /^u_[A-Za-z0-9_-]{22}$/);
  assert.equal(a.name, name);
  assert.equal(a.size, size);
  assert.equal(a.contentType, contentType);
  assert.match(a.url, new RegExp(`^/api/uploads/${a.id}\\?exp=\\d+&sig=[A-Za-z0-9_-]+$`));
}

// ---- tests -----------------------------------------------------------------------------------

describe("uploads and attachments", () => {
  it("a visitor's screenshot reaches the agent, who downloads the identical bytes", async () => {
    const { agent, agentAccount, v } = await chat();
    const image = png(640, 400);
    const up = await upload(v.token, image, { filename: "screenshot.png", type: "image/png" });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assertAttachment(up.body, { name: "screenshot.png", size: image.length, contentType: "image/png" });
    assert.equal(up.body.width, 640);
    assert.equal(up.body.height, 400);
    assert.match(up.body.thumbnailUrl, /\/thumbnail\?exp=\d+&sig=/);

    const heard = nextEvent(agent, "message");
    const ack = await call(v.socket, "send", { clientId: cid(), attachments: [up.body.id] });
    assertOk(ack);
    assert.equal(ack.message.text, "");
    assert.equal(ack.message.attachments.length, 1);
    const message = await heard;
    const [a] = message.attachments;
    assertAttachment(a, { name: "screenshot.png", size: image.length, contentType: "image/png" });
    assert.deepEqual([a.width, a.height], [640, 400]);

    const byBearer = await download(`/api/uploads/${a.id}`, agentAccount.token);
    assert.equal(byBearer.status, 200);
    assert.ok(byBearer.bytes.equals(image), "the agent downloads the bytes the visitor uploaded");
    assert.equal(byBearer.headers.get("content-type"), "image/png");
    assert.match(byBearer.headers.get("content-disposition"), /^inline; filename="screenshot.png"/);

    const signed = await download(a.url);
    assert.equal(signed.status, 200, "the signed path needs no bearer (an <img> tag)");
    assert.ok(signed.bytes.equals(image));

    const thumb = await download(a.thumbnailUrl);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.headers.get("content-type"), "image/jpeg");
    assert.ok(thumb.bytes.length > 100 && thumb.bytes.length < image.length);
    assert.equal(thumb.bytes.readUInt16BE(0), 0xffd8, "a JPEG");
  });

  it("an agent's PDF, uploaded as multipart, reaches the visitor, who downloads it as an attachment", async () => {
    const { agent, agentAccount, v, conversationId } = await chat();
    const up = await uploadMultipart(agentAccount.token, PDF, { filename: "Invoice 42.pdf", type: "application/pdf", conversationId });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assertAttachment(up.body, { name: "Invoice 42.pdf", size: PDF.length, contentType: "application/pdf" });
    assert.equal(up.body.thumbnailUrl, undefined);

    const heard = nextEvent(v.socket, "message");
    assertOk(await call(agent, "send", { conversationId, clientId: cid(), text: "Your invoice", attachments: [up.body.id] }));
    const message = await heard;
    assert.equal(message.text, "Your invoice");
    const got = await download(`/api/uploads/${message.attachments[0].id}`, v.token);
    assert.equal(got.status, 200);
    assert.ok(got.bytes.equals(PDF));
    assert.equal(got.headers.get("content-type"), "application/pdf");
    assert.equal(got.headers.get("content-disposition"), `attachment; filename="Invoice 42.pdf"; filename*=UTF-8''Invoice%2042.pdf`);
  });

  it("an agent must name a conversation of its own site", async () => {
    const { agentAccount } = await chat();
    const other = await chat();
    assert.equal((await upload(agentAccount.token, PDF, { filename: "a.pdf" })).status, 400);
    const foreign = await upload(agentAccount.token, PDF, { filename: "a.pdf", conversationId: other.conversationId });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.body.error, "not_found");
  });

  it("another visitor, another site's agent and no bearer get nothing", async () => {
    const { site, v, agent, conversationId } = await chat();
    const up = await upload(v.token, PDF, { filename: "private.pdf" });
    assertOk(await call(v.socket, "send", { clientId: cid(), text: "here", attachments: [up.body.id] }));
    const path = `/api/uploads/${up.body.id}`;

    const stranger = await srv.visitor(site.siteKey);
    const elsewhere = await srv.siteWithAgent();
    for (const [who, bearer] of [
      ["another visitor of the site", stranger.token],
      ["another site's agent", elsewhere.agentAccount.token],
    ]) {
      const res = await download(path, bearer);
      assert.equal(res.status, 404, who);
      assert.equal(JSON.parse(res.bytes).error, "not_found", who);
    }
    assert.equal((await download(path)).status, 401, "no bearer");
    assert.equal((await download(path, "not-a-token")).status, 401, "a bearer that is nothing");
    assert.equal((await download(`/api/uploads/u_${"A".repeat(22)}`, v.token)).status, 404, "an id nobody has");
    assert.equal((await download(`/api/uploads/${up.body.id}/thumbnail`, v.token)).status, 404, "a PDF has no thumbnail");
    void agent;
    void conversationId;
  });

  it("the other side sees an upload only once a message carries it", async () => {
    const { agentAccount, v, conversationId } = await chat();
    const up = await upload(v.token, PDF, { filename: "draft.pdf" });
    assert.equal((await download(`/api/uploads/${up.body.id}`, agentAccount.token)).status, 404);
    assert.equal((await download(`/api/uploads/${up.body.id}`, v.token)).status, 200, "its uploader may");
    assertOk(await call(v.socket, "send", { clientId: cid(), attachments: [up.body.id] }));
    assert.equal((await download(`/api/uploads/${up.body.id}`, agentAccount.token)).status, 200);
    void conversationId;
  });

  it("a signed path works until it expires, and only as signed", async () => {
    const { v } = await chat();
    const up = await upload(v.token, PDF, { filename: "a.pdf" });
    assert.equal((await download(up.body.url)).status, 200);
    const tampered = up.body.url.replace(/sig=./, (m) => (m.endsWith("A") ? "sig=B" : "sig=A"));
    assert.equal((await download(tampered)).status, 401, "a wrong signature");
    const later = up.body.url.replace(/exp=(\d+)/, (_, e) => `exp=${Number(e) + 3600}`);
    assert.equal((await download(later)).status, 401, "a later expiry than signed");
    await sleep(4500); // PARLOR_UPLOAD_URL_TTL_SECS=3 on this server
    const expired = await download(up.body.url);
    assert.equal(expired.status, 401, "expired");
    assert.equal(JSON.parse(expired.bytes).error, "unauthorized");
    assert.equal((await download(`/api/uploads/${up.body.id}`, v.token)).status, 200, "the bearer still works");
  });

  it("SVG and HTML are stored as plain text and served as attachments that never run", async () => {
    const { v } = await chat();
    for (const [filename, type, bytes] of [
      ["drawing.svg", "image/svg+xml", `<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>`],
      ["page.html", "text/html", `<!doctype html><html><body><script>alert(document.cookie)</script></body></html>`],
    ]) {
      const up = await upload(v.token, Buffer.from(bytes), { filename, type });
      assert.equal(up.status, 201, filename);
      assert.equal(up.body.contentType, "text/plain", `${filename} is sniffed as text, not as ${type}`);
      const got = await download(up.body.url);
      assert.equal(got.headers.get("content-type"), "text/plain", filename);
      assert.match(got.headers.get("content-disposition"), /^attachment; /, filename);
      assert.equal(got.headers.get("x-content-type-options"), "nosniff", filename);
      assert.equal(got.headers.get("content-security-policy"), "sandbox", filename);
      assert.match(got.headers.get("cache-control"), /private/, filename);
    }
  });

  it("a forged content type is corrected, and bytes of no allowed type are refused", async () => {
    const { v } = await chat();
    const disguised = await upload(v.token, PDF, { filename: "cat.png", type: "image/png" });
    assert.equal(disguised.status, 201);
    assert.equal(disguised.body.contentType, "application/pdf");
    assert.equal(disguised.body.thumbnailUrl, undefined);
    const binary = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), randomBytes(4096)]);
    const elf = await upload(v.token, binary, { filename: "holiday.png", type: "image/png" });
    assert.equal(elf.status, 415);
    assert.equal(elf.body.error, "unsupported_type");
    const before = storedFiles().length;
    const noise = await upload(v.token, Buffer.concat([Buffer.from([0, 1, 2, 3]), randomBytes(2048)]), { filename: "x.txt", type: "text/plain" });
    assert.equal(noise.status, 415);
    assert.equal(storedFiles().length, before, "nothing kept of a refused file");
  });

  it("a file over the limit is refused with 413 before its body is read, and nothing is kept", async () => {
    const { v } = await chat();
    const before = storedFiles().length;
    // Content-Length over the limit: answered while the client is still sending; only the
    // first megabyte is ever sent, so the answer must not wait for the rest.
    const declared = await postUntilAnswered(v.token, "big.pdf", [Buffer.concat([PDF, Buffer.alloc(1024 * 1024)])], 11 * 1024 * 1024);
    assert.equal(declared.status, 413);
    assert.equal(declared.body.error, "too_large");
    assert.equal(declared.body.maxBytes, MAX, "the answer names the limit");

    // No Content-Length (chunked): refused when the limit is crossed.
    const chunks = [PDF, ...Array.from({ length: 12 }, () => Buffer.alloc(128 * 1024, 0x20))];
    const chunked = await postUntilAnswered(v.token, "big.pdf", chunks);
    assert.equal(chunked.status, 413);
    assert.equal(chunked.body.error, "too_large");
    await sleep(200);
    assert.equal(storedFiles().length, before, "nothing on disk, not even a partial file");

    const exactly = await upload(v.token, Buffer.concat([PDF, Buffer.alloc(MAX - PDF.length, 0x20)]), { filename: "max.pdf" });
    assert.equal(exactly.status, 201, "exactly the limit is allowed");
  });

  it("files are written 0600 in folders 0700", async () => {
    const { v } = await chat();
    assert.equal((await upload(v.token, png(40, 30), { filename: "a.png" })).status, 201);
    const files = storedFiles();
    assert.ok(files.length > 0);
    for (const f of files) assert.equal(statSync(f).mode & 0o777, 0o600, f);
    const siteDir = join(files[0], "..");
    assert.equal(statSync(siteDir).mode & 0o777, 0o700);
  });

  it("an image too large to decode safely is stored without a thumbnail", async () => {
    const { v } = await chat();
    const up = await upload(v.token, bomb(30000), { filename: "bomb.png", type: "image/png" });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.deepEqual([up.body.width, up.body.height], [30000, 30000]);
    assert.equal(up.body.thumbnailUrl, undefined);
    const [head] = await Promise.all([download(up.body.url)]);
    assert.equal(head.status, 200, "still downloadable");
  });

  it("send with attachments is idempotent by clientId, and an upload goes out once", async () => {
    const { agent, v } = await chat();
    const up = await upload(v.token, PDF, { filename: "once.pdf" });
    const clientId = cid();
    const heard = nextEvent(agent, "message");
    const first = await call(v.socket, "send", { clientId, text: "file", attachments: [up.body.id] });
    assertOk(first);
    await heard;
    const retry = await call(v.socket, "send", { clientId, text: "file", attachments: [up.body.id] });
    assertOk(retry);
    assert.equal(retry.message.id, first.message.id);
    assert.equal(retry.message.seq, first.message.seq);
    assert.deepEqual(retry.message.attachments.map((a) => a.id), [up.body.id]);
    await expectNoEvent(agent, "message", 500);
    const again = await call(v.socket, "send", { clientId: cid(), attachments: [up.body.id] });
    assertError(again, "invalid");
  });

  it("send checks its attachments", async () => {
    const { v, agentAccount, conversationId } = await chat();
    const other = await chat();
    const theirs = await upload(other.v.token, PDF, { filename: "theirs.pdf" });
    assertError(await call(v.socket, "send", { clientId: cid(), attachments: [theirs.body.id] }), "invalid");
    const agents = await upload(agentAccount.token, PDF, { filename: "agents.pdf", conversationId });
    assertError(await call(v.socket, "send", { clientId: cid(), attachments: [agents.body.id] }), "invalid", "the other side's upload");
    assertError(await call(v.socket, "send", { clientId: cid(), attachments: ["../../etc"] }), "invalid");
    const ids = [];
    for (let i = 0; i < 11; i++) ids.push((await upload(v.token, PDF, { filename: `${i}.pdf` })).body.id);
    assertError(await call(v.socket, "send", { clientId: cid(), attachments: ids }), "invalid", "11 attachments");
    assertError(await call(v.socket, "send", { clientId: cid(), attachments: [ids[0], ids[0]] }), "invalid", "twice");
    assertError(await call(v.socket, "send", { clientId: cid() }), "invalid", "neither text nor attachments");
    const ten = await call(v.socket, "send", { clientId: cid(), attachments: ids.slice(0, 10) });
    assertOk(ten);
    assert.deepEqual(ten.message.attachments.map((a) => a.id), ids.slice(0, 10), "in the order given");
  });

  it("history, sync, the session and the conversation list carry attachments with fresh signed paths", async () => {
    const { site, agent, agentAccount, v, conversationId } = await chat();
    const up = await upload(v.token, png(30, 20), { filename: "s.png", type: "image/png" });
    assertOk(await call(v.socket, "send", { clientId: cid(), text: "look", attachments: [up.body.id] }));
    await assertOk(await call(v.socket, "send", { clientId: cid(), text: "plain" }));
    const history = await call(agent, "history", { conversationId, beforeSeq: 1000 });
    assertOk(history);
    assert.equal(history.messages[0].attachments[0].id, up.body.id);
    assert.deepEqual(history.messages[1].attachments, [], "none: an empty array");
    const sync = await call(v.socket, "sync", { afterSeq: 0 });
    assert.equal(sync.messages[0].attachments[0].name, "s.png");
    const again = await srv.visitor(site.siteKey, { token: v.token });
    const [withFile] = again.session.messages;
    assert.equal(withFile.attachments[0].id, up.body.id);
    assert.equal((await download(withFile.attachments[0].thumbnailUrl)).status, 200);
    const list = await call(agent, "list", {});
    const summary = list.conversations.find((c) => c.id === conversationId);
    assert.deepEqual(summary.lastMessage.attachments, []);
    void agentAccount;
  });

  it("uploads are answered to CORS preflights from any page, with Authorization allowed", async () => {
    const res = await fetch(`${srv.url}/api/uploads`, {
      method: "OPTIONS",
      headers: { origin: "https://shop.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    assert.ok(res.status < 300);
    assert.equal(res.headers.get("access-control-allow-origin"), "https://shop.example");
    assert.match(res.headers.get("access-control-allow-headers") ?? "", /authorization/i);
  });

  it("deleting a site deletes its files", async () => {
    const { site, v } = await chat();
    const up = await upload(v.token, PDF, { filename: "gone.pdf" });
    assert.equal(up.status, 201);
    const before = storedFiles().length;
    const done = await srv.cli(["site", "delete", site.siteKey, "--yes"]);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(storedFiles().length, before - 1);
    assert.equal((await download(up.body.url)).status, 404);
  });
});

describe("upload limits per visitor", () => {
  let limited;
  before(async () => {
    limited = await startServer({ env: { PARLOR_RATE_UPLOADS: "3" } });
  });
  after(() => limited?.dispose());

  it("a visitor may start only so many uploads a minute", async () => {
    const site = await limited.createSite(unique("site"));
    const v = await limited.visitor(site.siteKey);
    for (let i = 0; i < 3; i++) assert.equal((await upload(v.token, PDF, { filename: "a.pdf", server: limited })).status, 201);
    const over = await upload(v.token, PDF, { filename: "a.pdf", server: limited });
    assert.equal(over.status, 429);
    assert.equal(over.body.error, "rate_limited");
    const other = await limited.visitor(site.siteKey);
    assert.equal((await upload(other.token, PDF, { filename: "a.pdf", server: limited })).status, 201, "another visitor has its own budget");
    limited.closeClients();
  });
});
