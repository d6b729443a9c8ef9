// The Team page (admins) and the invitation sign-up page: an admin manages the site's agents,
// invites one by link, the invitee signs up in another browser and answers a visitor, and a
// disabled or removed agent's open dashboard is signed out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, launch, shot, routeShop, gotoShop, W, openWidget, visitorSend, loginAgent, agentSend, eventually,
  forbidDialogs,
} from '../lib/harness.mjs';

let server, browser, site, admin, pete, invitee, inviteUrl;
const problems = [];

/** An agent's row on the Team page. */
const row = (page, username) => page.locator(`.member[data-username="${username}"]`);
const roleButton = (page, username, role) =>
  row(page, username).getByRole('group', { name: /^Role of/ }).getByRole('button', { name: role, exact: true });

async function newPage(opts = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...opts });
  const page = await ctx.newPage();
  forbidDialogs(page, problems);
  return page;
}

/** No element sticks out to the right of a narrow screen. */
async function assertFits(page, width) {
  const over = await page.evaluate((w) => {
    const out = [];
    for (const el of document.querySelectorAll('#app *')) {
      const r = el.getBoundingClientRect();
      if (r.width && r.right > w + 0.5) out.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(r.right)}`);
    }
    return { scroll: document.documentElement.scrollWidth, out: out.slice(0, 5) };
  }, width);
  assert.ok(over.scroll <= width && !over.out.length, `fits ${width} px: ${JSON.stringify(over)}`);
}

before(async () => {
  server = new Server();
  site = server.createSite('Juniper & Oak');
  server.createAgent(site.siteKey, 'olga', 'Olga Berg', 'olga-pass-1', 'admin');
  server.createAgent(site.siteKey, 'pete', 'Pete Lund', 'pete-pass-1');
  server.createAgent(site.siteKey, 'dan', 'Dan Moss', 'dan-pass-1');
  server.cli(['agent', 'disable', '--username', 'dan']);
  await server.start();
  browser = await launch();
  admin = await newPage();
  await admin.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  pete = await newPage();
  invitee = await newPage();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a plain agent's dashboard has no Team entry, not even at /admin/team", async () => {
  await loginAgent(pete, server, 'pete', 'pete-pass-1');
  await pete.getByText('No conversations yet').waitFor();
  assert.deepEqual(await pete.locator('.topbar nav').getByRole('button').allTextContents(), ['Inbox', 'Profile']);
  assert.equal(await pete.getByRole('button', { name: 'Team' }).count(), 0);
  await pete.goto(`${server.url}/admin/team`);
  await pete.getByText('No conversations yet').waitFor();
  assert.equal(await pete.locator('.team-page').count(), 0);
  assert.equal(await pete.getByRole('button', { name: 'Team' }).count(), 0);
});

test('an admin opens Team and sees every agent with role and state', async () => {
  await loginAgent(admin, server, 'olga', 'olga-pass-1');
  await admin.locator('.topbar nav').getByRole('button', { name: 'Team' }).click();
  await admin.locator('.team-page').waitFor();
  assert.equal(new URL(admin.url()).pathname, '/admin/team');
  await row(admin, 'dan').waitFor();
  assert.equal(await admin.locator('.member').count(), 3);
  assert.deepEqual(
    (await admin.locator('.member .member-user').allTextContents()),
    ['@olga', '@pete', '@dan'],
    'oldest first',
  );
  await row(admin, 'olga').getByText('Olga Berg').waitFor();
  await row(admin, 'olga').locator('.tag').filter({ hasText: 'You' }).waitFor();
  assert.equal(await roleButton(admin, 'olga', 'Admin').getAttribute('aria-pressed'), 'true');
  assert.equal(await roleButton(admin, 'pete', 'Agent').getAttribute('aria-pressed'), 'true');
  await row(admin, 'dan').locator('.tag').filter({ hasText: 'Disabled' }).waitFor();
  await row(admin, 'dan').getByRole('button', { name: 'Enable' }).waitFor();
  await admin.locator('.page-title p').filter({ hasText: '3 people · 1 admin · 1 disabled' }).waitFor();
  assert.equal(await admin.title(), 'Team — Parlor');
  // a reload stays on the page; Inbox and Team switch with the browser's history
  await admin.reload();
  await row(admin, 'pete').waitFor();
  await admin.locator('.topbar nav').getByRole('button', { name: 'Inbox' }).click();
  await admin.getByText('No conversations yet').waitFor();
  await admin.goBack();
  await row(admin, 'pete').waitFor();
});

test('roles change at once; the last enabled admin is kept, the refusal shown on the row', async () => {
  await roleButton(admin, 'pete', 'Admin').click();
  await eventually(async () => (await roleButton(admin, 'pete', 'Admin').getAttribute('aria-pressed')) === 'true', {
    message: 'pete is an admin',
  });
  await roleButton(admin, 'pete', 'Agent').click();
  await eventually(async () => (await roleButton(admin, 'pete', 'Agent').getAttribute('aria-pressed')) === 'true', {
    message: 'pete is an agent again',
  });
  // Olga is the only enabled admin: demoting herself asks first, then the server refuses
  await roleButton(admin, 'olga', 'Agent').click();
  await row(admin, 'olga').getByText('Make yourself a plain agent?').waitFor();
  await row(admin, 'olga').getByRole('button', { name: 'Make me an agent' }).click();
  await row(admin, 'olga').getByRole('alert').filter({ hasText: 'at least one enabled admin' }).waitFor();
  assert.equal(await roleButton(admin, 'olga', 'Admin').getAttribute('aria-pressed'), 'true');
  await row(admin, 'olga').getByRole('button', { name: 'Disable' }).click();
  await row(admin, 'olga').getByRole('button', { name: 'Disable my account' }).click();
  await row(admin, 'olga').getByRole('alert').filter({ hasText: 'at least one enabled admin' }).waitFor();
  await row(admin, 'olga').getByRole('button', { name: 'Disable' }).waitFor();
  // a change of another row leaves that refusal alone
  assert.equal(await admin.locator('.member .form-error').count(), 1);
});

test('the admin invites an agent by link; it shows the URL, its expiry and copies it', async () => {
  await admin.getByRole('button', { name: 'Invite', exact: true }).click();
  const panel = admin.locator('#invite-panel');
  await panel.waitFor();
  assert.equal(await panel.getByRole('button', { name: 'Agent', exact: true }).getAttribute('aria-pressed'), 'true');
  await panel.getByRole('button', { name: 'Create link' }).click();
  const link = panel.locator('.invite-url');
  await link.waitFor();
  inviteUrl = await link.inputValue();
  assert.match(inviteUrl, new RegExp(`^${server.url.replace(/\./g, '\\.')}/admin/invite/[A-Za-z0-9_-]+$`));
  await panel.getByText('Invitation link for a new agent').waitFor();
  await panel.locator('.hint[role=status]').filter({ hasText: /Works once\. Expires .*\(in 7 days\)/ }).waitFor();
  await panel.getByRole('button', { name: 'Copy' }).click();
  await panel.getByRole('button', { name: 'Copied' }).waitFor();
  assert.equal(await admin.evaluate(() => navigator.clipboard.readText()), inviteUrl);
});

test('the invitee signs up in another browser, lands in the inbox and answers a visitor', async () => {
  await invitee.goto(inviteUrl);
  await invitee.getByRole('heading', { name: 'Join Juniper & Oak' }).waitFor();
  await invitee.getByText('as an agent').waitFor();
  assert.equal(await invitee.title(), 'Join your team — Parlor');
  await invitee.getByLabel('Your name').fill('Bea Ortiz');
  await invitee.getByLabel('Username').fill('bea');
  await invitee.getByLabel('Password').fill('short');
  await invitee.getByRole('button', { name: 'Create account' }).click();
  await invitee.getByRole('alert').filter({ hasText: 'at least 8 characters' }).waitFor();
  // a taken username: the server says so (400), the invitation stays usable
  await invitee.getByLabel('Username').fill('pete');
  await invitee.getByLabel('Password').fill('bea-secret-1');
  await invitee.getByRole('button', { name: 'Create account' }).click();
  await eventually(async () => {
    const t = await invitee.getByRole('alert').textContent();
    return t && !/at least 8/.test(t) && t;
  }, { message: "the server's refusal of a taken username" });
  assert.doesNotMatch(await invitee.getByRole('alert').textContent(), /server answered with an error/);
  await invitee.getByLabel('Username').fill('bea');
  await invitee.getByRole('button', { name: 'Create account' }).click();
  await invitee.locator('.topbar').waitFor();
  await invitee.locator('.conn-pill.ok').waitFor({ state: 'attached' });
  assert.equal(new URL(invitee.url()).pathname, '/admin');
  await invitee.locator('.me-name').filter({ hasText: 'Bea Ortiz' }).waitFor();
  assert.equal(await invitee.locator('.topbar nav').getByRole('button', { name: 'Team' }).count(), 0, 'a new agent is not an admin');

  // the link works once
  const again = await newPage();
  await again.goto(inviteUrl);
  await again.getByRole('heading', { name: 'This invitation cannot be used' }).waitFor();
  await again.getByRole('button', { name: 'Go to sign in' }).click();
  await again.getByRole('button', { name: 'Sign in' }).waitFor();
  assert.equal(new URL(again.url()).pathname, '/admin');
  await again.context().close();

  // a visitor writes; the new agent answers under their own name
  const vctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await routeShop(vctx, server, site.siteKey);
  const visitor = await vctx.newPage();
  forbidDialogs(visitor, problems);
  await gotoShop(visitor, '/products/oak-bench');
  await openWidget(visitor);
  await visitor.locator('parlor-chat input[name=name]').fill('Carla Diaz');
  await visitor.locator('parlor-chat .prechat button').click();
  await visitorSend(visitor, 'Hi! Is the oak bench in stock?');
  await invitee.locator('.conv').filter({ hasText: 'Carla Diaz' }).click();
  await invitee.locator('.msg.in .bubble').filter({ hasText: 'oak bench' }).waitFor();
  await agentSend(invitee, 'Hi Carla, yes: two left in natural oak.');
  await visitor.locator('parlor-chat .m.them .bubble').filter({ hasText: 'two left in natural oak' }).waitFor();
  await visitor.locator('parlor-chat .m.them .who').filter({ hasText: 'Bea Ortiz' }).waitFor();
  await vctx.close();

  // the admin's Team page lists the new agent (read again when the page is opened)
  await admin.locator('.topbar nav').getByRole('button', { name: 'Inbox' }).click();
  await admin.locator('.conv').filter({ hasText: 'Carla Diaz' }).waitFor();
  await admin.locator('.topbar nav').getByRole('button', { name: 'Team' }).click();
  await row(admin, 'bea').getByText('Bea Ortiz').waitFor();
  assert.equal(await roleButton(admin, 'bea', 'Agent').getAttribute('aria-pressed'), 'true');
  assert.equal(await admin.locator('.member').count(), 4);
});

test("disabling the agent signs their open dashboard out within seconds; enabling lets them back", async () => {
  await row(admin, 'bea').getByRole('button', { name: 'Disable' }).click();
  const t0 = Date.now();
  await row(admin, 'bea').locator('.tag').filter({ hasText: 'Disabled' }).waitFor();
  await row(admin, 'bea').getByRole('button', { name: 'Enable' }).waitFor();
  // the server closes the socket within 2 s; the dashboard's reconnect is refused
  await invitee.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 8000 });
  const took = Date.now() - t0;
  await invitee.getByRole('alert').filter({ hasText: 'Your session has ended' }).waitFor();
  assert.ok(took < 8000, `signed out after ${took} ms`);
  await invitee.getByLabel('Username').fill('bea');
  await invitee.getByLabel('Password').fill('bea-secret-1');
  await invitee.getByRole('button', { name: 'Sign in' }).click();
  await invitee.getByRole('alert').filter({ hasText: 'Wrong username or password' }).waitFor();

  await row(admin, 'bea').getByRole('button', { name: 'Enable' }).click();
  await row(admin, 'bea').getByRole('button', { name: 'Disable' }).waitFor();
  await loginAgent(invitee, server, 'bea', 'bea-secret-1');
  await invitee.locator('.conv').filter({ hasText: 'Carla Diaz' }).waitFor();
});

test('removing an agent asks first, then signs them out', async () => {
  await row(admin, 'pete').getByRole('button', { name: 'Remove' }).click();
  await row(admin, 'pete').getByText('Remove Pete Lund (@pete)?').waitFor();
  await row(admin, 'pete').getByRole('button', { name: 'Cancel' }).click();
  await row(admin, 'pete').getByText('Remove Pete Lund (@pete)?').waitFor({ state: 'detached' });
  assert.equal(await admin.locator('.member').count(), 4);
  await row(admin, 'pete').getByRole('button', { name: 'Remove' }).click();
  await row(admin, 'pete').getByRole('button', { name: 'Remove Pete Lund' }).click();
  await row(admin, 'pete').waitFor({ state: 'detached' });
  assert.equal(await admin.locator('.member').count(), 3);
  await pete.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 8000 });
  // after a reload the list is what the server holds
  await admin.reload();
  await row(admin, 'bea').waitFor();
  assert.equal(await row(admin, 'pete').count(), 0);
});

test('screenshots: the Team page on desktop and at 360 px, the invitation page on both', async () => {
  // desktop Team page, with a fresh admin invitation showing
  await row(admin, 'bea').getByRole('button', { name: 'Admin', exact: true }).waitFor();
  await admin.getByRole('button', { name: 'Invite', exact: true }).click();
  const panel = admin.locator('#invite-panel');
  await panel.getByRole('button', { name: 'Admin', exact: true }).click();
  await panel.getByRole('button', { name: 'Create link' }).click();
  await panel.getByText('Invitation link for a new admin').waitFor();
  const adminInvite = await panel.locator('.invite-url').inputValue();
  assert.notEqual(adminInvite, inviteUrl);
  await admin.mouse.move(0, 0);
  await admin.waitForTimeout(200);
  await shot(admin, 'team.png');

  const phone = await browser.newContext({
    viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2, reducedMotion: 'reduce',
  });
  const p = await phone.newPage();
  forbidDialogs(p, problems);
  await loginAgent(p, server, 'olga', 'olga-pass-1');
  await p.locator('.topbar nav').getByRole('button', { name: 'Team' }).click();
  await row(p, 'dan').waitFor();
  // each row's controls fit on one line beside nothing else
  for (const u of ['olga', 'dan', 'bea']) {
    const [seg, remove] = [
      await row(p, u).locator('.seg').boundingBox(),
      await row(p, u).getByRole('button', { name: 'Remove' }).boundingBox(),
    ];
    assert.ok(Math.abs(seg.y - remove.y) < 4 && remove.x + remove.width <= 360, `${u}'s controls on one line at 360 px`);
  }
  await roleButton(p, 'olga', 'Agent').click();
  await row(p, 'olga').getByRole('button', { name: 'Cancel' }).waitFor();
  await assertFits(p, 360);
  await p.locator('.page').evaluate((el) => (el.scrollTop = 0));
  await p.waitForTimeout(200);
  await shot(p, 'team-360.png');
  await row(p, 'olga').getByRole('button', { name: 'Cancel' }).click();
  await p.getByRole('button', { name: 'Invite', exact: true }).click();
  await p.locator('#invite-panel').getByRole('button', { name: 'Create link' }).click();
  await p.locator('#invite-panel .invite-url').waitFor();
  await p.locator('#invite-panel').getByRole('button', { name: 'Copy' }).waitFor();
  await assertFits(p, 360);
  await p.locator('.page').evaluate((el) => (el.scrollTop = 0));
  await p.waitForTimeout(200);
  await shot(p, 'team-360-invite.png');

  // the invitation page, on a phone and on a desktop
  const q = await phone.newPage();
  forbidDialogs(q, problems);
  await q.goto(adminInvite);
  await q.getByRole('heading', { name: 'Join Juniper & Oak' }).waitFor();
  await q.getByText('as an admin').waitFor();
  await q.getByLabel('Your name').fill('Rita Holm');
  await assertFits(q, 360);
  await q.waitForTimeout(200);
  await shot(q, 'invite-signup-360.png');
  const d = await newPage();
  await d.goto(adminInvite);
  await d.getByRole('heading', { name: 'Join Juniper & Oak' }).waitFor();
  await d.waitForTimeout(200);
  await shot(d, 'invite-signup.png');
  await d.getByLabel('Your name').fill('Rita Holm');
  await d.getByLabel('Username').fill('rita');
  await d.getByLabel('Password').fill('rita-secret-1');
  await d.getByRole('button', { name: 'Create account' }).click();
  await d.locator('.topbar nav').getByRole('button', { name: 'Team' }).click();
  await row(d, 'rita').locator('.tag').filter({ hasText: 'You' }).waitFor();
  assert.equal(await roleButton(d, 'rita', 'Admin').getAttribute('aria-pressed'), 'true');
  await d.context().close();
  await phone.close();
});

test('no dialogs, page errors or CSP violations happened', () => {
  assert.deepEqual(problems, []);
});
