// A real S3-compatible server for the tests: moto in server mode, which
// `scripts/s3-server.sh serve 0` installs (once, into .venv-s3/) and starts on a free port. The
// script stops when its standard input closes, so the server goes away with the test process
// however that ends; `stop()` ends it sooner.
//
//   const s3 = await startS3();                      // its own server, one bucket
//   const srv = await startServer({ env: { ...s3.env, PARLOR_FILES_URL: s3.url("files") } });
//   ...
//   await s3.keys();                                 // what the bucket holds
//   await s3.stop();
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { REPO, unique } from "./support.mjs";

/** moto's first start on a machine installs it (pip), which can take a minute or two. */
const START_TIMEOUT_MS = 300_000;

/**
 * Starts an S3-compatible server on 127.0.0.1 and creates a bucket in it. Resolves with
 * { endpoint, bucket, env, url(prefix), keys(), unfinishedUploads(), createBucket(), stop() }:
 * `env` holds the AWS_* variables that point the parlor binary at it, `url(prefix)` is the
 * `s3://bucket/prefix` for PARLOR_FILES_URL.
 */
export async function startS3() {
  const proc = spawn("bash", [join(REPO, "scripts", "s3-server.sh"), "serve", "0"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = once(proc, "exit");
  const lines = createInterface({ input: proc.stdout });
  let timer;
  const endpoint = await Promise.race([
    (async () => {
      for await (const line of lines) {
        const m = /^s3 on (http:\/\/\S+)$/.exec(line.trim());
        if (m) return m[1];
      }
      throw new Error("scripts/s3-server.sh ended without starting the server");
    })(),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("the S3 server did not start in time")), START_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));

  async function request(method, path) {
    const res = await fetch(`${endpoint}${path}`, { method });
    return { status: res.status, text: await res.text() };
  }
  const elements = (xml, name) => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((m) => m[1]);

  const s3 = {
    endpoint,
    bucket: null,
    env: {
      AWS_ENDPOINT: endpoint,
      AWS_ALLOW_HTTP: "true",
      AWS_ACCESS_KEY_ID: "parlor-test",
      AWS_SECRET_ACCESS_KEY: "parlor-test-secret",
      AWS_REGION: "us-east-1",
    },
    /** `s3://<bucket>/<prefix>`, for PARLOR_FILES_URL. */
    url(prefix = "") {
      return `s3://${s3.bucket}/${prefix}`;
    },
    /** A fresh bucket (moto takes an unsigned request); resolves with its name. */
    async createBucket(name = unique("parlor-").toLowerCase().replace(/[^a-z0-9-]/g, "0")) {
      const res = await request("PUT", `/${name}`);
      if (res.status !== 200) throw new Error(`creating bucket ${name}: ${res.status} ${res.text}`);
      return name;
    },
    /** Every object key in the bucket (the first thousand), optionally under `prefix`. */
    async keys(prefix = "", bucket = s3.bucket) {
      const res = await request("GET", `/${bucket}?list-type=2&prefix=${encodeURIComponent(prefix)}`);
      if (res.status !== 200) throw new Error(`listing ${bucket}: ${res.status} ${res.text}`);
      return elements(res.text, "Key");
    },
    /** The keys of multipart uploads begun and neither completed nor aborted. */
    async unfinishedUploads(bucket = s3.bucket) {
      const res = await request("GET", `/${bucket}?uploads`);
      if (res.status !== 200) throw new Error(`listing uploads of ${bucket}: ${res.status} ${res.text}`);
      return elements(res.text, "Key");
    },
    /** The object's bytes (a Buffer), or null when there is none. */
    async object(key, bucket = s3.bucket) {
      const res = await fetch(`${endpoint}/${bucket}/${key}`);
      if (res.status === 404) return null;
      if (res.status !== 200) throw new Error(`getting ${key}: ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.stdin.end();
        await exited;
      }
    },
  };
  try {
    s3.bucket = await s3.createBucket();
  } catch (e) {
    await s3.stop();
    throw e;
  }
  return s3;
}
