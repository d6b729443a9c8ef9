// Plain HTTP endpoints: health, login input handling, widget.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, unique } from "./support.mjs";

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.dispose(); });

const is4xx = (res, what) => assert.ok(res.status >= 400 && res.status < 500, `${what}: expected 4xx, got ${res.status} ${res.text.slice(0, 200)}`);

describe("http", () => {
  it("GET /healthz answers 200", async () => {
    const res = await srv.http("GET", "/healthz");
    assert.equal(res.status, 200);
  });

  it("POST /api/login with malformed JSON answers 4xx, not 500", async () => {
    const res = await srv.http("POST", "/api/login", { body: "{ not json", headers: { "content-type": "application/json" } });
    is4xx(res, "malformed JSON");
  });

  it("POST /api/login with missing fields answers 4xx", async () => {
    is4xx(await srv.http("POST", "/api/login", { json: {} }), "empty object");
    is4xx(await srv.http("POST", "/api/login", { json: { username: unique("x") } }), "missing password");
  });

  it("POST /api/login with fields of the wrong type answers 4xx", async () => {
    is4xx(await srv.http("POST", "/api/login", { json: { username: 1, password: ["a"] } }), "wrong types");
    is4xx(await srv.http("POST", "/api/login", { json: ["username", "password"] }), "array body");
    is4xx(await srv.http("POST", "/api/login", { json: null }), "null body");
  });

  it("POST /api/login without a JSON content type answers 4xx", async () => {
    const res = await srv.http("POST", "/api/login", { body: JSON.stringify({ username: "a", password: "b" }), headers: { "content-type": "text/plain" } });
    is4xx(res, "text/plain");
  });

  it("POST /api/login with an empty body answers 4xx", async () => {
    is4xx(await srv.http("POST", "/api/login", { body: "", headers: { "content-type": "application/json" } }), "empty body");
  });

  it("POST /api/login with a huge body answers 4xx, not 500", async () => {
    const res = await srv.http("POST", "/api/login", { json: { username: "x".repeat(2 * 1024 * 1024), password: "y" } });
    is4xx(res, "2 MiB body");
  });

  it("the polling transport lets a widget on another origin read its responses (CORS)", async () => {
    // The widget runs on the customer's site; when it falls back to long-polling
    // the browser only hands it the handshake if the response allows its Origin.
    const origin = "https://shop.example";
    const res = await srv.http("GET", "/socket.io/?EIO=4&transport=polling", { headers: { Origin: origin } });
    assert.equal(res.status, 200);
    assert.match(res.text, /^0\{"sid":/, "an Engine.IO v4 open packet");
    const acao = res.headers.get("access-control-allow-origin");
    assert.ok(acao === "*" || acao === origin, `access-control-allow-origin: ${acao}`);
  });

  it("GET /widget.js serves JavaScript", async () => {
    const res = await srv.http("GET", "/widget.js");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") || "", /javascript/);
    assert.ok(res.text.length > 0);
  });
});
