// Malformed requests: every one is answered with the exact error envelope
// { ok:false, error:{ code, message } }, changes nothing, and leaves the
// connection usable.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, call, callRaw, expectNoEvent, assertOk, assertError, assertMessage,
  visitorSay, agentSay, missingIdLike, cid, sleep, drain,
} from "./support.mjs";

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await srv?.dispose(); });

const long = (n, ch = "x") => ch.repeat(n);

/** Run `payloadArgs` as `event` and expect `code`; then prove the socket still works. */
async function expectRejected(socket, event, args, code, stillWorks) {
  const ack = await callRaw(socket, event, args);
  assertError(ack, code, `${event} ${JSON.stringify(args).slice(0, 120)}`);
  assert.ok(socket.connected, "the socket must stay connected after a rejected request");
  await stillWorks();
}

describe("visitor requests with malformed payloads", () => {
  let site, v, stored;
  before(async () => {
    site = await srv.createSite();
    v = await srv.visitor(site.siteKey);
    stored = [await visitorSay(v.socket, "the only valid message")];
  });
  after(() => v.socket.disconnect());

  const works = async () => {
    const s = assertOk(await call(v.socket, "sync", { afterSeq: 0 }));
    assert.deepEqual(s.messages, stored, "a rejected request must store nothing");
  };

  const cases = [
    ["send", "no payload at all", [], "invalid"],
    ["send", "a null payload", [null], "invalid"],
    ["send", "a string payload", ["hello"], "invalid"],
    ["send", "an array payload", [[{ clientId: "x", text: "y" }]], "invalid"],
    ["send", "an empty object", [{}], "invalid"],
    ["send", "a missing clientId", [{ text: "hi" }], "invalid"],
    ["send", "a numeric clientId", [{ clientId: 42, text: "hi" }], "invalid"],
    ["send", "an empty clientId", [{ clientId: "", text: "hi" }], "invalid"],
    ["send", "a clientId of 65 characters", [{ clientId: long(65), text: "hi" }], "invalid"],
    ["send", "a missing text", [{ clientId: "c-missing-text" }], "invalid"],
    ["send", "a numeric text", [{ clientId: "c-num-text", text: 12 }], "invalid"],
    ["send", "a null text", [{ clientId: "c-null-text", text: null }], "invalid"],
    ["send", "an empty text", [{ clientId: "c-empty-text", text: "" }], "invalid"],
    ["send", "a whitespace-only text", [{ clientId: "c-ws-text", text: "  \n\t  " }], "invalid"],
    ["send", "an object as text", [{ clientId: "c-obj-text", text: { html: "<b>" } }], "invalid"],
    ["profile", "a string payload", ["Ada"], "invalid"],
    ["profile", "a name of 101 characters", [{ name: long(101) }], "invalid"],
    ["profile", "a numeric name", [{ name: 7 }], "invalid"],
    ["profile", "an email without @", [{ email: "not-an-email" }], "invalid"],
    ["profile", "an email without a domain", [{ email: "ada@" }], "invalid"],
    ["profile", "a numeric email", [{ email: 5 }], "invalid"],
    ["profile", "a phone with letters", [{ phone: "call me maybe" }], "invalid"],
    ["profile", "a phone of 33 characters", [{ phone: long(33, "1") }], "invalid"],
    ["history", "no payload", [], "invalid"],
    ["history", "a missing beforeSeq", [{}], "invalid"],
    ["history", "a string beforeSeq", [{ beforeSeq: "5" }], "invalid"],
    ["history", "a fractional beforeSeq", [{ beforeSeq: 1.5 }], "invalid"],
    ["history", "limit 0", [{ beforeSeq: 5, limit: 0 }], "invalid"],
    ["history", "limit 101", [{ beforeSeq: 5, limit: 101 }], "invalid"],
    ["history", "a string limit", [{ beforeSeq: 5, limit: "10" }], "invalid"],
    ["sync", "no payload", [], "invalid"],
    ["sync", "a missing afterSeq", [{}], "invalid"],
    ["sync", "a string afterSeq", [{ afterSeq: "0" }], "invalid"],
    ["sync", "a null afterSeq", [{ afterSeq: null }], "invalid"],
    ["read", "a missing seq", [{}], "invalid"],
    ["read", "a string seq", [{ seq: "1" }], "invalid"],
    ["read", "a seq beyond the last message", [{ seq: 999 }], "invalid"],
    ["page", "a missing url", [{ title: "Home" }], "invalid"],
    ["page", "a numeric url", [{ url: 1 }], "invalid"],
    ["page", "a url of 2049 characters", [{ url: "https://x.example/" + long(2049 - 18) }], "invalid"],
    ["page", "a title of 201 characters", [{ url: "https://x.example/", title: long(201) }], "invalid"],
    ["page", "a numeric title", [{ url: "https://x.example/", title: 3 }], "invalid"],
  ];
  for (const [event, what, args, code] of cases) {
    it(`visitor ${event} with ${what} is answered ${code} and changes nothing`, async () => {
      await expectRejected(v.socket, event, args, code, works);
    });
  }

  it("a rejected profile leaves the stored profile unchanged", async () => {
    assertOk(await call(v.socket, "profile", { name: "Kept", email: "kept@example.com" }));
    assertError(await call(v.socket, "profile", { name: "Changed", email: "nope" }), "invalid");
    const again = await srv.visitor(site.siteKey, { token: v.token });
    assert.equal(again.session.visitor.name, "Kept");
    assert.equal(again.session.visitor.email, "kept@example.com");
    again.socket.disconnect();
  });

  it("an unknown event is ignored: no ack and the connection stays usable", async () => {
    await assert.rejects(callRaw(v.socket, "definitelyNotAnEvent", [{ x: 1 }], 800), /timed out|timeout/i);
    assert.ok(v.socket.connected);
    await works();
  });

  it("a malformed typing event is dropped and the connection stays usable", async () => {
    v.socket.emit("typing", "yes");
    v.socket.emit("typing", { typing: "yes" });
    v.socket.emit("typing");
    await sleep(200);
    assert.ok(v.socket.connected);
    await works();
  });

  it("a clientId of exactly 64 characters is accepted", async () => {
    const m = await visitorSay(v.socket, "boundary", long(64, "k"));
    assertMessage(m, { clientId: long(64, "k") });
    stored.push(m);
  });
});

describe("agent requests with malformed payloads or foreign ids", () => {
  let site, agent, v, convId, stored, otherConvId, missing;
  before(async () => {
    ({ site, agent } = await srv.siteWithAgent());
    v = await srv.visitor(site.siteKey);
    convId = v.session.conversation.id;
    stored = [await visitorSay(v.socket, "question"), await agentSay(agent, convId, "answer")];
    const other = await srv.createSite();
    const ov = await srv.visitor(other.siteKey);
    otherConvId = ov.session.conversation.id;
    await visitorSay(ov.socket, "other site's secret");
    ov.socket.disconnect();
    missing = missingIdLike(convId);
  });
  after(() => srv.closeClients());

  const works = async () => {
    const s = assertOk(await call(agent, "sync", { conversationId: convId, afterSeq: 0 }));
    assert.deepEqual(s.messages, stored, "a rejected request must store nothing");
    const l = assertOk(await call(agent, "list", {}));
    assert.equal(l.conversations.find((c) => c.id === convId).status, "open", "a rejected request must not end anything");
  };

  const cases = () => [
    ["send", "no payload", [], "invalid"],
    ["send", "a missing conversationId", [{ clientId: "a1", text: "hi" }], ["invalid", "not_found"]],
    ["send", "a conversationId that does not exist", [{ conversationId: missing, clientId: "a2", text: "hi" }], "not_found"],
    ["send", "another site's conversationId", [{ conversationId: otherConvId, clientId: "a3", text: "hi" }], "not_found"],
    ["send", "a missing clientId", [{ conversationId: convId, text: "hi" }], "invalid"],
    ["send", "a clientId of 65 characters", [{ conversationId: convId, clientId: long(65), text: "hi" }], "invalid"],
    ["send", "an empty text", [{ conversationId: convId, clientId: "a4", text: "" }], "invalid"],
    ["send", "a numeric text", [{ conversationId: convId, clientId: "a5", text: 1 }], "invalid"],
    ["history", "a missing beforeSeq", [{ conversationId: convId }], "invalid"],
    ["history", "limit 101", [{ conversationId: convId, beforeSeq: 3, limit: 101 }], "invalid"],
    ["history", "a conversationId that does not exist", [{ conversationId: missing, beforeSeq: 10 }], "not_found"],
    ["history", "another site's conversationId", [{ conversationId: otherConvId, beforeSeq: 10 }], "not_found"],
    ["sync", "a string afterSeq", [{ conversationId: convId, afterSeq: "0" }], "invalid"],
    ["sync", "a conversationId that does not exist", [{ conversationId: missing, afterSeq: 0 }], "not_found"],
    ["sync", "another site's conversationId", [{ conversationId: otherConvId, afterSeq: 0 }], "not_found"],
    ["read", "a missing seq", [{ conversationId: convId }], "invalid"],
    ["read", "a seq beyond the last message", [{ conversationId: convId, seq: 99 }], "invalid"],
    ["read", "a conversationId that does not exist", [{ conversationId: missing, seq: 1 }], "not_found"],
    ["read", "another site's conversationId", [{ conversationId: otherConvId, seq: 1 }], "not_found"],
    ["end", "no payload", [], "invalid"],
    ["end", "a missing conversationId", [{}], ["invalid", "not_found"]],
    ["end", "a conversationId that does not exist", [{ conversationId: missing }], "not_found"],
    ["end", "another site's conversationId", [{ conversationId: otherConvId }], "not_found"],
    ["list", "limit 0", [{ limit: 0 }], "invalid"],
    ["list", "limit 101", [{ limit: 101 }], "invalid"],
    ["list", "an unknown status", [{ status: "closed" }], "invalid"],
    ["list", "a before that is not a timestamp", [{ before: "yesterday" }], "invalid"],
    ["list", "a string payload", ["open"], "invalid"],
  ];
  // ids are only known after before(): the labels are read now, the payloads in the test.
  cases().forEach(([event, what], i) => {
    it(`agent ${event} with ${what} is answered with the right error and changes nothing`, async () => {
      const [, , args, code] = cases()[i];
      await expectRejected(agent, event, args, code, works);
    });
  });

  it("another site's conversationId is answered exactly like one that does not exist", async () => {
    for (const [event, extra] of [["history", { beforeSeq: 10 }], ["sync", { afterSeq: 0 }], ["read", { seq: 1 }], ["end", {}], ["send", { clientId: cid(), text: "x" }]]) {
      const foreign = await call(agent, event, { conversationId: otherConvId, ...extra });
      const absent = await call(agent, event, { conversationId: missing, ...extra });
      assertError(foreign, "not_found", `${event} foreign`);
      assertError(absent, "not_found", `${event} absent`);
      assert.equal(
        foreign.error.message.replaceAll(String(otherConvId), "<id>"),
        absent.error.message.replaceAll(String(missing), "<id>"),
        `${event}: the error message must not reveal that the foreign conversation exists`,
      );
    }
  });

  it("an unknown agent event is ignored: no ack and the connection stays usable", async () => {
    await assert.rejects(callRaw(agent, "deleteEverything", [{ conversationId: convId }], 800), /timed out|timeout/i);
    assert.ok(agent.connected);
    await works();
  });

  it("a malformed agent typing event is not relayed to the visitor", async () => {
    drain(v.socket);
    agent.emit("typing", { conversationId: convId, typing: "yes" });
    agent.emit("typing", { typing: true });
    agent.emit("typing", { conversationId: otherConvId, typing: true });
    await expectNoEvent(v.socket, "typing", 600);
    await works();
  });
});
