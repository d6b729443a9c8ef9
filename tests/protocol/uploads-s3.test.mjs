// Uploads kept in S3-compatible storage (PARLOR_FILES_URL=s3://..., docs/deploy.md "Storage on
// S3") against a real S3-compatible server the test starts (moto, s3.mjs): the bytes go to the
// bucket and come back identical, a failed upload leaves nothing in the bucket, and in a
// cluster a file uploaded through one node is downloaded through another.
import { describe, it, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startServer, startCluster, call, assertOk, nextEvent, cid, waitFor } from "./support.mjs";
import { startS3 } from "./s3.mjs";
import { png, pdf } from "./files.mjs";

const MIB = 1024 * 1024;

const PNG = png(64, 48);

async function upload(server, bearer, bytes, { filename = "file.pdf", type = "application/pdf", conversationId } = {}) {
  const q = new URLSearchParams({ filename });
  if (conversationId) q.set("conversationId", conversationId);
  const res = await fetch(`${server.url}/api/uploads?${q}`, {
    method: "POST",
    headers: { authorization: `Bearer ${bearer}`, "content-type": type },
    body: bytes,
  });
  const text = await res.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}

async function download(server, path, bearer) {
  const res = await fetch(server.url + path, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/**
 * POST /api/uploads chunked, `chunks` one after the other; with `cutAfter`, the connection is
 * destroyed once that many chunks are written (the client goes away mid-upload). Resolves with
 * the answer, or { status: null } when the connection was cut first.
 */
function postChunked(server, bearer, chunks, { cutAfter } = {}) {
  return new Promise((resolve, reject) => {
    const url = new URL(`${server.url}/api/uploads?filename=big.pdf`);
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: "POST",
        headers: { authorization: `Bearer ${bearer}`, "content-type": "application/pdf" },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, body: JSON.parse(text) }));
      },
    );
    req.on("error", (e) => {
      if (cutAfter !== undefined) resolve({ status: null });
      else if (!["EPIPE", "ECONNRESET"].includes(e.code)) reject(e);
    });
    (async () => {
      let written = 0;
      for (const c of chunks) {
        if (req.destroyed) return;
        if (!req.write(c)) await new Promise((r) => req.once("drain", r));
        written += 1;
        if (written === cutAfter) {
          // Let the server take in what was sent before the connection goes.
          await new Promise((r) => setTimeout(r, 300));
          req.destroy();
          return;
        }
      }
      req.end();
    })();
  });
}

/** Every file under a server's own files folder: with S3 storage there must be none. */
function localFiles(server) {
  const out = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else out.push(join(dir, e.name));
    }
  };
  walk(join(server.dir, "files"));
  return out;
}

async function chat(server) {
  const { site, agentAccount, agent } = await server.siteWithAgent();
  const v = await server.visitor(site.siteKey);
  return { site, agentAccount, agent, v, conversationId: v.session.conversation.id };
}

describe("uploads on S3-compatible storage", () => {
  let s3, srv;
  before(async () => {
    s3 = await startS3();
    srv = await startServer({
      env: { ...s3.env, PARLOR_FILES_URL: s3.url("parlor/files"), PARLOR_UPLOAD_MAX_BYTES: String(10 * MIB) },
    });
  });
  after(async () => {
    await srv?.dispose();
    await s3?.stop();
  });
  afterEach(() => srv.closeClients());

  it("a visitor's file of several parts goes to the bucket, and the agent downloads the identical bytes", async () => {
    const { site, agentAccount, agent, v } = await chat(srv);
    // Over two of the storage's 5 MiB parts: a multipart upload.
    const file = pdf(9 * MIB + 4321);
    const up = await upload(srv, v.token, file, { filename: "report.pdf" });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.equal(up.body.size, file.length);
    assert.equal(up.body.contentType, "application/pdf");

    const key = `parlor/files/${site.id}/${up.body.id}`;
    assert.deepEqual(await s3.keys(`parlor/files/${site.id}/`), [key]);
    assert.ok((await s3.object(key)).equals(file), "the bucket holds the bytes uploaded");
    assert.deepEqual(await s3.unfinishedUploads(), []);
    assert.deepEqual(localFiles(srv), [], "nothing written to the local folder");

    const heard = nextEvent(agent, "message");
    assertOk(await call(v.socket, "send", { clientId: cid(), text: "the report", attachments: [up.body.id] }));
    const [attachment] = (await heard).attachments;
    const byBearer = await download(srv, `/api/uploads/${attachment.id}`, agentAccount.token);
    assert.equal(byBearer.status, 200);
    assert.equal(byBearer.headers.get("content-length"), String(file.length));
    assert.ok(byBearer.bytes.equals(file), "the agent downloads the bytes the visitor uploaded");
    const signed = await download(srv, attachment.url);
    assert.equal(signed.status, 200);
    assert.ok(signed.bytes.equals(file));
  });

  it("an image's thumbnail is kept in the bucket beside it", async () => {
    const { site, agentAccount, v } = await chat(srv);
    const up = await upload(srv, v.token, PNG, { filename: "dot.png", type: "image/png" });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.ok(up.body.thumbnailUrl, "a thumbnail was made");

    const keys = (await s3.keys(`parlor/files/${site.id}/`)).sort();
    assert.deepEqual(keys, [`parlor/files/${site.id}/${up.body.id}`, `parlor/files/${site.id}/${up.body.id}.thumb`]);
    const thumb = await download(srv, up.body.thumbnailUrl);
    assert.equal(thumb.status, 200);
    assert.equal(thumb.bytes.readUInt16BE(0), 0xffd8, "a JPEG");
    void agentAccount;
  });

  it("a file that crosses the size limit after several parts leaves nothing in the bucket", async () => {
    const { site, v } = await chat(srv);
    // 11 MiB without Content-Length: refused only when the limit is crossed, after two parts
    // went to the storage.
    const chunks = [pdf(256 * 1024), ...Array.from({ length: 43 }, () => randomBytes(256 * 1024))];
    const res = await postChunked(srv, v.token, chunks);
    assert.equal(res.status, 413);
    assert.equal(res.body.error, "too_large");

    await waitFor(async () => (await s3.unfinishedUploads()).length === 0, 5000, "the multipart upload to be aborted");
    assert.deepEqual(await s3.keys(`parlor/files/${site.id}/`), []);
  });

  it("a client that goes away mid-upload leaves nothing in the bucket", async () => {
    const { site, v } = await chat(srv);
    const chunks = [pdf(256 * 1024), ...Array.from({ length: 39 }, () => randomBytes(256 * 1024))];
    // 7 MiB sent of 10: one part stored, the next one filling.
    const res = await postChunked(srv, v.token, chunks, { cutAfter: 28 });
    assert.equal(res.status, null);

    await waitFor(async () => (await s3.unfinishedUploads()).length === 0, 5000, "the multipart upload to be aborted");
    assert.deepEqual(await s3.keys(`parlor/files/${site.id}/`), []);
  });

  it("deleting a site deletes its files from the bucket, and no other site's", async () => {
    const doomed = await chat(srv);
    const kept = await chat(srv);
    const a = await upload(srv, doomed.v.token, pdf(1000), { filename: "a.pdf" });
    const b = await upload(srv, doomed.v.token, PNG, { filename: "b.png", type: "image/png" });
    const c = await upload(srv, kept.v.token, pdf(1000), { filename: "c.pdf" });
    for (const up of [a, b, c]) assert.equal(up.status, 201, JSON.stringify(up.body));
    assert.equal((await s3.keys(`parlor/files/${doomed.site.id}/`)).length, 3);

    const done = await srv.cli(["site", "delete", doomed.site.siteKey, "--yes"]);
    assert.equal(done.code, 0, done.stderr);

    assert.deepEqual(await s3.keys(`parlor/files/${doomed.site.id}/`), []);
    assert.deepEqual(await s3.keys(`parlor/files/${kept.site.id}/`), [`parlor/files/${kept.site.id}/${c.body.id}`]);
    assert.equal((await download(srv, c.body.url)).status, 200);
  });
});

describe("a two-node cluster on one bucket", () => {
  let s3, cluster, A, B;
  before(async () => {
    s3 = await startS3();
    // Only the bucket is shared: each node has a files folder of its own.
    cluster = await startCluster(2, { prefix: "parlor_s3", settle: false, env: { ...s3.env, PARLOR_FILES_URL: s3.url("cluster") } });
    [A, B] = cluster.nodes;
  });
  after(async () => {
    await cluster?.dispose();
    await s3?.stop();
  });

  it("a file uploaded through node A is downloaded through node B, both ways", async () => {
    const site = await A.createSite();
    const agentAccount = await A.createAgent(site.siteKey);
    const agentOnB = (await B.agent(agentAccount.token)).socket;
    const v = await A.visitor(site.siteKey);
    const conversationId = v.session.conversation.id;

    // The visitor, on A, sends a file of several parts; the agent, on B, hears and downloads it.
    const file = pdf(6 * MIB + 777);
    const up = await upload(A, v.token, file, { filename: "from-a.pdf" });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    const heard = nextEvent(agentOnB, "message", (m) => m.attachments?.length === 1);
    assertOk(await call(v.socket, "send", { clientId: cid(), attachments: [up.body.id] }));
    const [attachment] = (await heard).attachments;
    const onB = await download(B, `/api/uploads/${attachment.id}`, agentAccount.token);
    assert.equal(onB.status, 200);
    assert.ok(onB.bytes.equals(file), "node B serves the bytes uploaded through node A");
    const signedOnB = await download(B, attachment.url);
    assert.equal(signedOnB.status, 200, "a path signed by node A works on node B");
    assert.ok(signedOnB.bytes.equals(file));

    // The agent, on B, sends a file; the visitor, on A, downloads it.
    const reply = pdf(200 * 1024);
    const upB = await upload(B, agentAccount.token, reply, { filename: "from-b.pdf", conversationId });
    assert.equal(upB.status, 201, JSON.stringify(upB.body));
    const toVisitor = nextEvent(v.socket, "message", (m) => m.attachments?.length === 1);
    assertOk(await call(agentOnB, "send", { conversationId, clientId: cid(), attachments: [upB.body.id] }));
    const [back] = (await toVisitor).attachments;
    const onA = await download(A, `/api/uploads/${back.id}`, v.token);
    assert.equal(onA.status, 200);
    assert.ok(onA.bytes.equals(reply), "node A serves the bytes uploaded through node B");

    assert.deepEqual(localFiles(A), [], "node A kept nothing on its own disk");
    assert.deepEqual(localFiles(B), [], "node B kept nothing on its own disk");
    assert.equal((await s3.keys(`cluster/${site.id}/`)).length, 2);
  });
});
