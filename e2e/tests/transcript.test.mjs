// The conversation by e-mail, through a real SMTP server (lib/smtp.mjs): the widget's
// "E-mail me this conversation" (with its address form for a visitor who gave none) and the
// dashboard's "Send transcript". A server without PARLOR_SMTP_URL offers neither in the widget.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, shot, routeShop, gotoShop, W, openWidget, visitorSend, loginAgent, forbidDialogs } from '../lib/harness.mjs';
import { smtpServer } from '../lib/smtp.mjs';

const T = {
  box: 'parlor-chat .transcript',
  offer: 'parlor-chat .transcript-offer',
  form: 'parlor-chat .transcript-form',
  email: 'parlor-chat .transcript-form input',
  note: 'parlor-chat .transcript-note',
};

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
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.close();
});

/** A new visitor (a browser context of its own) on the shop page of `on`'s site `siteKey`,
 * past the pre-chat form (with `email` when given), having written `text`, stored. */
async function visitorWho({ on = server, siteKey = site.siteKey, email = '', text }) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  await routeShop(ctx, on, siteKey);
  const page = await ctx.newPage();
  forbidDialogs(page, problems);
  await gotoShop(page, '/products/oak-desk');
  await openWidget(page);
  await page.locator(W.prechat).waitFor();
  if (email) await page.locator(`${W.prechat} input[name=email]`).fill(email);
  await page.locator(`${W.prechat} button[type=submit]`).click();
  await page.locator(W.input).waitFor();
  await visitorSend(page, text);
  // stored: the last own message says "Sent"
  await page.locator('parlor-chat .msgs .me .meta').filter({ hasText: 'Sent' }).waitFor();
  return page;
}

test('a visitor without an e-mail address types one into the widget and gets the conversation by e-mail', async () => {
  const text = 'Do you deliver oak tables to Porto?';
  const page = await visitorWho({ text });
  const offer = page.locator(T.offer);
  await offer.waitFor();
  assert.equal(await offer.textContent(), 'E-mail me this conversation');
  await shot(page, 'widget-transcript-offer.png');
  await offer.click();
  const email = page.locator(T.email);
  await email.waitFor();
  assert.equal(await email.getAttribute('type'), 'email');
  assert.equal(await email.getAttribute('autocomplete'), 'email');
  assert.equal(await offer.isVisible(), false, 'the form takes the text button’s place');
  await email.fill('ada@example.com');
  await shot(page, 'widget-transcript-form.png');
  await page.locator(`${T.form} button[type=submit]`).click();
  await page.locator(T.note).filter({ hasText: 'Sent to ada@example.com' }).waitFor();
  assert.equal(await page.locator(T.form).isVisible(), false);
  await shot(page, 'widget-transcript-sent.png');

  const mails = await smtp.to('ada@example.com');
  assert.equal(mails.length, 1);
  assert.match(mails[0].subject, /Juniper & Oak/);
  assert.ok(mails[0].text.includes(text), mails[0].text);
  assert.deepEqual(problems, []);
});

test("an address the server refuses keeps the form and asks to check it; nothing is sent", async () => {
  const page = await visitorWho({ text: 'Is the bench solid oak?' });
  await page.locator(T.offer).click();
  // The widget's own check lets it through; the server's (a domain starting with a dot) does not.
  await page.locator(T.email).fill('eve@.example.com');
  await page.locator(`${T.form} button[type=submit]`).click();
  await page.locator(T.note).filter({ hasText: 'Please check your e-mail address' }).waitFor();
  assert.equal(await page.locator(T.form).isVisible(), true);
  assert.equal(await page.locator(`${T.form} button[type=submit]`).isEnabled(), true, 'the form can be sent again');
  assert.equal(smtp.mails.filter((m) => m.to.includes('eve@')).length, 0);
});

test('a visitor who gave an e-mail address in the pre-chat form gets the conversation with one click', async () => {
  const page = await visitorWho({ email: 'cy@example.com', text: 'Can I pick up the chair myself?' });
  await page.locator(T.offer).click();
  await page.locator(T.note).filter({ hasText: 'Sent to cy@example.com' }).waitFor();
  assert.equal(await page.locator(T.form).isVisible(), false, 'no form: the address is known');
  const mails = await smtp.to('cy@example.com');
  assert.equal(mails.length, 1);
  assert.ok(mails[0].text.includes('Can I pick up the chair myself?'));
});

test("an agent sends the transcript to the address the visitor gave in the pre-chat form", async () => {
  const text = 'Is the walnut desk in stock?';
  await visitorWho({ email: 'bo@example.com', text });
  await loginAgent(agent, server, 'anna', 'correct horse');
  await agent.locator('.conv', { hasText: 'bo@example.com' }).click();
  await agent.locator('.thread .bubble', { hasText: text }).waitFor();
  const action = agent.getByRole('button', { name: 'Send transcript' });
  await action.click();
  await agent.getByRole('status').filter({ hasText: 'Transcript sent to bo@example.com' }).waitFor();
  await shot(agent, 'dashboard-transcript-sent.png');
  const mails = await smtp.to('bo@example.com');
  assert.equal(mails.length, 1);
  assert.ok(mails[0].text.includes(text), mails[0].text);
  assert.deepEqual(problems, []);
});

test('the dashboard offers no transcript for a visitor without an e-mail address', async () => {
  await visitorWho({ text: 'Just browsing, thanks.' });
  const conv = agent.locator('.conv', { hasText: 'Just browsing, thanks.' });
  await conv.click();
  await agent.locator('.thread .bubble', { hasText: 'Just browsing, thanks.' }).waitFor();
  assert.equal(await agent.getByRole('button', { name: 'End chat' }).isVisible(), true);
  assert.equal(await agent.getByRole('button', { name: 'Send transcript' }).count(), 0);
});

test('a widget of a server that sends no e-mail shows no transcript button', async () => {
  const plain = new Server({ PARLOR_SMTP_URL: undefined });
  const other = plain.createSite('Alder & Ash');
  await plain.start();
  try {
    const page = await visitorWho({ on: plain, siteKey: other.siteKey, email: 'di@example.com', text: 'Hello there' });
    // The session came before the message was stored, and the widget has rendered since.
    assert.equal(await page.locator(T.box).isVisible(), false);
    assert.equal(await page.locator(T.offer).isVisible(), false);
  } finally {
    await plain.stop();
  }
});
