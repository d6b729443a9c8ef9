// A visitor on a shop's page and an agent in the dashboard chat with each other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, launch, shot, routeShop, gotoShop, W, openWidget, visitorSend, loginAgent, agentSend,
  countExact, eventually, forbidDialogs,
} from '../lib/harness.mjs';

const XSS = '<img src=x onerror=alert(1)>';
let server, browser, site, vctx, actx, visitor, agent;
const problems = [];

before(async () => {
  server = new Server();
  site = server.createSite('Juniper & Oak');
  server.createAgent(site.siteKey, 'anna', 'Anna', 'correct horse');
  await server.start();
  browser = await launch();
  vctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  actx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await routeShop(vctx, server, site.siteKey);
  visitor = await vctx.newPage();
  agent = await actx.newPage();
  forbidDialogs(visitor, problems);
  forbidDialogs(agent, problems);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('a wrong password gets a clear message; the right one logs in', async () => {
  await agent.goto(`${server.url}/admin`);
  await agent.getByLabel('Username').fill('anna');
  await agent.getByLabel('Password').fill('wrong');
  await agent.getByRole('button', { name: 'Sign in' }).click();
  await agent.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();
  await loginAgent(agent, server, 'anna', 'correct horse');
  await agent.getByText('No conversations yet').waitFor();
});

test('the widget on a third-party page shows the pre-chat form, then the first message reaches the agent', async () => {
  await gotoShop(visitor, '/products/alder-table');
  // the host page's CSS must not style the widget
  const bg = await visitor.locator(W.launcher).evaluate((b) => getComputedStyle(b).backgroundColor);
  assert.notEqual(bg, 'rgb(255, 0, 0)');
  assert.equal(await visitor.evaluate(() => typeof window.Parlor?.open), 'function');
  await openWidget(visitor);
  await visitor.locator(W.prechat).waitFor();
  assert.equal(await visitor.locator(W.input).isVisible(), false, 'composer hidden behind the pre-chat form');
  await visitor.locator('parlor-chat input[name=email]').fill('not-an-email');
  await visitor.locator('parlor-chat input[name=name]').fill('Ada Lovelace');
  await visitor.locator('parlor-chat .prechat button').click();
  await visitor.locator('parlor-chat .prechat .err').filter({ hasText: 'valid e-mail' }).waitFor();
  await visitor.locator('parlor-chat input[name=email]').fill('ada@example.com');
  await visitor.locator('parlor-chat .prechat button').click();
  await visitor.locator(W.input).waitFor();
  assert.equal(await visitor.locator(W.prechat).isVisible(), false);

  await visitorSend(visitor, 'Hello! Do you ship to Canada?');
  await visitor.locator('parlor-chat .m.me .meta').filter({ hasText: 'Sent' }).waitFor();

  const item = agent.locator('.conv').filter({ hasText: 'Ada Lovelace' });
  await item.filter({ hasText: 'Do you ship to Canada?' }).waitFor();
  await item.locator('.badge').filter({ hasText: '1' }).waitFor();
  await eventually(async () => (await agent.title()).startsWith('(1)'), { message: 'unread count in the title' });
  await item.click();
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Do you ship to Canada?' }).waitFor();
  await agent.locator('.profile').filter({ hasText: 'ada@example.com' }).waitFor();
  await agent.locator('.profile').filter({ hasText: '/products/alder-table' }).waitFor();
  await eventually(async () => !(await agent.title()).startsWith('('), { message: 'unread cleared' });
});

test('typing indicators appear and disappear, replies arrive both ways with read receipts', async () => {
  // agent types -> visitor sees "Anna is typing…"
  const reply = agent.getByLabel('Reply');
  await reply.fill('We do');
  await reply.press('Space');
  await visitor.locator(W.typing).filter({ hasText: 'Anna is typing' }).waitFor();
  await reply.fill('We do! Shipping to Canada takes 5–7 days: https://example.com/shipping.');
  await reply.press('Enter');
  await visitor.locator('parlor-chat .m.them .bubble').filter({ hasText: 'Shipping to Canada' }).waitFor();
  await visitor.locator(W.typing).waitFor({ state: 'hidden' });
  const link = visitor.locator('parlor-chat .m.them .bubble a');
  assert.equal(await link.getAttribute('href'), 'https://example.com/shipping');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow');
  await visitor.locator('parlor-chat .m.them .who').filter({ hasText: 'Anna' }).waitFor();
  // the open widget marks it read -> the agent sees "Seen"
  await agent.locator('.msg.out .meta').filter({ hasText: 'Seen' }).waitFor();

  // visitor types -> agent sees it, in the thread and in the list
  await visitor.locator(W.input).pressSequentially('Great, and', { delay: 20 });
  await agent.locator('.typing-row').filter({ hasText: 'is typing' }).waitFor();
  await agent.locator('.conv .conv-preview').filter({ hasText: 'typing…' }).waitFor();
  await visitor.locator(W.input).fill('');
  await visitor.locator(W.input).press('Backspace');
  await agent.locator('.typing-row .typing').waitFor({ state: 'detached', timeout: 7000 });

  await visitorSend(visitor, 'Great, and do you deliver to Vancouver Island?');
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Vancouver Island' }).waitFor();
  // the agent has the conversation open -> the visitor's message shows "Read"
  await visitor.locator('parlor-chat .m.me.last .meta').filter({ hasText: 'Read' }).waitFor();
});

test('a closed widget shows an unread badge for agent messages', async () => {
  await visitor.locator('parlor-chat .close').click();
  await visitor.locator(W.panel).waitFor({ state: 'hidden' });
  await agentSend(agent, 'Let me know if you need anything else.');
  await visitor.locator(W.badge).filter({ hasText: '1' }).waitFor();
  assert.match(await visitor.locator(W.launcher).getAttribute('aria-label'), /1 unread/);
  await visitor.keyboard.press('Tab'); // keyboard operable: the launcher has focus after closing
  await visitor.locator(W.launcher).focus();
  await visitor.keyboard.press('Enter');
  await visitor.locator(W.panel).waitFor();
  await visitor.locator(W.badge).waitFor({ state: 'hidden' });
  // focus moves into the panel, Escape closes it again
  await eventually(() => visitor.locator(W.input).evaluate((el) => el.getRootNode().activeElement === el), { message: 'composer focused' });
  await visitor.keyboard.press('Escape');
  await visitor.locator(W.panel).waitFor({ state: 'hidden' });
  await openWidget(visitor);
});

test('HTML in messages is shown as literal text in both UIs', async () => {
  await visitorSend(visitor, XSS);
  await agent.locator('.msg.in .bubble').filter({ hasText: XSS }).waitFor();
  await agentSend(agent, `Echo: ${XSS}`);
  await visitor.locator('parlor-chat .m.them .bubble').filter({ hasText: `Echo: ${XSS}` }).waitFor();
  assert.equal(await countExact(agent.locator('.msg .bubble'), XSS), 1);
  assert.equal(await countExact(visitor.locator(W.bubbles), XSS), 1);
  assert.equal(await agent.locator('.log img').count(), 0);
  assert.equal(await visitor.locator('parlor-chat .msgs img').count(), 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(problems, []);
});

test('the agent dashboard has a strict Content-Security-Policy; assets are cached', async () => {
  const res = await fetch(`${server.url}/admin`);
  const csp = res.headers.get('content-security-policy') || '';
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  const w = await fetch(`${server.url}/widget.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.match(w.headers.get('content-type') || '', /javascript/);
  assert.match(w.headers.get('cache-control') || '', /max-age=300/);
  const html = await res.text();
  const asset = /\/assets\/[^"]+\.js/.exec(html)[0];
  const a = await fetch(server.url + asset);
  assert.equal(a.status, 200);
  assert.match(a.headers.get('cache-control') || '', /immutable/);
});

test('a reload keeps the history, each message exactly once', async () => {
  const before = await visitor.locator(W.bubbles).allTextContents();
  assert.ok(before.length >= 5, `history before reload: ${before.length}`);
  await visitor.reload();
  await openWidget(visitor);
  await eventually(async () => (await visitor.locator(W.bubbles).count()) === before.length, {
    message: `${before.length} bubbles after reload`,
  });
  assert.deepEqual(await visitor.locator(W.bubbles).allTextContents(), before);
  assert.equal(await visitor.locator(W.prechat).isVisible(), false, 'no pre-chat form for a returning visitor');
});

test('screenshots: widget on desktop and on a 360 px phone, dashboard list and conversation', async () => {
  // the demo page embeds the widget the way a customer would (another origin, so a new visitor)
  const demo = await vctx.newPage();
  forbidDialogs(demo, problems); // the demo page has a CSP too: the widget must work under it
  await demo.goto(`${server.url}/demo?site=${site.siteKey}`);
  await openWidget(demo);
  await demo.locator('parlor-chat input[name=name]').fill('Grace Hopper');
  await demo.locator('parlor-chat input[name=email]').fill('grace@example.com');
  await demo.locator('parlor-chat .prechat button').click();
  await visitorSend(demo, 'Hi! Is the Wren lounge chair available in walnut?');
  await visitorSend(demo, 'And roughly how long would delivery to Seattle take?');
  await agent.locator('.conv').filter({ hasText: 'Grace Hopper' }).click();
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Seattle' }).waitFor();
  await agentSend(agent, 'Hi Grace! Yes, walnut is in stock. Delivery to Seattle usually takes 3–5 business days.');
  await agentSend(agent, 'Here are the details: https://example.com/wren-walnut');
  await demo.locator('parlor-chat .m.them .bubble a').waitFor();
  const reply = agent.getByLabel('Reply');
  await reply.pressSequentially('Anything else', { delay: 10 });
  await demo.locator(W.typing).waitFor();
  await demo.waitForTimeout(300);
  await shot(demo, 'widget-desktop.png');
  await reply.fill('');

  const phone = await browser.newContext({
    viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, reducedMotion: 'reduce',
  });
  const p = await phone.newPage();
  await p.goto(`${server.url}/demo?site=${site.siteKey}`);
  await p.locator(W.launcher).waitFor();
  await p.waitForTimeout(300);
  await shot(p, 'widget-360-closed.png');
  await openWidget(p);
  await p.locator(W.prechat).waitFor();
  const box = await p.locator(W.panel).boundingBox();
  assert.ok(box && box.width <= 360 && box.x >= 0, `panel fits a 360 px screen: ${JSON.stringify(box)}`);
  assert.equal(await p.locator(W.panel).evaluate((el) => getComputedStyle(el).animationName), 'none', 'prefers-reduced-motion');
  await shot(p, 'widget-360-prechat.png');
  await p.locator('parlor-chat input[name=name]').fill('Linus');
  await p.locator('parlor-chat .prechat button').click();
  await visitorSend(p, 'Do you offer assembly for the Alder table?');
  await p.locator('parlor-chat .m.me .meta').filter({ hasText: 'Sent' }).waitFor();
  await agent.locator('.conv').filter({ hasText: 'Linus' }).click();
  await agentSend(agent, 'We do! White-glove delivery includes assembly, free over $1,000.');
  await p.locator('parlor-chat .m.them').waitFor();
  await p.waitForTimeout(300);
  await shot(p, 'widget-360.png');
  await phone.close();

  await agent.locator('.conv').filter({ hasText: 'Ada Lovelace' }).click();
  await agent.locator('.msg.in').first().waitFor();
  await agent.waitForTimeout(300);
  await shot(agent, 'dashboard-conversation.png');
  await agent.locator('.back').evaluate((b) => b.click());
  await agent.getByText('Pick a conversation').waitFor();
  await visitorSend(demo, 'Perfect, I will order it today. Can I pay on delivery?');
  await agent.locator('.conv').filter({ hasText: 'Grace Hopper' }).locator('.badge').waitFor();
  assert.match(await agent.locator('.conv').first().innerText(), /Grace Hopper/, 'live reordering: newest activity first');
  await demo.locator(W.input).pressSequentially('Also', { delay: 10 });
  await agent.locator('.conv .conv-preview').filter({ hasText: 'typing…' }).waitFor();
  await shot(agent, 'dashboard-list.png');
  await demo.locator(W.input).fill('');
  await demo.close();
});

test('ending the chat shows "chat ended" to the visitor, and the next message reopens it', async () => {
  const item = agent.locator('.conv').filter({ hasText: 'Ada Lovelace' });
  await item.click();
  await agent.getByRole('button', { name: 'End chat' }).click();
  await agent.locator('.thread-head .tag').filter({ hasText: 'Chat ended' }).waitFor();
  await item.locator('.tag').filter({ hasText: 'Ended' }).waitFor();
  await visitor.locator(W.ended).waitFor();
  await agent.getByRole('tab', { name: 'Ended' }).click();
  await agent.locator('.conv').filter({ hasText: 'Ada Lovelace' }).waitFor();
  await agent.getByRole('tab', { name: 'Open' }).click();
  await agent.locator('.conv').filter({ hasText: 'Ada Lovelace' }).waitFor({ state: 'detached' });

  await visitorSend(visitor, 'One more thing: can I pick it up in Portland?');
  await visitor.locator(W.ended).waitFor({ state: 'hidden' });
  await agent.locator('.conv').filter({ hasText: 'Ada Lovelace' }).waitFor();
  await agent.getByRole('tab', { name: 'All' }).click();
  await agent.getByRole('button', { name: 'End chat' }).waitFor();
  await agent.locator('.msg.in .bubble').filter({ hasText: 'pick it up in Portland' }).waitFor();
});

test('no dialogs, page errors or CSP violations happened in either UI', () => {
  assert.deepEqual(problems, []);
});

test('search filters the loaded conversations by name, e-mail and text', async () => {
  const search = agent.getByLabel('Search conversations');
  await search.fill('walnut');
  await agent.locator('.conv').filter({ hasText: 'Grace Hopper' }).waitFor();
  assert.equal(await agent.locator('.conv').count(), 1);
  await search.fill('ada@example');
  await agent.locator('.conv').filter({ hasText: 'Ada Lovelace' }).waitFor();
  assert.equal(await agent.locator('.conv').count(), 1);
  await search.fill('');
  assert.equal(await agent.locator('.conv').count(), 3);
});
