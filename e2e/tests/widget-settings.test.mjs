// A site's own settings (what its admins set with `updateSettings`) show in a widget opened
// afterwards on the shop's page: the accent colour, the greeting, the away message while no
// agent is online, and the pre-chat fields it requires. The settings are written to the
// database directly here; tests/protocol/settings.test.mjs covers the admin operations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Server, launch, shot, routeShop, gotoShop, W, openWidget, forbidDialogs } from '../lib/harness.mjs';

let server, browser, site, ctx, page;
const problems = [];
const GREETING = 'Hej! Fresh beans roasted every Tuesday.\nAsk us anything <b>here</b>.';
const AWAY = 'Nobody in the roastery right now — we answer within a day.';

before(async () => {
  server = new Server();
  site = server.createSite('Roastery');
  await server.start();
  const db = join(server.dir, 'parlor.db');
  const sql = (statement) => execFileSync('sqlite3', [db, statement]);
  sql(
    `UPDATE sites SET accent_color = '#0f766e', greeting = '${GREETING.replace(/'/g, "''")}', ` +
      `away_message = '${AWAY}', prechat_fields = '["name","email"]', prechat_required = '["email"]' ` +
      `WHERE site_key = '${site.siteKey}'`,
  );
  browser = await launch();
  ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await routeShop(ctx, server, site.siteKey);
  page = await ctx.newPage();
  forbidDialogs(page, problems);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a new widget shows the site's accent colour, greeting and away message, as text", async () => {
  await gotoShop(page);
  await openWidget(page);
  const hello = page.locator('parlor-chat .hello');
  await hello.filter({ hasText: 'Fresh beans' }).waitFor();
  // Text, never HTML: the tags show as typed, and the line break is kept.
  assert.equal(await hello.textContent(), GREETING);
  assert.equal(await page.locator('parlor-chat .hello b').count(), 0);
  const launcherColor = await page.locator(W.launcher).evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(launcherColor, 'rgb(15, 118, 110)');
  await shot(page, 'widget-site-settings.png');
});

test('the pre-chat form marks and requires the required field, and the away message shows once past it', async () => {
  await page.locator(W.prechat).waitFor();
  const email = page.locator(`${W.prechat} input[name=email]`);
  assert.equal(await email.evaluate((el) => el.required), true);
  assert.equal(await page.locator(`${W.prechat} input[name=name]`).evaluate((el) => el.required), false);
  await page.locator(`${W.prechat} button[type=submit]`).click();
  await page.locator('parlor-chat .prechat .err').filter({ hasText: 'marked *' }).waitFor();
  await email.fill('ada@example.com');
  await page.locator(`${W.prechat} button[type=submit]`).click();
  await page.locator(W.prechat).waitFor({ state: 'hidden' });
  const away = page.locator('parlor-chat .away');
  await away.waitFor();
  assert.equal(await away.textContent(), AWAY);
  assert.deepEqual(problems, []);
});
