// Sites are isolated: what happens on site A never shows up for site B, in either UI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, routeShop, gotoShop, W, openWidget, visitorSend, loginAgent } from '../lib/harness.mjs';

let server, browser, a, b;

before(async () => {
  server = new Server();
  a = server.createSite('Alpha Bikes');
  b = server.createSite('Bravo Books');
  server.createAgent(a.siteKey, 'alice', 'Alice', 'alpha-pass-1');
  server.createAgent(b.siteKey, 'bruno', 'Bruno', 'bravo-pass-1');
  await server.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function visitorOn(siteKey, name, text) {
  const ctx = await browser.newContext();
  await routeShop(ctx, server, siteKey);
  const page = await ctx.newPage();
  await gotoShop(page, '/');
  await openWidget(page);
  await page.locator('parlor-chat input[name=name]').fill(name);
  await page.locator('parlor-chat .prechat button').click();
  // no agent is online yet: the widget says so and still takes the message
  await page.locator('parlor-chat .status').filter({ hasText: 'Away' }).waitFor();
  await page.locator('parlor-chat .away').filter({ hasText: 'leave a message' }).waitFor();
  await visitorSend(page, text);
  await page.locator('parlor-chat .m.me .meta').filter({ hasText: 'Sent' }).waitFor();
  return { ctx, page };
}

test('each agent sees only the conversations of their own site', async () => {
  const va = await visitorOn(a.siteKey, 'Visitor Of Alpha', 'alpha secret: order #A-1');
  const vb = await visitorOn(b.siteKey, 'Visitor Of Bravo', 'bravo question: order #B-2');

  const bctx = await browser.newContext();
  const bruno = await bctx.newPage();
  await loginAgent(bruno, server, 'bruno', 'bravo-pass-1');
  await vb.page.locator('parlor-chat .status').filter({ hasText: 'Online' }).waitFor();
  // an agent of B online does not make site A look online
  await va.page.waitForTimeout(500);
  assert.match(await va.page.locator('parlor-chat .status').innerText(), /Away/);
  const actx = await browser.newContext();
  const alice = await actx.newPage();
  await loginAgent(alice, server, 'alice', 'alpha-pass-1');

  await alice.locator('.conv').filter({ hasText: 'Visitor Of Alpha' }).waitFor();
  await va.page.locator('parlor-chat .status').filter({ hasText: 'Online' }).waitFor();
  await bruno.locator('.conv').filter({ hasText: 'Visitor Of Bravo' }).waitFor();

  // live traffic after login is isolated too
  await visitorSend(va.page, 'alpha live: second message');
  await alice.locator('.conv').filter({ hasText: 'alpha live' }).waitFor();
  await bruno.waitForTimeout(500);

  const aliceText = await alice.locator('.sidebar').innerText();
  const brunoText = await bruno.locator('.sidebar').innerText();
  assert.equal(await alice.locator('.conv').count(), 1);
  assert.equal(await bruno.locator('.conv').count(), 1);
  assert.doesNotMatch(aliceText, /Bravo|bravo/);
  assert.doesNotMatch(brunoText, /Alpha|alpha/);

  // a visitor token of site A is useless on site B: the widget on B starts afresh
  const token = await va.page.evaluate((k) => localStorage.getItem(`parlor:${k}:token`), a.siteKey);
  assert.ok(token);
  const cross = await browser.newContext();
  await routeShop(cross, server, b.siteKey);
  await cross.addInitScript(([k, t]) => localStorage.setItem(`parlor:${k}:token`, t), [b.siteKey, token]);
  const p = await cross.newPage();
  await gotoShop(p, '/');
  await openWidget(p);
  await p.locator(W.prechat).waitFor();
  assert.equal(await p.locator(W.bubbles).count(), 0);

  for (const c of [va.ctx, vb.ctx, actx, bctx, cross]) await c.close();
});

test('an unknown site key shows that chat is unavailable', async () => {
  const ctx = await browser.newContext();
  await routeShop(ctx, server, 'no-such-site');
  const page = await ctx.newPage();
  await gotoShop(page, '/');
  await openWidget(page);
  await page.locator('parlor-chat .hello').filter({ hasText: 'not available' }).waitFor();
  await ctx.close();
});
