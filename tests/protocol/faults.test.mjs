// Faults of the machine under a single node (docs/deploy.md, "What happens when something
// fails"): the disk that holds the SQLite database fills up. The database lives on a small
// tmpfs that the test mounts itself (root only), and a file of zeros takes the rest.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, openSync, writeSync, closeSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, call, assertOk, cid, BACKEND } from "./support.mjs";

/** Mounts a tmpfs of `mib` MiB; null when this machine does not let the test do it. */
function mountSmallDisk(mib) {
  if (process.getuid?.() !== 0) return null;
  const dir = mkdtempSync(join(tmpdir(), "parlor-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${mib}m,mode=0700`, "tmpfs", dir], { stdio: "pipe" });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    /** Writes zeros until the disk has no space left; returns the file's path. */
    fill() {
      const path = join(dir, "filler");
      const fd = openSync(path, "w");
      const chunk = Buffer.alloc(64 * 1024);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (e) {
        if (e.code !== "ENOSPC") throw e;
      } finally {
        closeSync(fd);
      }
      return path;
    },
    unmount() {
      try {
        execFileSync("umount", ["-l", dir], { stdio: "pipe" });
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves with "accepted" when the handshake succeeds, else with the server's refusal. */
function handshake(socket) {
  return new Promise((resolve) => {
    socket.once("connect", () => resolve("accepted"));
    socket.once("connect_error", (err) => resolve(err.message));
    socket.connect();
  });
}

const disk = BACKEND === "sqlite" ? mountSmallDisk(16) : null;
const skip = BACKEND !== "sqlite" ? "disk full is a SQLite fault" : disk ? false : "needs root to mount a tmpfs";

describe("disk full (SQLite)", { skip }, () => {
  let srv;
  before(async () => {
    srv = await startServer({ env: { PARLOR_DATABASE_URL: `sqlite://${join(disk.dir, "parlor.db")}` } });
  });
  after(async () => {
    await srv?.dispose();
    disk?.unmount();
  });

  it("a full disk refuses writes with internal, keeps serving reads, and recovers when space returns, without restarting", async () => {
    const { site, agent } = await srv.siteWithAgent();
    const v = await srv.visitor(site.siteKey);
    const conversationId = v.session.conversation.id;
    const text = "x".repeat(4000);
    const acked = [assertOk(await call(v.socket, "send", { clientId: cid("v"), text: "before" })).message];

    const filler = disk.fill();
    // The WAL reuses the room it already has, so the first writes may still fit: write until
    // one is refused. Every answer is either a commit or `internal`, never anything else.
    let refusal = null;
    for (let i = 0; i < 2000 && !refusal; i++) {
      const ack = await call(v.socket, "send", { clientId: cid("v"), text }, 15000);
      if (ack.ok) acked.push(ack.message);
      else refusal = ack;
    }
    assert.ok(refusal, "a write is refused once the disk is full");
    assert.equal(refusal.error.code, "internal", JSON.stringify(refusal));

    // A new visitor needs a row of its own: refused with `internal`, as a write is. The
    // refused commit may have left WAL room that a smaller write still fits in (how much
    // depends on where the filler ended), so a few newcomers may still be stored first;
    // each is either accepted or refused with `internal`, never anything else.
    let newcomerRefused = null;
    for (let i = 0; i < 200 && !newcomerRefused; i++) {
      const newcomer = srv.socket("/visitor", { auth: { siteKey: site.siteKey } });
      const outcome = await handshake(newcomer);
      newcomer.close();
      if (outcome !== "accepted") newcomerRefused = outcome;
    }
    assert.equal(newcomerRefused, "internal", "a new visitor is refused once the disk is full");

    // Reads still work, and show exactly what was acknowledged.
    const history = assertOk(await call(agent, "history", { conversationId, beforeSeq: acked.at(-1).seq + 1, limit: 1 }));
    assert.deepEqual(history.messages.map((m) => m.id), [acked.at(-1).id]);

    unlinkSync(filler);
    // Space is back: the same node takes writes again (the writer retries nothing on its own;
    // the next send is simply committed).
    let after = null;
    for (let i = 0; i < 50 && !after?.ok; i++) {
      after = await call(v.socket, "send", { clientId: cid("v"), text: "after" }, 15000);
      if (!after.ok) await new Promise((r) => setTimeout(r, 100));
    }
    assertOk(after, "a send after space returned");
    acked.push(after.message);

    const stored = [];
    let afterSeq = 0;
    for (;;) {
      const page = assertOk(await call(agent, "sync", { conversationId, afterSeq }));
      stored.push(...page.messages);
      if (!page.hasMore) break;
      afterSeq = page.messages.at(-1).seq;
    }
    assert.deepEqual(stored.map((m) => m.seq), stored.map((_, i) => i + 1), "seq stays gap-free");
    assert.deepEqual(stored.map((m) => m.id), acked.map((m) => m.id), "stored = acknowledged, nothing more");
    await srv.visitor(site.siteKey);
  });
});
