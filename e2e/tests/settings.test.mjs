// The Settings page (admins): an admin changes the site's settings in the dashboard and a widget
// opened afterwards on the shop's page (another origin) shows them; the embed snippet copies;
// the server's refusal shows beside the form; a plain agent never sees the page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, shot, routeShop, gotoShop, W, openWidget, loginAgent, eventually, forbidDialogs } from '../lib/harness.mjs';

let server, browser, site, admin;
const problems = [];
const GREETING = 'Hej! Fresh oak every Tuesday.\nAsk us anything <b>here</b>.';

async function newPage(opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...opts });
  const page = await ctx.newPage();
  forbidDialogs(page, problems);
  return page;
}

/** Opens the Settings page from the dashboard's navigation, once the settings are loaded. */
async function openSettings(page) {
  await page.locator('.topbar nav').getByRole('button', { name: 'Settings' }).click();
  await page.locator('.settings-page').waitFor();
  await page.getByLabel('Display name').waitFor();
}

async function save(page) {
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('.save-bar [role=status]').filter({ hasText: 'Saved' }).waitFor();
}

/** A widget opened now, in a new browser context, on the shop's page. */
async function freshWidget(opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
  await routeShop(ctx, server, site.siteKey);
  const page = await ctx.newPage();
  forbidDialogs(page, problems);
  await gotoShop(page, '/products/oak-bench');
  await openWidget(page);
  return page;
}

before(async () => {
  server = new Server();
  site = server.createSite('Juniper & Oak');
  server.createAgent(site.siteKey, 'olga', 'Olga Berg', 'olga-pass-1', 'admin');
  server.createAgent(site.siteKey, 'pete', 'Pete Lund', 'pete-pass-1');
  await server.start();
  browser = await launch();
  admin = await newPage();
  await admin.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a plain agent sees neither Settings nor Team, not even at /admin/settings", async () => {
  const pete = await newPage();
  await loginAgent(pete, server, 'pete', 'pete-pass-1');
  await pete.getByText('No conversations yet').waitFor();
  const nav = pete.locator('.topbar nav');
  assert.deepEqual(await nav.getByRole('button').allTextContents(), ['Inbox', 'Profile']);
  await pete.goto(`${server.url}/admin/settings`);
  await pete.getByText('No conversations yet').waitFor();
  assert.equal(await pete.locator('.settings-page').count(), 0);
  assert.equal(await pete.getByRole('button', { name: 'Settings' }).count(), 0);
  assert.equal(await pete.title(), 'Inbox — Parlor');
  await pete.context().close();
});

test("the admin's Settings page shows the site's settings, defaults first", async () => {
  await loginAgent(admin, server, 'olga', 'olga-pass-1');
  assert.deepEqual(await admin.locator('.topbar nav').getByRole('button').allTextContents(), ['Inbox', 'Team', 'Settings', 'Profile']);
  await openSettings(admin);
  assert.equal(new URL(admin.url()).pathname, '/admin/settings');
  assert.equal(await admin.title(), 'Settings — Parlor');
  assert.equal(await admin.getByLabel('Display name').inputValue(), 'Juniper & Oak');
  assert.equal(await admin.getByLabel('Accent colour as hex').inputValue(), '');
  assert.equal(await admin.getByLabel('Greeting').inputValue(), '');
  assert.equal(await admin.getByRole('switch', { name: 'Always open' }).isChecked(), true);
  const pressed = async (field) =>
    admin.locator(`.prechat-row[data-field=${field}] button[aria-pressed=true]`).textContent();
  assert.deepEqual([await pressed('name'), await pressed('email'), await pressed('phone')], ['Ask', 'Ask', 'Off']);
  assert.equal(await admin.getByRole('button', { name: 'Save changes' }).isDisabled(), true, 'nothing to save yet');
  // a reload stays on the page
  await admin.reload();
  await admin.getByLabel('Display name').waitFor();
  assert.equal(await admin.getByLabel('Display name').inputValue(), 'Juniper & Oak');
});

test('the accent colour and greeting set on the page show in a widget opened afterwards on the shop', async () => {
  await admin.getByLabel('Accent colour as hex').fill('#0F766E');
  // the colour picker follows the text, and the preview takes the colour
  assert.equal(await admin.getByLabel('Pick the accent colour').inputValue(), '#0f766e');
  assert.equal(await admin.locator('.preview-launcher').evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(15, 118, 110)');
  await admin.getByLabel('Greeting').fill(GREETING);
  await save(admin);
  assert.equal(await admin.getByLabel('Accent colour as hex').inputValue(), '#0f766e', 'as the server keeps it');
  assert.equal(await admin.getByRole('button', { name: 'Save changes' }).isDisabled(), true);

  const visitor = await freshWidget();
  const hello = visitor.locator('parlor-chat .hello');
  await hello.filter({ hasText: 'Fresh oak' }).waitFor();
  // text, never HTML: the tag shows as typed, the line break is kept
  assert.equal(await hello.textContent(), GREETING);
  assert.equal(await visitor.locator('parlor-chat .hello b').count(), 0);
  assert.equal(await visitor.locator(W.launcher).evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(15, 118, 110)');
  await visitor.context().close();
});

test('the Copy button copies the embed snippet, which names this server and the site', async () => {
  const expected = `<script src="${server.url}/widget.js" data-site="${site.siteKey}" async></script>`;
  assert.equal(await admin.getByLabel('Embed code').inputValue(), expected);
  await admin.getByRole('button', { name: 'Copy', exact: true }).click();
  await admin.getByRole('button', { name: 'Copied', exact: true }).waitFor();
  await admin.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await admin.evaluate(() => navigator.clipboard.readText()), expected);
  // the confirmation goes away by itself
  await admin.getByRole('button', { name: 'Copy', exact: true }).waitFor({ timeout: 5000 });
});

test('the other settings are saved and shown again after a reload; only what changed is sent', async () => {
  // what the dashboard sends (its socket opens anew with the reload)
  const sent = [];
  const watch = (ws) => ws.on('framesent', (f) => typeof f.payload === 'string' && f.payload.includes('"updateSettings"') && sent.push(f.payload));
  admin.on('websocket', watch);
  await admin.reload();
  await admin.getByLabel('Display name').waitFor();
  await admin.getByLabel('Display name').fill('Juniper & Oak Furniture');
  await admin.getByLabel('Away message').fill('Back tomorrow at nine.');
  await admin.locator('.prechat-row[data-field=phone]').getByRole('button', { name: 'Required' }).click();
  await admin.locator('.prechat-row[data-field=name]').getByRole('button', { name: 'Off' }).click();
  await admin.getByLabel('Allowed origins').fill('https://shop.example/\nhttps://www.shop.example');
  await admin.getByText('You have unsaved changes.').waitFor();
  await save(admin);
  admin.off('websocket', watch);
  assert.equal(sent.length, 1);
  const payload = JSON.parse(sent[0].slice(sent[0].indexOf('[')))[1];
  assert.deepEqual(Object.keys(payload).sort(), ['allowedOrigins', 'awayMessage', 'name', 'prechatFields', 'prechatRequired']);
  assert.deepEqual(payload.allowedOrigins, ['https://shop.example', 'https://www.shop.example']);
  assert.deepEqual(payload.prechatFields, ['email', 'phone']);
  assert.deepEqual(payload.prechatRequired, ['phone']);

  const shown = server.cli(['site', 'show', site.siteKey]);
  assert.equal(shown.name, 'Juniper & Oak Furniture');
  assert.deepEqual(shown.allowedOrigins, ['https://shop.example', 'https://www.shop.example']);
  await admin.reload();
  await admin.getByLabel('Display name').waitFor();
  assert.equal(await admin.getByLabel('Display name').inputValue(), 'Juniper & Oak Furniture');
  assert.equal(await admin.getByLabel('Away message').inputValue(), 'Back tomorrow at nine.');
  assert.equal(await admin.getByLabel('Allowed origins').inputValue(), 'https://shop.example\nhttps://www.shop.example');
  assert.equal(await admin.locator('.prechat-row[data-field=phone] button[aria-pressed=true]').textContent(), 'Required');
  assert.equal(await admin.locator('.prechat-row[data-field=name] button[aria-pressed=true]').textContent(), 'Off');

  // any website again, so that the shop on localhost may show the widget
  await admin.getByLabel('Allowed origins').fill('');
  await save(admin);
  assert.deepEqual(server.cli(['site', 'show', site.siteKey]).allowedOrigins, []);
});

test('without PARLOR_SMTP_URL the page says e-mail is off; the contact address and sender are saved and shown again after a reload', async () => {
  const notice = admin.locator('.email-off');
  await notice.waitFor();
  assert.equal(
    await notice.textContent(),
    'E-mail is off: this server has no PARLOR_SMTP_URL; transcripts, missed-reply and offline e-mails are not sent.',
  );
  const sent = [];
  const watch = (ws) => ws.on('framesent', (f) => typeof f.payload === 'string' && f.payload.includes('"updateSettings"') && sent.push(f.payload));
  admin.on('websocket', watch);
  await admin.reload();
  await admin.getByLabel('Display name').waitFor();
  const contact = admin.locator('input[name=contactEmail]');
  const sender = admin.locator('input[name=mailFrom]');
  assert.deepEqual([await contact.inputValue(), await sender.inputValue()], ['', '']);
  // mistakes are marked, nothing is sent
  await contact.fill('help at juniper');
  await sender.fill('Juniper');
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await admin.getByText('Enter an e-mail address like name@example.com').waitFor();
  await admin.getByText('Enter the sender as Name <address@example.com>').waitFor();
  assert.equal(sent.length, 0);

  await contact.fill('help@juniper.example');
  await sender.fill('Juniper & Oak <hello@juniper.example>');
  await save(admin);
  admin.off('websocket', watch);
  assert.equal(sent.length, 1);
  const payload = JSON.parse(sent[0].slice(sent[0].indexOf('[')))[1];
  assert.deepEqual(payload, { contactEmail: 'help@juniper.example', mailFrom: 'Juniper & Oak <hello@juniper.example>' });
  assert.equal(server.cli(['site', 'show', site.siteKey]).mailFrom, 'Juniper & Oak <hello@juniper.example>');

  await admin.reload();
  await admin.getByLabel('Display name').waitFor();
  assert.equal(await contact.inputValue(), 'help@juniper.example');
  assert.equal(await sender.inputValue(), 'Juniper & Oak <hello@juniper.example>');
  // emptied: back to the server's sender
  await sender.fill('');
  await save(admin);
  assert.equal(server.cli(['site', 'show', site.siteKey]).mailFrom, null);
});

test('office hours set on the page are kept: the zone, days with several openings, closed days; and always open again', async () => {
  await admin.getByRole('switch', { name: 'Always open' }).uncheck();
  // it starts from the admin's own zone and Monday to Friday, 9 to 5
  const zone = await admin.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
  assert.equal(await admin.getByLabel('Time zone').inputValue(), zone);
  assert.equal(await admin.locator('.day-row[data-day=sat] .closed').textContent(), 'Closed');
  await admin.getByLabel('Time zone').selectOption('Europe/Berlin');
  await admin.getByRole('button', { name: 'Remove Friday 09:00–17:00' }).click();
  await admin.getByRole('button', { name: 'Add hours on Saturday' }).click();
  const sat = admin.getByRole('group', { name: 'Saturday, opening 1' });
  await sat.getByLabel('From').fill('10:00');
  await sat.getByLabel('To').fill('00:00'); // midnight
  await admin.getByRole('button', { name: 'Add hours on Monday' }).click();
  await admin.getByRole('group', { name: 'Monday, opening 2' }).getByLabel('To').fill('21:30');
  // an end before its start is marked on its row and nothing is sent
  await admin.getByRole('group', { name: 'Monday, opening 1' }).getByLabel('To').fill('08:00');
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await admin.getByRole('group', { name: 'Monday, opening 1' }).getByText('The end must be after the start.').waitFor();
  await admin.getByRole('group', { name: 'Monday, opening 1' }).getByLabel('To').fill('12:00');
  await save(admin);

  await admin.reload();
  await admin.getByLabel('Display name').waitFor();
  assert.equal(await admin.getByRole('switch', { name: 'Always open' }).isChecked(), false);
  assert.equal(await admin.getByLabel('Time zone').inputValue(), 'Europe/Berlin');
  const times = (day) =>
    admin.locator(`.day-row[data-day=${day}] input[type=time]`).evaluateAll((els) => els.map((e) => e.value));
  assert.deepEqual(await times('mon'), ['09:00', '12:00', '18:00', '21:30']);
  assert.deepEqual(await times('thu'), ['09:00', '17:00']);
  assert.deepEqual(await times('fri'), []);
  assert.deepEqual(await times('sat'), ['10:00', '00:00']);
  assert.deepEqual(await times('sun'), []);

  await admin.getByRole('switch', { name: 'Always open' }).check();
  await save(admin);
  await admin.reload();
  await admin.getByLabel('Display name').waitFor();
  assert.equal(await admin.getByRole('switch', { name: 'Always open' }).isChecked(), true);
});

test('office hours that are closed now make a new widget say the team is away, and when it is back', async () => {
  // open only two days from now, 9 to 5 (UTC): closed now, whoever is online
  const soon = new Date(Date.now() + 2 * 864e5);
  const dayName = soon.toLocaleDateString('en-US', { weekday: 'long', timeZone: 'UTC' });
  await admin.getByRole('switch', { name: 'Always open' }).uncheck();
  await admin.getByLabel('Time zone').selectOption('UTC');
  for (const d of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'])
    await admin.getByRole('button', { name: `Remove ${d} 09:00–17:00` }).click();
  await admin.getByRole('button', { name: `Add hours on ${dayName}` }).click();
  await save(admin);

  const visitor = await freshWidget({ locale: 'en-US', timezoneId: 'UTC' });
  await visitor.locator('parlor-chat .status-text').filter({ hasText: 'outside our office hours' }).waitFor();
  // past the pre-chat form (the phone number is required since the test above)
  await visitor.locator(`${W.prechat} input[name=phone]`).fill('+1 555 0100');
  await visitor.locator(`${W.prechat} button[type=submit]`).click();
  await visitor.locator('parlor-chat .away').waitFor();
  assert.equal(await visitor.locator('parlor-chat .away-text').textContent(), 'Back tomorrow at nine.');
  assert.match(await visitor.locator('parlor-chat .back').textContent(), new RegExp(`^We’re back .*${dayName}.* 9:00`));
  await shot(visitor, 'widget-closed-by-settings.png');
  await visitor.context().close();

  await admin.getByRole('switch', { name: 'Always open' }).check();
  await save(admin);
});

test('mistakes are marked before anything is sent; a refusal by the server shows beside Save', async () => {
  await admin.getByLabel('Accent colour as hex').fill('teal');
  await admin.getByLabel('Allowed origins').fill('shop.example');
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await admin.locator('.save-bar [role=alert]').filter({ hasText: 'Fix the marked fields' }).waitFor();
  await admin.getByText('Enter a colour as #rrggbb').waitFor();
  await admin.getByText('“shop.example” is not an origin like https://shop.example.').waitFor();
  await admin.getByRole('button', { name: 'Discard' }).click();
  assert.equal(await admin.getByLabel('Accent colour as hex').inputValue(), '#0f766e');
  assert.equal(await admin.getByText('Fix the marked fields').count(), 0);

  // the admin loses the role meanwhile (another admin, the command line): the server refuses
  server.createAgent(site.siteKey, 'rita', 'Rita Holm', 'rita-pass-1', 'admin');
  server.cli(['agent', 'role', '--username', 'olga', 'agent']);
  await admin.getByLabel('Greeting').fill('Changed by someone no longer an admin');
  assert.equal(await admin.locator('.save-bar').getByRole('status').count(), 0, 'no "Saved" while there are changes');
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await admin.locator('.save-bar [role=alert]').filter({ hasText: 'If your role was changed, log in again.' }).waitFor();
  await admin.getByRole('button', { name: 'Save changes' }).waitFor();
  server.cli(['agent', 'role', '--username', 'olga', 'admin']);
  const visitor = await freshWidget();
  await visitor.locator('parlor-chat .hello').filter({ hasText: 'Fresh oak' }).waitFor();
  await visitor.context().close();
  await admin.getByRole('button', { name: 'Discard' }).click();
  assert.equal(await admin.locator('.save-bar [role=alert]').count(), 0, 'the refusal goes with the change');
});

test('screenshots: the Settings page on desktop and at 360 px', async () => {
  await admin.getByRole('switch', { name: 'Always open' }).uncheck();
  await admin.getByRole('button', { name: 'Add hours on Saturday' }).click();
  await admin.getByRole('button', { name: 'Add hours on Saturday' }).click();
  // the page scrolls inside the dashboard: a tall window shows all of it
  await admin.setViewportSize({ width: 1280, height: 2300 });
  await admin.locator('.page').evaluate((el) => (el.scrollTop = 0));
  await admin.mouse.move(0, 0);
  await admin.waitForTimeout(200);
  await shot(admin, 'settings.png');
  await admin.getByRole('button', { name: 'Discard' }).click();
  await admin.setViewportSize({ width: 1280, height: 900 });

  const phone = await browser.newContext({
    viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, reducedMotion: 'reduce',
  });
  const p = await phone.newPage();
  forbidDialogs(p, problems);
  await loginAgent(p, server, 'olga', 'olga-pass-1');
  await openSettings(p);
  await p.getByRole('switch', { name: 'Always open' }).uncheck();
  const over = await p.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('#app *')) {
      const r = el.getBoundingClientRect();
      if (r.width && r.right > 360.5) out.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(r.right)}`);
    }
    return { scroll: document.documentElement.scrollWidth, out: out.slice(0, 5) };
  });
  assert.ok(over.scroll <= 360 && !over.out.length, `fits 360 px: ${JSON.stringify(over)}`);
  await p.waitForTimeout(200);
  await shot(p, 'settings-360.png');
  await p.locator('.hours').scrollIntoViewIfNeeded();
  await shot(p, 'settings-360-hours.png');
  await phone.close();
});

test('no dialogs, page errors or CSP violations happened', () => {
  assert.deepEqual(problems, []);
});
