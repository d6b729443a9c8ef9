// A visitor writes at night: no agent is online, so after PARLOR_MAIL_AGENT_DELAY_SECS the
// site's agent gets an e-mail (a real SMTP server, lib/smtp.mjs), and its link opens the
// dashboard at that conversation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, shot, routeShop, gotoShop, W, openWidget, visitorSend, forbidDialogs } from '../lib/harness.mjs';
import { smtpServer } from '../lib/smtp.mjs';

let smtp, server, browser, site;
const problems = [];

before(async () => {
  smtp = await smtpServer();
  server = new Server({
    PARLOR_SMTP_URL: smtp.url,
    PARLOR_MAIL_FROM: 'Parlor <chat@parlor.test>',
    PARLOR_MAIL_AGENT_DELAY_SECS: '1',
  });
  site = server.createSite('Juniper & Oak');
  server.cli(['agent', 'create', '--site', site.siteKey, '--username', 'anna', '--name', 'Anna', '--email', 'anna@juniper.test'], {
    PARLOR_PASSWORD: 'correct horse',
  });
  await server.start();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await smtp?.close();
});

test("an agent's offline-message e-mail links to the conversation in the dashboard", async () => {
  const visitorContext = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  await routeShop(visitorContext, server, site.siteKey);
  const visitor = await visitorContext.newPage();
  forbidDialogs(visitor, problems);
  await gotoShop(visitor, '/products/oak-desk');
  await openWidget(visitor);
  await visitor.locator(W.prechat).waitFor();
  await visitor.locator(`${W.prechat} input[name=name]`).fill('Night Owl');
  await visitor.locator(`${W.prechat} button[type=submit]`).click();
  await visitor.locator(W.input).waitFor();
  await visitorSend(visitor, 'Is the oak desk still in stock?');
  await visitor.locator('parlor-chat .msgs .me .meta').filter({ hasText: 'Sent' }).waitFor();

  const [mail] = await smtp.to('anna@juniper.test', 1, 15000);
  assert.match(mail.subject, /Night Owl wrote to Juniper & Oak/);
  const link = /https?:\/\/\S+\/admin\/conversations\/[A-Za-z0-9_-]+/.exec(mail.text)?.[0];
  assert.ok(link, mail.text);

  const agent = await (await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' })).newPage();
  forbidDialogs(agent, problems);
  await agent.goto(link);
  await agent.getByLabel('Username').fill('anna');
  await agent.getByLabel('Password').fill('correct horse');
  await agent.getByRole('button', { name: 'Sign in' }).click();
  // The linked conversation is open, without a click.
  await agent.locator('.msg.in .bubble').filter({ hasText: 'Is the oak desk still in stock?' }).waitFor();
  await shot(agent, 'dashboard-offline-mail-link.png');
  assert.deepEqual(problems, []);
});
