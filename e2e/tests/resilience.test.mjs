// Dropped networks, reconnects and several tabs: every message exactly once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, launch, routeShop, gotoShop, W, openWidget, visitorSend, loginAgent, agentSend, countExact, eventually,
} from '../lib/harness.mjs';

let server, browser, site, agentCtx, agent;

before(async () => {
  server = new Server();
  site = server.createSite('Resilient Shop');
  server.createAgent(site.siteKey, 'rita', 'Rita', 'pw-rita-123');
  await server.start();
  browser = await launch();
  agentCtx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  agent = await agentCtx.newPage();
  await loginAgent(agent, server, 'rita', 'pw-rita-123');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function newVisitor(name) {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  await routeShop(ctx, server, site.siteKey);
  const page = await ctx.newPage();
  await gotoShop(page, '/');
  await openWidget(page);
  await page.locator(W.prechat).waitFor();
  await page.locator('parlor-chat input[name=name]').fill(name);
  await page.locator('parlor-chat .prechat button').click();
  await page.locator(W.input).waitFor();
  return { ctx, page };
}

test('a message typed while offline is queued, shown as pending, and delivered once', async () => {
  const { ctx, page } = await newVisitor('Olivia Offline');
  await visitorSend(page, 'First message, online');
  await agent.locator('.conv').filter({ hasText: 'Olivia Offline' }).click();
  await agent.locator('.msg.in .bubble').filter({ hasText: 'First message, online' }).waitFor();

  await ctx.setOffline(true);
  await page.locator(W.conn).filter({ hasText: 'offline' }).waitFor();
  await visitorSend(page, 'Typed while offline');
  await page.locator('parlor-chat .m.pending .meta').filter({ hasText: 'Sending' }).waitFor();
  await visitorSend(page, 'Second while offline');
  await page.waitForTimeout(800);
  assert.equal(await countExact(agent.locator('.msg .bubble'), 'Typed while offline'), 0, 'not delivered while offline');

  await ctx.setOffline(false);
  await page.locator('parlor-chat .m.me.last .meta').filter({ hasText: /Sent|Read/ }).waitFor();
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Second while offline' }).waitFor();
  await page.waitForTimeout(500);
  for (const text of ['Typed while offline', 'Second while offline']) {
    assert.equal(await countExact(agent.locator('.msg .bubble'), text), 1, `agent has "${text}" once`);
    assert.equal(await countExact(page.locator(W.bubbles), text), 1, `visitor has "${text}" once`);
  }
  // order kept: the queued messages arrive in the order they were typed
  const texts = await agent.locator('.msg.in .bubble').allTextContents();
  assert.ok(texts.indexOf('Typed while offline') < texts.indexOf('Second while offline'));
  assert.equal(await page.locator('parlor-chat .m.pending').count(), 0);

  // and after a reload still exactly once
  await page.reload();
  await openWidget(page);
  await eventually(async () => (await countExact(page.locator(W.bubbles), 'Second while offline')) === 1, {
    message: 'history after reload',
  });
  assert.equal(await countExact(page.locator(W.bubbles), 'Typed while offline'), 1);
  await ctx.close();
});

test('the dashboard shows a reconnect banner and catches up with sync, without duplicates', async () => {
  const { ctx, page } = await newVisitor('Rafael Reconnect');
  await visitorSend(page, 'Hello before the agent drops');
  const item = agent.locator('.conv').filter({ hasText: 'Rafael Reconnect' });
  await item.click();
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Hello before the agent drops' }).waitFor();

  await agentCtx.setOffline(true);
  await agent.locator('.banner').filter({ hasText: 'Reconnecting' }).waitFor();
  await visitorSend(page, 'Sent while the agent was away 1');
  await visitorSend(page, 'Sent while the agent was away 2');
  await agentSend(agent, 'Agent reply typed while offline');
  await agent.locator('.msg.pending').waitFor();
  await page.waitForTimeout(500);

  await agentCtx.setOffline(false);
  await agent.locator('.banner').waitFor({ state: 'detached' });
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Sent while the agent was away 2' }).waitFor();
  await page.locator('parlor-chat .m.them .bubble').filter({ hasText: 'Agent reply typed while offline' }).waitFor();
  await page.waitForTimeout(500);
  for (const text of ['Hello before the agent drops', 'Sent while the agent was away 1', 'Sent while the agent was away 2', 'Agent reply typed while offline']) {
    assert.equal(await countExact(agent.locator('.msg .bubble'), text), 1, `agent has "${text}" once`);
  }
  assert.equal(await countExact(page.locator(W.bubbles), 'Agent reply typed while offline'), 1);
  await ctx.close();
});

test('two tabs of one visitor stay consistent', async () => {
  const { ctx, page: tab1 } = await newVisitor('Tara Tabs');
  const tab2 = await ctx.newPage();
  await gotoShop(tab2, '/second-tab');
  await openWidget(tab2);
  await tab2.locator(W.input).waitFor();

  await visitorSend(tab1, 'Sent from tab one');
  await tab2.locator(W.bubbles).filter({ hasText: 'Sent from tab one' }).waitFor();
  await visitorSend(tab2, 'Sent from tab two');
  await tab1.locator(W.bubbles).filter({ hasText: 'Sent from tab two' }).waitFor();

  await agent.locator('.conv').filter({ hasText: 'Tara Tabs' }).click();
  await agentSend(agent, 'Hi Tara, replying to both tabs');
  for (const tab of [tab1, tab2]) {
    await tab.locator('parlor-chat .m.them .bubble').filter({ hasText: 'replying to both tabs' }).waitFor();
  }
  await tab1.waitForTimeout(300);
  const one = await tab1.locator(W.bubbles).allTextContents();
  const two = await tab2.locator(W.bubbles).allTextContents();
  assert.deepEqual(one, two);
  assert.deepEqual(one, ['Sent from tab one', 'Sent from tab two', 'Hi Tara, replying to both tabs']);
  assert.equal(await countExact(agent.locator('.msg .bubble'), 'Sent from tab one'), 1);
  await ctx.close();
});

test('history pages in when scrolling up, in the widget and in the dashboard', async () => {
  const { ctx, page } = await newVisitor('Hank History');
  const N = 75;
  for (let i = 1; i <= N; i++) await visitorSend(page, `history message ${i}`);
  await page.locator(W.bubbles).filter({ hasText: `history message ${N}` }).waitFor();
  await eventually(async () => (await page.locator('parlor-chat .m.pending').count()) === 0, { timeout: 20000, message: 'all sent' });

  await page.reload();
  await openWidget(page);
  await page.locator(W.bubbles).filter({ hasText: `history message ${N}` }).waitFor();
  assert.equal(await page.locator(W.bubbles).count(), 50, 'the session brings the latest 50');
  await page.locator('parlor-chat .log').evaluate((el) => (el.scrollTop = 0));
  await page.locator(W.bubbles).filter({ hasText: /^history message 1$/ }).waitFor();
  const texts = await page.locator(W.bubbles).allTextContents();
  assert.deepEqual(texts, Array.from({ length: N }, (_, i) => `history message ${i + 1}`));

  await agent.locator('.conv').filter({ hasText: 'Hank History' }).click();
  await agent.locator('.msg.in .bubble').filter({ hasText: `history message ${N}` }).waitFor();
  assert.equal(await agent.locator('.msg .bubble').count(), 50);
  await agent.locator('.log').evaluate((el) => (el.scrollTop = 0));
  await agent.locator('.msg .bubble').filter({ hasText: /^history message 1$/ }).waitFor();
  assert.equal(await agent.locator('.msg .bubble').count(), N);
  await ctx.close();
});

test('Parlor.identify() fills the profile and skips the pre-chat form', async () => {
  const ctx = await browser.newContext();
  await routeShop(ctx, server, site.siteKey);
  const page = await ctx.newPage();
  await gotoShop(page, '/account');
  await page.waitForFunction(() => window.Parlor && window.Parlor.identify);
  await page.evaluate(() => window.Parlor.identify({ name: 'Ivy Identified', email: 'ivy@example.com', phone: '+1 503 555 0100' }));
  await page.evaluate(() => window.Parlor.open());
  await page.locator(W.input).waitFor();
  assert.equal(await page.locator(W.prechat).isVisible(), false);
  await visitorSend(page, 'I am logged in to your shop');
  const item = agent.locator('.conv').filter({ hasText: 'Ivy Identified' });
  await item.click();
  await agent.locator('.profile').filter({ hasText: 'ivy@example.com' }).filter({ hasText: '+1 503 555 0100' }).waitFor();
  await ctx.close();
});
