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
import { createHash, createHmac } from "node:crypto";
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

  const credentials = { accessKey: "parlor-test", secretKey: "parlor-test-secret", region: "us-east-1" };
  /** A request signed as the parlor binary's are (AWS Signature Version 4), path-style. */
  function signed(method, path, query = {}) {
    const url = new URL(endpoint);
    const amzDate = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
    const day = amzDate.slice(0, 8);
    const enc = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const canonicalPath = path.split("/").map(enc).join("/");
    const canonicalQuery = Object.keys(query)
      .sort()
      .map((k) => `${enc(k)}=${enc(query[k])}`)
      .join("&");
    const payloadHash = createHash("sha256").update("").digest("hex");
    const headers = { host: url.host, "x-amz-content-sha256": payloadHash, "x-amz-date": amzDate };
    const signedHeaders = Object.keys(headers).sort().join(";");
    const canonicalHeaders = Object.keys(headers)
      .sort()
      .map((k) => `${k}:${headers[k]}\n`)
      .join("");
    const canonicalRequest = [method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join("\n");
    const scope = `${day}/${credentials.region}/s3/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, createHash("sha256").update(canonicalRequest).digest("hex")].join("\n");
    const hmac = (key, data) => createHmac("sha256", key).update(data).digest();
    let key = hmac(`AWS4${credentials.secretKey}`, day);
    for (const part of [credentials.region, "s3", "aws4_request"]) key = hmac(key, part);
    const signature = createHmac("sha256", key).update(toSign).digest("hex");
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKey}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    delete headers.host;
    return fetch(`${endpoint}${canonicalPath}${canonicalQuery ? `?${canonicalQuery}` : ""}`, { method, headers });
  }
  async function request(method, path, query) {
    const res = await signed(method, path, query);
    return { status: res.status, text: await res.text() };
  }
  const elements = (xml, name) => [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, "g"))].map((m) => m[1]);

  const s3 = {
    endpoint,
    bucket: null,
    env: {
      AWS_ENDPOINT: endpoint,
      AWS_ALLOW_HTTP: "true",
      AWS_ACCESS_KEY_ID: credentials.accessKey,
      AWS_SECRET_ACCESS_KEY: credentials.secretKey,
      AWS_REGION: credentials.region,
    },
    /** `s3://<bucket>/<prefix>`, for PARLOR_FILES_URL. */
    url(prefix = "") {
      return `s3://${s3.bucket}/${prefix}`;
    },
    /** A fresh bucket; resolves with its name. */
    async createBucket(name = unique("parlor-").toLowerCase().replace(/[^a-z0-9-]/g, "0")) {
      const res = await request("PUT", `/${name}`);
      if (res.status !== 200) throw new Error(`creating bucket ${name}: ${res.status} ${res.text}`);
      return name;
    },
    /** Every object key in the bucket (the first thousand), optionally under `prefix`. */
    async keys(prefix = "", bucket = s3.bucket) {
      const res = await request("GET", `/${bucket}`, { "list-type": "2", prefix });
      if (res.status !== 200) throw new Error(`listing ${bucket}: ${res.status} ${res.text}`);
      return elements(res.text, "Key");
    },
    /** The keys of multipart uploads begun and neither completed nor aborted. */
    async unfinishedUploads(bucket = s3.bucket) {
      const res = await request("GET", `/${bucket}`, { uploads: "" });
      if (res.status !== 200) throw new Error(`listing uploads of ${bucket}: ${res.status} ${res.text}`);
      return elements(res.text, "Key");
    },
    /** The object's bytes (a Buffer), or null when there is none. */
    async object(key, bucket = s3.bucket) {
      const res = await signed("GET", `/${bucket}/${key}`);
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
