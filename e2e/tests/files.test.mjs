// Files in the chat, both ways: a visitor pastes a screenshot into the widget on a third-party
// page and the agent opens it; the agent sends a PDF from the dashboard and the visitor
// downloads the same bytes; a refused file says why, and a failed upload is retried without
// picking the file again. The server runs with a small upload limit so that "too large" is
// cheap to reach.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Server, launch, shot, routeShop, gotoShop, W, openWidget, loginAgent, eventually, forbidDialogs,
} from '../lib/harness.mjs';

const LIMIT = 200 * 1024;
let server, browser, site, vctx, actx, visitor, agent;
const problems = [];
let screenshot; // the pasted PNG's bytes
const uploads = []; // the visitor's upload requests

before(async () => {
  server = new Server({ PARLOR_UPLOAD_MAX_BYTES: String(LIMIT) });
  site = server.createSite('Juniper & Oak');
  server.createAgent(site.siteKey, 'anna', 'Anna', 'correct horse');
  await server.start();
  browser = await launch();
  vctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, permissions: ['clipboard-read', 'clipboard-write'] });
  actx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  await routeShop(vctx, server, site.siteKey);
  visitor = await vctx.newPage();
  agent = await actx.newPage();
  forbidDialogs(visitor, problems);
  forbidDialogs(agent, problems);
  visitor.on('request', (r) => r.method() === 'POST' && r.url().startsWith(`${server.url}/api/uploads?`) && uploads.push(r));
  for (const p of [visitor, agent]) p.on('console', (m) => m.type() === 'error' && console.log(`[${p === agent ? 'agent' : 'visitor'}] ${m.text()}`));
  await loginAgent(agent, server, 'anna', 'correct horse');
  await gotoShop(visitor, '/products/alder-table');
  await openWidget(visitor);
  await visitor.locator('parlor-chat input[name=name]').fill('Ada Lovelace');
  await visitor.locator('parlor-chat .prechat button').click();
  await visitor.locator(W.input).waitFor();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const tray = (page, scope = '') => page.locator(`${scope} .tray .up`);

test('a visitor pastes a screenshot into the widget; the agent sees its thumbnail and opens the image', async () => {
  // A screenshot on the clipboard, as the system's screenshot tool leaves it: an image, no text.
  await visitor.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 640;
    c.height = 360;
    const g = c.getContext('2d');
    g.fillStyle = '#fbf7f1';
    g.fillRect(0, 0, 640, 360);
    g.fillStyle = '#b91c1c';
    g.font = 'bold 40px sans-serif';
    g.fillText('Error 500: checkout failed', 40, 180);
    const blob = await new Promise((r) => c.toBlob(r, 'image/png'));
    await navigator.clipboard.write([new ClipboardItem({ 'image/png': blob })]);
    // The file the paste delivers (the clipboard re-encodes an image), seen on its way to the widget.
    document.addEventListener('paste', (e) => (window.pasted = e.clipboardData.files[0]), { capture: true, once: true });
  });
  const input = visitor.locator(W.input);
  await input.focus();
  await visitor.keyboard.press('Control+V');
  const up = tray(visitor, 'parlor-chat');
  await up.filter({ hasText: 'screenshot.png' }).waitFor();
  await visitor.locator('parlor-chat .tray .up.done').waitFor();
  assert.equal(uploads.length, 1);
  assert.match(uploads[0].url(), /\?filename=screenshot\.png$/);
  assert.equal(uploads[0].headers()['authorization']?.startsWith('Bearer '), true);
  screenshot = Buffer.from(
    await visitor.evaluate(async () => {
      const bytes = new Uint8Array(await window.pasted.arrayBuffer());
      let s = '';
      for (const b of bytes) s += String.fromCharCode(b);
      return btoa(s);
    }),
    'base64',
  );
  assert.equal(screenshot.subarray(1, 4).toString(), 'PNG');
  assert.equal(await input.inputValue(), '', 'an image pastes as a file, not as text');
  await input.fill('The checkout shows this error');
  await input.press('Enter');
  await up.first().waitFor({ state: 'detached' });

  // the visitor's own message: the caption and the thumbnail, loaded from the Parlor server
  const own = visitor.locator('parlor-chat .m.me').filter({ hasText: 'The checkout shows this error' });
  await own.locator('.meta').filter({ hasText: /Sent|Read/ }).waitFor();
  const ownImg = own.locator('.thumb img');
  await eventually(() => ownImg.evaluate((i) => i.complete && i.naturalWidth > 0), { message: 'thumbnail loaded in the widget' });
  assert.equal(await ownImg.getAttribute('alt'), 'screenshot.png');
  assert.ok((await ownImg.getAttribute('src')).startsWith(`${server.url}/api/uploads/`), 'the server origin, not the shop page');

  // the agent: in the list, and in the conversation the thumbnail
  const item = agent.locator('.conv').filter({ hasText: 'Ada Lovelace' });
  await item.filter({ hasText: 'The checkout shows this error' }).waitFor();
  await item.click();
  const img = agent.locator('.msg.in .thumb img');
  await eventually(() => img.evaluate((i) => i.complete && i.naturalWidth > 0), { message: 'thumbnail loaded in the dashboard' });
  const [w, h] = await img.evaluate((i) => [i.naturalWidth, i.naturalHeight]);
  assert.ok(w <= 320 && h <= 320 && Math.abs(w / h - 640 / 360) < 0.05, `a thumbnail of the image: ${w}x${h}`);
  await shot(agent, 'files-dashboard-thumbnail.png');

  // click: the full image in a new tab, the very bytes pasted
  const [tab] = await Promise.all([agent.waitForEvent('popup'), img.click()]);
  await tab.waitForLoadState();
  assert.match(tab.url(), /\/api\/uploads\/[^/?]+\?/);
  assert.deepEqual(await tab.evaluate(() => [document.images[0]?.naturalWidth, document.images[0]?.naturalHeight]), [640, 360]);
  const res = await fetch(tab.url());
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(screenshot), 'the same bytes');
  await tab.close();
  await shot(visitor, 'files-widget-screenshot.png');
});

test('the agent sends a PDF from the dashboard; the visitor downloads the same bytes', async () => {
  const pdf = Buffer.from(
    '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n' +
      'trailer << /Root 1 0 R >>\n%%EOF\n' + 'x'.repeat(3000),
  );
  await agent.locator('.composer input.pick').setInputFiles({ name: 'invoice-2291.pdf', mimeType: 'application/pdf', buffer: pdf });
  await agent.locator('.tray .up.done').filter({ hasText: 'invoice-2291.pdf' }).waitFor();
  // a message of the file alone: Send with no text
  const send = agent.locator('.composer button[type=submit]');
  assert.equal(await send.isDisabled(), false);
  await send.click();
  await agent.locator('.msg.out .chip').filter({ hasText: 'invoice-2291.pdf' }).waitFor();
  await agent.locator('.tray').waitFor({ state: 'detached' });

  const chip = visitor.locator('parlor-chat .m.them .chip').filter({ hasText: 'invoice-2291.pdf' });
  await chip.waitFor();
  assert.equal(await chip.textContent(), `invoice-2291.pdf${(pdf.length / 1024).toFixed(1)} KB`);
  const [download] = await Promise.all([visitor.waitForEvent('download'), chip.click()]);
  assert.equal(download.suggestedFilename(), 'invoice-2291.pdf');
  assert.ok(readFileSync(await download.path()).equals(pdf), 'the same bytes');
  assert.equal(new URL(visitor.url()).pathname, '/products/alder-table', 'the shop page stays');
});

test('a file too large or of a type not allowed is refused with a clear message; a failed upload is retried', async () => {
  const pick = visitor.locator('parlor-chat .pick');
  await pick.setInputFiles({ name: 'holiday-video.zip', mimeType: 'application/zip', buffer: Buffer.alloc(LIMIT + 1, 1) });
  const big = tray(visitor, 'parlor-chat').filter({ hasText: 'holiday-video.zip' });
  await big.locator('.why').filter({ hasText: 'This file is too large: the limit is 200 KB.' }).waitFor();
  assert.equal(await big.locator('.retry').isVisible(), false, 'no retry for a refusal');

  // bytes of no allowed type (an executable)
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(2000)]);
  await pick.setInputFiles({ name: 'setup.exe', mimeType: 'application/octet-stream', buffer: elf });
  const exe = tray(visitor, 'parlor-chat').filter({ hasText: 'setup.exe' });
  await exe.locator('.why').filter({ hasText: 'This type of file can’t be sent' }).waitFor();
  await shot(visitor, 'files-widget-refused.png');
  await big.locator('.x').click();
  await exe.locator('.x').click();
  await visitor.locator('parlor-chat .tray').waitFor({ state: 'hidden' });

  // The server cannot store files (its directory for the site is a file now): 500, a failure.
  const dir = join(server.dir, 'parlor-files', site.id);
  assert.ok(statSync(dir).isDirectory(), `files are kept in ${dir}`);
  renameSync(dir, dir + '.away');
  writeFileSync(dir, '');
  const csv = Buffer.from('order,item,qty\n' + Array.from({ length: 3000 }, (_, i) => `${1000 + i},oak chair,${(i % 4) + 1}`).join('\n'));
  await pick.setInputFiles({ name: 'orders.csv', mimeType: 'text/csv', buffer: csv });
  const row = tray(visitor, 'parlor-chat').filter({ hasText: 'orders.csv' });
  await row.locator('.why').filter({ hasText: 'Upload failed' }).waitFor();
  await shot(visitor, 'files-widget-failed.png');

  // Storage is back; Retry uploads the same file (slowly, to see it progress), not picked again.
  rmSync(dir);
  renameSync(dir + '.away', dir);
  const cdp = await vctx.newCDPSession(visitor);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 16 * 1024 });
  await row.locator('.retry').click();
  const bar = row.locator('[role=progressbar]');
  await eventually(async () => Number(await bar.getAttribute('aria-valuenow')) > 0, { message: 'upload progress' });
  assert.ok(Number(await bar.getAttribute('aria-valuenow')) < 100, 'progress shown before the end');
  assert.equal(await visitor.locator('parlor-chat .send').isDisabled(), true, 'no sending while a file uploads');
  await visitor.locator('parlor-chat .tray .up.done').filter({ hasText: 'orders.csv' }).waitFor();
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await visitor.locator(W.input).press('Enter');
  const chip = agent.locator('.msg.in .chip').filter({ hasText: 'orders.csv' });
  await chip.waitFor();
  const [download] = await Promise.all([agent.waitForEvent('download'), chip.click()]);
  assert.ok(readFileSync(await download.path()).equals(csv), 'the retried upload is the whole file');
});

test('files dropped on the conversation upload, in the widget and in the dashboard', async () => {
  /** Drops a text file on `target`, the way a file dragged from the desktop arrives. */
  async function drop(page, target, name, text) {
    const dt = await page.evaluateHandle(([n, t]) => {
      const d = new DataTransfer();
      d.items.add(new File([t], n, { type: 'text/plain' }));
      return d;
    }, [name, text]);
    await page.locator(target).dispatchEvent('dragover', { dataTransfer: dt });
    await page.locator(target).dispatchEvent('drop', { dataTransfer: dt });
  }
  await drop(visitor, 'parlor-chat .log', 'notes.txt', 'Measurements: 120 x 80 cm');
  await visitor.locator('parlor-chat .tray .up.done').filter({ hasText: 'notes.txt' }).waitFor();
  await visitor.locator(W.input).fill('My measurements');
  await visitor.locator(W.input).press('Enter');
  const chip = agent.locator('.msg.in').filter({ hasText: 'My measurements' }).locator('.chip');
  assert.match(await chip.textContent(), /^notes\.txt25 B$/);

  await drop(agent, '.thread .log', 'quote.txt', 'Oak table, 120 x 80 cm: 1,450 EUR');
  await agent.locator('.tray .up.done').filter({ hasText: 'quote.txt' }).waitFor();
  await agent.getByLabel('Reply').fill('Here is your quote');
  await agent.getByLabel('Reply').press('Enter');
  await visitor.locator('parlor-chat .m.them').filter({ hasText: 'Here is your quote' }).locator('.chip').filter({ hasText: 'quote.txt' }).waitFor();
  await agent.locator('.conv').filter({ hasText: 'Here is your quote' }).waitFor();
});

test('past their signed links\' lifetime, thumbnails and files are fetched with the bearer', async () => {
  // A server whose signed links last 3 seconds: by the time the agent looks, they have expired.
  const short = new Server({ PARLOR_UPLOAD_URL_TTL_SECS: '3' });
  const s2 = short.createSite('Short Links');
  short.createAgent(s2.siteKey, 'bo', 'Bo', 'correct horse');
  await short.start();
  try {
    const vc = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const ac = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await routeShop(vc, short, s2.siteKey);
    const v = await vc.newPage();
    const a = await ac.newPage();
    forbidDialogs(v, problems);
    forbidDialogs(a, problems);
    await gotoShop(v, '/');
    await openWidget(v);
    await v.locator('parlor-chat input[name=name]').fill('Kim Expired');
    await v.locator('parlor-chat .prechat button').click();
    await v.locator(W.input).fill('Here is a photo of the chair');
    await v.locator(W.input).press('Enter');
    // The agent has the conversation open, then looks at another page while the files arrive:
    // its messages are held, their thumbnails not shown yet.
    await loginAgent(a, short, 'bo', 'correct horse');
    await a.locator('.conv').filter({ hasText: 'Kim Expired' }).click();
    await a.locator('.msg.in .bubble').filter({ hasText: 'photo of the chair' }).waitFor();
    await a.getByRole('button', { name: 'Profile' }).click();
    const png = Buffer.from(
      await v.evaluate(async () => {
        const c = document.createElement('canvas');
        c.width = 300;
        c.height = 200;
        const g = c.getContext('2d');
        g.fillStyle = '#0f766e';
        g.fillRect(0, 0, 300, 200);
        const bytes = new Uint8Array(await (await new Promise((r) => c.toBlob(r, 'image/png'))).arrayBuffer());
        let s = '';
        for (const b of bytes) s += String.fromCharCode(b);
        return btoa(s);
      }),
      'base64',
    );
    const txt = Buffer.from('order 1001: oak chair\n');
    await v.locator('parlor-chat .pick').setInputFiles([
      { name: 'photo.png', mimeType: 'image/png', buffer: png },
      { name: 'order.txt', mimeType: 'text/plain', buffer: txt },
    ]);
    await eventually(async () => (await v.locator('parlor-chat .tray .up.done').count()) === 2, { message: 'both uploaded' });
    await v.locator(W.input).press('Enter');
    await v.locator('parlor-chat .m.me.last .chip').waitFor();
    await new Promise((r) => setTimeout(r, 5000)); // `exp` is in whole seconds

    // back in the conversation: the thumbnail's signed path has expired (401), so it is fetched
    // with the agent's JWT
    const expired = [];
    a.on('response', (r) => r.url().includes('/thumbnail?') && expired.push(r.status()));
    await a.getByRole('button', { name: 'Inbox' }).click();
    await a.locator('.conv').filter({ hasText: '📎 2 files' }).waitFor();
    const img = a.locator('.msg.in .thumb img');
    await eventually(() => img.evaluate((i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0), {
      message: 'the thumbnail fetched with the bearer',
    });
    assert.deepEqual(expired, [401]);
    // the full image: fetched with the JWT, shown in a new tab from a blob URL (the dashboard's
    // policy, which that tab inherits, allows blob: images)
    const fetched = a.waitForRequest((r) => /\/api\/uploads\/[^/?]+$/.test(r.url()));
    const [tab] = await Promise.all([a.waitForEvent('popup'), img.click()]);
    assert.equal((await fetched).headers()['authorization']?.startsWith('Bearer '), true);
    await eventually(() => tab.url().startsWith('blob:'), { message: 'the image in a blob URL' });
    await tab.waitForLoadState();
    await eventually(() => tab.evaluate(() => document.images[0]?.complete && document.images[0].naturalWidth === 300), {
      message: 'the image shown',
    });
    const pixel = await tab.evaluate(() => {
      const i = document.images[0];
      const c = document.createElement('canvas');
      c.width = i.naturalWidth;
      c.height = i.naturalHeight;
      const g = c.getContext('2d');
      g.drawImage(i, 0, 0);
      return [c.height, ...g.getImageData(150, 100, 1, 1).data];
    });
    assert.deepEqual(pixel, [200, 0x0f, 0x76, 0x6e, 255], 'the image uploaded');

    // the visitor, on the shop's page: the file with its token (a cross-origin request with
    // Authorization, preflighted)
    const chip = v.locator('parlor-chat .m.me .chip').filter({ hasText: 'order.txt' });
    const [download] = await Promise.all([v.waitForEvent('download'), chip.click()]);
    assert.equal(download.suggestedFilename(), 'order.txt');
    assert.ok(readFileSync(await download.path()).equals(txt), 'the same bytes');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(problems, []);
    await vc.close();
    await ac.close();
  } finally {
    await short.stop();
  }
});
