// The widget speaks the visitor's language (the browser's, German and French here, English for
// one it does not speak) while the site's own texts stay as its admin wrote them; outside the
// site's office hours it says when the team is back, in the visitor's language and time zone,
// and still takes messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, launch, shot, routeShop, gotoShop, W, openWidget, visitorSend, loginAgent, updateSettings,
  forbidDialogs, eventually,
} from '../lib/harness.mjs';

const GREETING = 'Welcome to Juniper & Oak! Ask us anything about our furniture.';
const AWAY = 'The workshop is closed right now.\nLeave us a note and we will write back.';
const ZONE = 'Europe/Berlin';
const ADMIN = ['olga', 'correct horse'];
let server, browser, site;
const problems = [];

before(async () => {
  server = new Server();
  site = server.createSite('Juniper & Oak');
  server.createAgent(site.siteKey, ADMIN[0], 'Olga', ADMIN[1], 'admin');
  await server.start();
  await updateSettings(server, ...ADMIN, { greeting: GREETING });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A visitor whose browser speaks `locale`, in Berlin, with the widget open on the shop's page. */
async function visitorIn(locale) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale, timezoneId: ZONE });
  await routeShop(ctx, server, site.siteKey);
  const page = await ctx.newPage();
  forbidDialogs(page, problems);
  await gotoShop(page);
  await openWidget(page);
  await page.locator('parlor-chat .hello').filter({ hasText: 'Welcome' }).waitFor();
  return page;
}

const widget = (page, selector) => page.locator(`parlor-chat ${selector}`);
const attr = (page, selector, name) => widget(page, selector).getAttribute(name);
const text = (page, selector) => widget(page, selector).textContent();

/** The widget's visible boxes whose text does not fit them (cut off or spilling out). */
function overflowing(page) {
  return page.locator('parlor-chat').evaluate((host) =>
    [...host.shadowRoot.querySelectorAll('.status, .status-text, .lead, label, .err, .primary, .note, .brand, .conn')]
      .filter((el) => el.getClientRects().length && (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1))
      .map((el) => `${el.className || el.tagName}: ${el.textContent}`),
  );
}

/** Fills the pre-chat form with a name and starts the chat. */
async function passPrechat(page, name) {
  await widget(page, '.prechat input[name=name]').fill(name);
  await widget(page, '.prechat button[type=submit]').click();
  await page.locator(W.input).waitFor();
}

/** The moment `days` from now, and its weekday in Berlin as office hours name it ("thu"). */
function berlinDay(days) {
  const at = new Date(Date.now() + days * 86400_000);
  const weekday = new Intl.DateTimeFormat('en-US', { weekday: 'short', timeZone: ZONE }).format(at).toLowerCase();
  return { at, day: weekday.slice(0, 3) };
}

/** Berlin's wall-clock time of `t` as "HH:MM". */
const berlinTime = (t) =>
  new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: ZONE }).format(t);

test("a German browser gets the widget's built-in texts in German, and the site's greeting as written", async () => {
  const page = await visitorIn('de-DE');
  assert.equal(await attr(page, '.root', 'lang'), 'de');
  assert.equal(await text(page, '.hello'), GREETING);
  assert.equal(await attr(page, '.launcher', 'aria-label'), 'Chat schließen');
  assert.equal(await attr(page, '.close', 'aria-label'), 'Chat minimieren');
  await widget(page, '.status-text').filter({ hasText: 'Abwesend' }).waitFor();
  // The pre-chat form.
  await page.locator(W.prechat).waitFor();
  assert.equal(await text(page, '.lead'), 'Bevor es losgeht: Wie erreichen wir Sie, falls Sie die Seite verlassen?');
  assert.deepEqual(await widget(page, '.prechat label span').allTextContents(), ['Ihr Name', 'E-Mail']);
  assert.equal(await text(page, '.prechat .primary'), 'Chat starten');
  await widget(page, '.prechat input[name=email]').fill('jonas@');
  await widget(page, '.prechat .primary').click();
  await widget(page, '.err').filter({ hasText: 'Bitte geben Sie eine gültige E-Mail-Adresse ein.' }).waitFor();
  assert.deepEqual(await overflowing(page), []);
  await shot(page, 'widget-german-prechat.png');
  await widget(page, '.prechat input[name=email]').fill('');
  await passPrechat(page, 'Jonas');
  // The composer, and a message sent.
  assert.equal(await attr(page, 'textarea', 'placeholder'), 'Nachricht schreiben…');
  assert.equal(await attr(page, 'textarea', 'aria-label'), 'Ihre Nachricht');
  assert.equal(await attr(page, '.send', 'aria-label'), 'Nachricht senden');
  await visitorSend(page, 'Haben Sie den Tisch auch in Eiche?');
  await widget(page, '.m.me .meta').filter({ hasText: /^\d{1,2}:\d{2} · Gesendet$/ }).waitFor();
  await widget(page, '.away').waitFor();
  assert.equal(
    await text(page, '.away'),
    'Gerade ist niemand online – hinterlassen Sie uns eine Nachricht, wir antworten hier, sobald wir zurück sind.',
  );
  assert.equal(await text(page, '.brand'), 'Bereitgestellt von Parlor');
  assert.deepEqual(await overflowing(page), []);
  await shot(page, 'widget-german.png');
  await page.context().close();
  assert.deepEqual(problems, []);
});

test('a French browser gets French, and a browser in a language the widget does not speak gets English', async () => {
  const fr = await visitorIn('fr-FR');
  assert.equal(await attr(fr, '.root', 'lang'), 'fr');
  assert.equal(await text(fr, '.hello'), GREETING);
  assert.equal(await text(fr, '.prechat .primary'), 'Démarrer la discussion');
  assert.equal(await attr(fr, 'textarea', 'placeholder'), 'Écrivez un message…');
  assert.equal(await attr(fr, '.send', 'aria-label'), 'Envoyer le message');
  assert.deepEqual(await overflowing(fr), []);
  await fr.context().close();

  const zh = await visitorIn('zh-CN');
  assert.equal(await attr(zh, '.root', 'lang'), 'en');
  assert.equal(await text(zh, '.hello'), GREETING);
  assert.equal(await text(zh, '.prechat .primary'), 'Start chat');
  assert.equal(await attr(zh, 'textarea', 'placeholder'), 'Write a message…');
  assert.equal(await attr(zh, '.send', 'aria-label'), 'Send message');
  await zh.context().close();
  assert.deepEqual(problems, []);
});

test('outside the office hours the widget says when the team is back, in German, and a message still reaches the agent', async () => {
  // Open one hour, two days from now (Berlin time): closed now, back on that weekday.
  const { at, day } = berlinDay(2);
  await updateSettings(server, ...ADMIN, {
    awayMessage: AWAY,
    officeHours: { timeZone: ZONE, weekly: [{ day, from: '09:00', to: '10:00' }] },
  });
  // An agent online does not make the team in.
  const agent = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
  forbidDialogs(agent, problems);
  await loginAgent(agent, server, ...ADMIN);

  const page = await visitorIn('de-DE');
  await widget(page, '.status-text').filter({ hasText: 'Abwesend · außerhalb unserer Geschäftszeiten' }).waitFor();
  await passPrechat(page, 'Jonas');
  await widget(page, '.away').waitFor();
  assert.equal(await text(page, '.away-text'), AWAY);
  const weekday = new Intl.DateTimeFormat('de', { weekday: 'long', timeZone: ZONE }).format(at);
  assert.match(await text(page, '.back'), new RegExp(`^Wir sind am ${weekday} um 0?9:00 Uhr wieder da\\.$`));

  await visitorSend(page, 'Ist der Eichentisch noch lieferbar?');
  await widget(page, '.m.me .meta').filter({ hasText: 'Gesendet' }).waitFor();
  await agent.locator('.conv').filter({ hasText: 'Ist der Eichentisch noch lieferbar?' }).waitFor();
  assert.deepEqual(await overflowing(page), []);
  await shot(page, 'widget-closed-hours.png');
  await page.context().close();
  await agent.context().close();
  assert.deepEqual(problems, []);
});

test('the widget switches to away at the closing time, without reconnecting', async () => {
  // Office hours end on the first minute at least 15 s ahead (the hours have minutes, no seconds).
  if (berlinTime(Date.now() + 75_000) < berlinTime(Date.now())) await new Promise((r) => setTimeout(r, 80_000)); // midnight
  const closing = Math.ceil((Date.now() + 15_000) / 60_000) * 60_000;
  const { at, day } = berlinDay(2);
  await updateSettings(server, ...ADMIN, {
    officeHours: {
      timeZone: ZONE,
      weekly: [
        { day: berlinDay(0).day, from: '00:00', to: berlinTime(closing) },
        { day, from: '09:00', to: '10:00' },
      ],
    },
  });
  const agent = await (await browser.newContext()).newPage();
  forbidDialogs(agent, problems);
  await loginAgent(agent, server, ...ADMIN);

  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'de-DE', timezoneId: ZONE });
  await routeShop(ctx, server, site.siteKey);
  const page = await ctx.newPage();
  forbidDialogs(page, problems);
  let sockets = 0;
  page.on('websocket', (ws) => ws.url().includes('/socket.io/') && sockets++);
  await gotoShop(page);
  await openWidget(page);
  await widget(page, '.status-text').filter({ hasText: 'Online · wir antworten in wenigen Minuten' }).waitFor();
  await passPrechat(page, 'Jonas');
  assert.equal(await widget(page, '.away').isVisible(), false);

  await widget(page, '.status-text')
    .filter({ hasText: 'Abwesend · außerhalb unserer Geschäftszeiten' })
    .waitFor({ timeout: closing - Date.now() + 10_000 });
  assert.ok(Date.now() >= closing - 1000, 'not before the closing time');
  const weekday = new Intl.DateTimeFormat('de', { weekday: 'long', timeZone: ZONE }).format(at);
  await eventually(async () => /^Wir sind am (.+) um 0?9:00 Uhr wieder da\.$/.exec(await text(page, '.back'))?.[1] === weekday, {
    message: 'when the team is back',
  });
  assert.equal(await text(page, '.away-text'), AWAY);
  assert.equal(sockets, 1, 'one connection throughout');
  await ctx.close();
  await agent.context().close();
  assert.deepEqual(problems, []);
});
