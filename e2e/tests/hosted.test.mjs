// The hosted pages in Chromium: the "Continue the conversation" link of an e-mail (GET /c/TOKEN)
// opens the conversation on another device, full page on a phone, and `GET /chat/SITE_KEY` is a
// chat with the site that needs no embedding. E-mails go through a real SMTP server (lib/smtp.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, launch, shot, routeShop, gotoShop, W, openWidget, visitorSend, loginAgent, agentSend, forbidDialogs,
} from '../lib/harness.mjs';
import { smtpServer } from '../lib/smtp.mjs';

/** Another device: a phone-sized browser with nothing stored. */
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, locale: 'en-US' };
const CLOSE = 'parlor-chat .close';

/** Waits until the own message `text` is stored: its line says "Sent" (or already "Read"). */
const stored = (page, text) =>
  page.locator('parlor-chat .msgs .m.me', { hasText: text }).locator('.meta').filter({ hasText: /Sent|Read/ }).waitFor();

let smtp, server, browser, site, agent;
const problems = [];

before(async () => {
  smtp = await smtpServer();
  server = new Server({ PARLOR_SMTP_URL: smtp.url, PARLOR_MAIL_FROM: 'Parlor <chat@parlor.test>' });
  site = server.createSite('Juniper & Oak');
  server.createAgent(site.siteKey, 'anna', 'Anna', 'correct horse');
  await server.start();
  browser = await launch();
  agent = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' })).newPage();
  forbidDialogs(agent, problems);
  await loginAgent(agent, server, 'anna', 'correct horse');
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.close();
});

/** A page in a new browser context (`opts`: its options), failing the test on dialogs and CSP reports. */
async function freshPage(opts) {
  const ctx = await browser.newContext(opts);
  const page = await ctx.newPage();
  forbidDialogs(page, problems);
  return page;
}

/** The widget is the whole page: the panel fills the viewport; no launcher, no close button. */
async function assertFullPage(page) {
  await page.locator(W.panel).waitFor();
  const box = await page.locator(W.panel).boundingBox();
  const { width, height } = page.viewportSize();
  assert.deepEqual(
    [box.x, box.y, box.width, box.height].map(Math.round),
    [0, 0, width, height],
    'the panel fills the viewport',
  );
  assert.equal(await page.locator(W.launcher).isVisible(), false, 'no launcher bubble');
  assert.equal(await page.locator(CLOSE).isVisible(), false, 'no close button');
}

test('the link of a transcript e-mail opens the conversation on a phone, and a message sent there reaches the agent', async () => {
  // At a desk, on the shop's page: a question, the agent's answer, the transcript by e-mail.
  const desk = await freshPage({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  await routeShop(desk.context(), server, site.siteKey);
  await gotoShop(desk, '/products/oak-desk');
  await openWidget(desk);
  await desk.locator(`${W.prechat} input[name=email]`).fill('lin@example.com');
  await desk.locator(`${W.prechat} button[type=submit]`).click();
  await visitorSend(desk, 'Is the oak desk available in walnut?');
  await stored(desk, 'Is the oak desk available in walnut?');
  await agent.locator('.conv', { hasText: 'lin@example.com' }).click();
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Is the oak desk available in walnut?' }).waitFor();
  await agentSend(agent, 'Yes, in six weeks.');
  await desk.locator(W.bubbles).filter({ hasText: 'Yes, in six weeks.' }).waitFor();
  await desk.locator('parlor-chat .transcript-offer').click();
  await desk.locator('parlor-chat .transcript-note').filter({ hasText: 'Sent to lin@example.com' }).waitFor();
  await desk.context().close();

  const [mail] = await smtp.to('lin@example.com');
  const found = /\/c\/([^\s"'<>()\[\]]+)/.exec(mail.text);
  assert.ok(found, `the e-mail carries a /c/ link:\n${mail.text}`);
  const link = `${server.url}/c/${found[1]}`;

  // On a phone, with nothing stored: the link opens the conversation, full page.
  const phone = await freshPage(PHONE);
  const res = await phone.goto(link);
  assert.equal(res.status(), 200);
  assert.equal(await phone.title(), 'Juniper & Oak');
  await phone.locator(W.bubbles).filter({ hasText: 'Is the oak desk available in walnut?' }).waitFor();
  await phone.locator(W.bubbles).filter({ hasText: 'Yes, in six weeks.' }).waitFor();
  await assertFullPage(phone);
  assert.equal(await phone.locator(W.prechat).isVisible(), false, 'a known visitor: no pre-chat form');
  await shot(phone, 'hosted-link-phone.png');

  await visitorSend(phone, 'Great, I will order it from my phone.');
  await stored(phone, 'Great, I will order it from my phone.');
  // The agent still has the conversation open: the message is in it, not in a new one.
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Great, I will order it from my phone.' }).waitFor();
  assert.equal(await agent.locator('.conv', { hasText: 'lin@example.com' }).count(), 1, 'one conversation');
  // The page agents see is the site's hosted page, never the link with its token.
  await agent.locator(`.profile a[href="${server.url}/chat/${site.siteKey}"]`).waitFor();
  assert.equal(await agent.locator('.profile a[href*="/c/"]').count(), 0);
  await shot(agent, 'hosted-link-dashboard.png');

  // And the agent's answer reaches the phone, after a reload as well (the link's token again).
  await agentSend(agent, 'Wonderful, see you soon.');
  await phone.locator(W.bubbles).filter({ hasText: 'Wonderful, see you soon.' }).waitFor();
  await phone.reload();
  await phone.locator(W.bubbles).filter({ hasText: 'Wonderful, see you soon.' }).waitFor();
  await phone.locator(W.bubbles).filter({ hasText: 'Is the oak desk available in walnut?' }).waitFor();
  assert.deepEqual(problems, []);
});

test('/chat/SITE_KEY in a fresh browser starts a conversation that reaches the agent', async () => {
  const phone = await freshPage(PHONE);
  const res = await phone.goto(`${server.url}/chat/${site.siteKey}`);
  assert.equal(res.status(), 200);
  assert.equal(await phone.title(), 'Juniper & Oak');
  await assertFullPage(phone);
  await phone.locator(W.prechat).waitFor();
  await phone.locator(`${W.prechat} input[name=name]`).fill('Mo Reyes');
  await phone.locator(`${W.prechat} button[type=submit]`).click();
  await visitorSend(phone, 'Do you deliver to Lyon?');
  await stored(phone, 'Do you deliver to Lyon?');
  await shot(phone, 'hosted-chat-phone.png');

  const item = agent.locator('.conv').filter({ hasText: 'Mo Reyes' });
  await item.filter({ hasText: 'Do you deliver to Lyon?' }).waitFor();
  await item.click();
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Do you deliver to Lyon?' }).waitFor();
  await agent.locator(`.profile a[href="${server.url}/chat/${site.siteKey}"]`).waitFor();
  await agentSend(agent, 'We do, in about a week.');
  await phone.locator(W.bubbles).filter({ hasText: 'We do, in about a week.' }).waitFor();

  // On a wide screen the chat is a centred column.
  await phone.setViewportSize({ width: 1280, height: 800 });
  const box = await phone.locator(W.panel).boundingBox();
  assert.ok(box.width <= 760 && Math.abs(box.x - (1280 - box.width) / 2) <= 1, JSON.stringify(box));
  await shot(phone, 'hosted-chat-wide.png');
  assert.deepEqual(problems, []);
});

test('a link that is not valid opens a page that says so', async () => {
  const page = await freshPage(PHONE);
  const res = await page.goto(`${server.url}/c/not-a-valid-link`);
  assert.equal(res.status(), 404);
  await page.getByText('This link has expired or is not valid').waitFor();
  assert.equal(await page.locator('parlor-chat').count(), 0, 'no widget');
  await shot(page, 'hosted-link-not-valid.png');
  assert.deepEqual(problems, []);
});
