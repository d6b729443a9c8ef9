// An agent's own account: the Profile page (display name, password: this tab stays signed in,
// other sessions end), the password-reset link an admin makes on the Team page, and the Team
// page's live online state of each agent.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, shot, loginAgent, eventually, forbidDialogs } from '../lib/harness.mjs';

let server, browser, site, admin, pete;
const problems = [];

const row = (page, username) => page.locator(`.member[data-username="${username}"]`);

async function newPage(opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
  const page = await ctx.newPage();
  forbidDialogs(page, problems);
  return page;
}

async function openPage(page, name) {
  await page.locator('.topbar nav').getByRole('button', { name }).click();
}

/** The login form shows (the session ended), with the notice that says so. */
async function signedOut(page) {
  await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 8000 });
  await page.getByRole('alert').filter({ hasText: 'Your session has ended' }).waitFor();
}

/** Whether a login with these credentials is accepted. */
async function canLogin(username, password) {
  const res = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return res.status === 200;
}

before(async () => {
  server = new Server();
  site = server.createSite('Juniper & Oak');
  server.createAgent(site.siteKey, 'olga', 'Olga Berg', 'olga-pass-1', 'admin');
  server.createAgent(site.siteKey, 'pete', 'Pete Lund', 'pete-pass-1');
  server.createAgent(site.siteKey, 'dan', 'Dan Moss', 'dan-pass-1');
  await server.start();
  browser = await launch();
  admin = await newPage();
  pete = await newPage();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the Profile page shows who is signed in: name, username and role', async () => {
  await loginAgent(pete, server, 'pete', 'pete-pass-1');
  await openPage(pete, 'Profile');
  await pete.locator('.profile-page').waitFor();
  assert.equal(new URL(pete.url()).pathname, '/admin/profile');
  assert.equal(await pete.title(), 'Profile — Parlor');
  const who = pete.locator('.who-card');
  await who.getByText('Pete Lund').waitFor();
  await who.getByText('@pete').waitFor();
  await who.locator('.tag').filter({ hasText: 'Agent' }).waitFor();
  assert.equal(await pete.getByLabel('Display name').inputValue(), 'Pete Lund');
  // a reload stays on the page and still knows the username
  await pete.reload();
  await pete.locator('.who-card').getByText('@pete').waitFor();
});

test('an agent changes the display name; the header and the Team page show it', async () => {
  await pete.getByLabel('Display name').fill('  ');
  await pete.getByRole('button', { name: 'Save name' }).click();
  await pete.getByRole('alert').filter({ hasText: 'Enter your name.' }).waitFor();
  await pete.getByLabel('Display name').fill('Peter Lund');
  await pete.getByRole('button', { name: 'Save name' }).click();
  await pete.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
  await pete.locator('.me-name').filter({ hasText: 'Peter Lund' }).waitFor();
  await pete.locator('.who-card').getByText('Peter Lund').waitFor();

  await loginAgent(admin, server, 'olga', 'olga-pass-1');
  await openPage(admin, 'Team');
  await row(admin, 'pete').getByText('Peter Lund').waitFor();
});

test('an agent sets an e-mail address and turns offline e-mails off; both survive a reload', async () => {
  await openPage(pete, 'Profile');
  const card = pete.locator('form[aria-labelledby=mail-title]');
  const address = card.locator('input[name=email]');
  const offline = pete.getByRole('checkbox', { name: 'E-mail me visitor messages that arrive while no agent is online' });
  await address.waitFor();
  assert.equal(await address.inputValue(), '');
  assert.equal(await offline.isChecked(), true, 'on by default');
  const saveMail = pete.getByRole('button', { name: 'Save e-mail settings' });
  assert.equal(await saveMail.isDisabled(), true, 'nothing to save yet');
  await address.fill('pete at juniper');
  await saveMail.click();
  await card.getByRole('alert').filter({ hasText: 'Enter an e-mail address like name@example.com' }).waitFor();
  await address.fill('pete@juniper.example');
  await offline.uncheck();
  await saveMail.click();
  await card.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await pete.reload();
  await address.waitFor();
  assert.equal(await address.inputValue(), 'pete@juniper.example');
  assert.equal(await offline.isChecked(), false);
  // on again, and the address emptied
  await address.fill('');
  await offline.check();
  await saveMail.click();
  await card.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
  await pete.reload();
  await address.waitFor();
  assert.equal(await offline.isChecked(), true);
  assert.equal(await address.inputValue(), '');
});

test('the Team page shows who is online, kept live', async () => {
  // Pete's dashboard is open; Olga is looking at the page herself
  await row(admin, 'olga').locator('.avatar .dot.on').waitFor();
  await row(admin, 'pete').locator('.avatar .dot.on').waitFor();
  await row(admin, 'pete').locator('.presence.on').filter({ hasText: 'Online' }).waitFor();
  // a second agent opens the dashboard and closes it again: the row follows without a reload
  await row(admin, 'dan').locator('.presence').filter({ hasText: 'Offline' }).waitFor();
  assert.equal(await row(admin, 'dan').locator('.avatar .dot.on').count(), 0);
  const dan = await newPage();
  await loginAgent(dan, server, 'dan', 'dan-pass-1');
  await row(admin, 'dan').locator('.avatar .dot.on').waitFor();
  await row(admin, 'dan').locator('.presence.on').filter({ hasText: 'Online' }).waitFor();
  await dan.context().close();
  await row(admin, 'dan').locator('.presence').filter({ hasText: 'Offline' }).waitFor();
  assert.equal(await row(admin, 'dan').locator('.avatar .dot.on').count(), 0);
});

test('changing the password keeps this tab signed in and signs the other session out', async () => {
  const other = await newPage();
  await loginAgent(other, server, 'pete', 'pete-pass-1');
  await other.locator('.conn-pill.ok').waitFor({ state: 'attached' });

  // mistakes first: caught on the page, or refused by the server
  await pete.getByLabel('Current password').fill('pete-pass-1');
  await pete.getByLabel(/^New password/).fill('pete-new-2');
  await pete.getByLabel('Repeat the new password').fill('pete-new-3');
  await pete.getByRole('button', { name: 'Change password' }).click();
  await pete.getByRole('alert').filter({ hasText: 'The two passwords are not the same.' }).waitFor();
  await pete.getByLabel('Current password').fill('not-my-password');
  await pete.getByLabel('Repeat the new password').fill('pete-new-2');
  await pete.getByRole('button', { name: 'Change password' }).click();
  await pete.getByRole('alert').filter({ hasText: 'The current password is wrong.' }).waitFor();
  assert.ok(await canLogin('pete', 'pete-pass-1'), 'nothing changed');

  await pete.getByLabel('Current password').fill('pete-pass-1');
  await pete.getByRole('button', { name: 'Change password' }).click();
  await pete.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();
  assert.equal(await pete.getByLabel('Current password').inputValue(), '');

  // the other session ends within 2 s; this one goes on with the new token
  await signedOut(other);
  await pete.waitForTimeout(2500); // past the next revocation sweeps
  await pete.locator('.conn-pill.ok').waitFor({ state: 'attached' });
  assert.equal(await pete.locator('.profile-page').count(), 1);
  assert.equal(await pete.getByRole('button', { name: 'Sign in' }).count(), 0);
  // still signed in after a reload (the new token was kept as a login keeps it)
  await pete.reload();
  await pete.locator('.conn-pill.ok').waitFor({ state: 'attached' });
  await pete.locator('.who-card').getByText('@pete').waitFor();
  // and it works: the dashboard answers requests (the inbox list)
  await openPage(pete, 'Inbox');
  await pete.getByText('No conversations yet').waitFor();

  assert.equal(await canLogin('pete', 'pete-pass-1'), false);
  assert.ok(await canLogin('pete', 'pete-new-2'));
  await other.context().close();
});

test('an admin resets a password on the Team page; the link sets a new one and lands in the inbox', async () => {
  await row(admin, 'pete').getByRole('button', { name: 'Reset password' }).click();
  await row(admin, 'pete').getByText('Reset the password of Peter Lund (@pete)?').waitFor();
  await row(admin, 'pete').getByRole('group', { name: 'Confirm' }).getByRole('button', { name: 'Reset password' }).click();
  const link = row(admin, 'pete').locator('.reset-url');
  await link.waitFor();
  const url = await link.inputValue();
  assert.match(url, new RegExp(`^${server.url.replace(/\./g, '\\.')}/admin/reset/[A-Za-z0-9_-]+$`));
  await row(admin, 'pete').getByText(/lets them choose a new password, once\. Expires .*\(in 7 days\)/).waitFor();
  // the reset takes the password away at once: Pete's open dashboard is signed out
  await signedOut(pete);
  assert.equal(await canLogin('pete', 'pete-new-2'), false);
  // an admin resets no own password here (the Profile page does that)
  assert.equal(await row(admin, 'olga').getByRole('button', { name: 'Reset password' }).count(), 0);

  const p = await newPage();
  await p.goto(url);
  await p.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await p.getByText('Peter Lund').waitFor();
  await p.getByText('(@pete) at Juniper & Oak').waitFor();
  assert.equal(await p.title(), 'Choose a new password — Parlor');
  await p.getByLabel(/^New password/).fill('short');
  await p.getByLabel('Repeat the new password').fill('short');
  await p.getByRole('button', { name: 'Set password and sign in' }).click();
  await p.getByRole('alert').filter({ hasText: 'at least 8 characters' }).waitFor();
  await p.getByLabel(/^New password/).fill('pete-reset-3');
  await p.getByLabel('Repeat the new password').fill('pete-reset-4');
  await p.getByRole('button', { name: 'Set password and sign in' }).click();
  await p.getByRole('alert').filter({ hasText: 'not the same' }).waitFor();
  await p.getByLabel('Repeat the new password').fill('pete-reset-3');
  await p.getByRole('button', { name: 'Set password and sign in' }).click();
  await p.locator('.topbar').waitFor();
  await p.locator('.conn-pill.ok').waitFor({ state: 'attached' });
  assert.equal(new URL(p.url()).pathname, '/admin');
  await p.getByText('No conversations yet').waitFor();
  await p.locator('.me-name').filter({ hasText: 'Peter Lund' }).waitFor();
  assert.equal(await p.locator('.topbar nav').getByRole('button', { name: 'Team' }).count(), 0);
  // the username is known on the Profile page
  await openPage(p, 'Profile');
  await p.locator('.who-card').getByText('@pete').waitFor();
  assert.ok(await canLogin('pete', 'pete-reset-3'));

  // the link works once
  const again = await newPage();
  await again.goto(url);
  await again.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
  await again.getByRole('button', { name: 'Go to sign in' }).click();
  await again.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(new URL(again.url()).pathname, '/admin');
  await again.goto(`${server.url}/admin/reset/no-such-link`);
  await again.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
  await again.context().close();
  await row(admin, 'pete').getByRole('button', { name: 'Done' }).click();
  assert.equal(await row(admin, 'pete').locator('.reset-url').count(), 0);
  pete = p;
});

test('screenshots: the Profile page on desktop and at 360 px, the reset page', async () => {
  await pete.mouse.move(0, 0);
  await pete.waitForTimeout(200);
  await shot(pete, 'profile.png');

  const phone = await browser.newContext({
    viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, reducedMotion: 'reduce',
  });
  const q = await phone.newPage();
  forbidDialogs(q, problems);
  await loginAgent(q, server, 'olga', 'olga-pass-1');
  await openPage(q, 'Profile');
  await q.locator('.who-card').getByText('@olga').waitFor();
  await q.locator('.who-card .tag').filter({ hasText: 'Admin' }).waitFor();
  const over = await q.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(over <= 360, `fits 360 px (${over})`);
  await q.waitForTimeout(200);
  await shot(q, 'profile-360.png');
  // Log out is on the page where the header has no room for it
  await q.getByRole('button', { name: 'Log out' }).click();
  await q.getByRole('button', { name: 'Sign in' }).waitFor();
  await phone.close();

  await openPage(admin, 'Team');
  await row(admin, 'dan').getByRole('button', { name: 'Reset password' }).click();
  await row(admin, 'dan').getByRole('group', { name: 'Confirm' }).getByRole('button', { name: 'Reset password' }).click();
  const url = await row(admin, 'dan').locator('.reset-url').inputValue();
  await admin.mouse.move(0, 0);
  await admin.waitForTimeout(200);
  await shot(admin, 'team-reset.png');
  const r = await newPage();
  await r.goto(url);
  await r.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await r.waitForTimeout(200);
  await shot(r, 'reset.png');
  await r.context().close();
});

test('no dialogs, page errors or CSP violations happened', () => {
  assert.deepEqual(problems, []);
});
