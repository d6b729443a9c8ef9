// Files in the chat, both ways: a visitor pastes a screenshot into the widget on a third-party
// page and the agent opens it; the agent sends a PDF from the dashboard and the visitor
// downloads the same bytes; a refused file says why, and a failed upload is retried without
// picking the file again. The server runs with a small upload limit so that "too large" is
// cheap to reach.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  Server, launch, shot, routeShop, gotoShop, W, openWidget, loginAgent, eventually, forbidDialogs,
} from '../lib/harness.mjs';

const LIMIT = 200 * 1024;
let server, browser, site, vctx, actx, visitor, agent;
const problems = [];
let screenshot; // the pasted PNG's bytes

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
  const b64 = await visitor.evaluate(async () => {
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
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  });
  screenshot = Buffer.from(b64, 'base64');
  const input = visitor.locator(W.input);
  await input.focus();
  await visitor.keyboard.press('Control+V');
  const up = tray(visitor, 'parlor-chat');
  await up.filter({ hasText: 'screenshot.png' }).waitFor();
  await visitor.locator('parlor-chat .tray .up.done').waitFor();
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
  assert.match(await chip.textContent(), /invoice-2291\.pdf\s*3 KB/);
  const [download] = await Promise.all([visitor.waitForEvent('download'), chip.click()]);
  assert.equal(download.suggestedFilename(), 'invoice-2291.pdf');
  assert.ok(readFileSync(await download.path()).equals(pdf), 'the same bytes');
  assert.equal(new URL(visitor.url()).pathname, '/products/alder-table', 'the shop page stays');
});

test('a file too large or of a type not allowed is refused with a clear message; a failed upload is retried', async () => {
  const pick = visitor.locator('parlor-chat .pick');
  await pick.setInputFiles({ name: 'holiday-video.zip', mimeType: 'application/zip', buffer: Buffer.alloc(LIMIT + 1, 1) });
  const big = tray(visitor, 'parlor-chat').filter({ hasText: 'holiday-video.zip' });
  await big.locator('.note').filter({ hasText: 'This file is too large' }).waitFor();
  assert.equal(await big.locator('.retry').isVisible(), false, 'no retry for a refusal');

  // bytes of no allowed type (an executable)
  const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(2000)]);
  await pick.setInputFiles({ name: 'setup.exe', mimeType: 'application/octet-stream', buffer: elf });
  const exe = tray(visitor, 'parlor-chat').filter({ hasText: 'setup.exe' });
  await exe.locator('.note').filter({ hasText: 'This type of file can’t be sent' }).waitFor();
  await shot(visitor, 'files-widget-refused.png');
  await big.locator('.x').click();
  await exe.locator('.x').click();
  await visitor.locator('parlor-chat .tray').waitFor({ state: 'hidden' });

  // A slow upload, then the network goes: the upload fails, and Retry sends the same file.
  const cdp = await vctx.newCDPSession(visitor);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 16 * 1024 });
  const csv = Buffer.from('order,item,qty\n' + Array.from({ length: 3000 }, (_, i) => `${1000 + i},oak chair,${(i % 4) + 1}`).join('\n'));
  await pick.setInputFiles({ name: 'orders.csv', mimeType: 'text/csv', buffer: csv });
  const row = tray(visitor, 'parlor-chat').filter({ hasText: 'orders.csv' });
  const bar = row.locator('[role=progressbar]');
  await eventually(async () => Number(await bar.getAttribute('aria-valuenow')) > 0, { message: 'upload progress' });
  assert.ok(Number(await bar.getAttribute('aria-valuenow')) < 100);
  await cdp.send('Network.emulateNetworkConditions', { offline: true, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await row.locator('.note').filter({ hasText: 'Upload failed' }).waitFor();
  await shot(visitor, 'files-widget-failed.png');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await row.locator('.retry').click();
  await visitor.locator('parlor-chat .tray .up.done').filter({ hasText: 'orders.csv' }).waitFor();
  await visitor.locator(W.input).press('Enter');
  const chip = agent.locator('.msg.in .chip').filter({ hasText: 'orders.csv' });
  await chip.waitFor();
  const [download] = await Promise.all([agent.waitForEvent('download'), chip.click()]);
  assert.ok(readFileSync(await download.path()).equals(csv), 'the retried upload is the whole file');
});

test('past the signed links\' 10 minutes, files are fetched with the bearer', async () => {
  // Both pages' clocks jump 11 minutes ahead: every link in the messages they hold has expired.
  const later = Date.now() + 11 * 60_000;
  await visitor.clock.setFixedTime(later);
  await agent.clock.setFixedTime(later);

  const chip = visitor.locator('parlor-chat .m.them .chip').filter({ hasText: 'invoice-2291.pdf' });
  const [download] = await Promise.all([visitor.waitForEvent('download'), chip.click()]);
  assert.equal(download.suggestedFilename(), 'invoice-2291.pdf');
  assert.match(readFileSync(await download.path(), 'latin1'), /^%PDF-1\.4/);

  const img = agent.locator('.msg.in .thumb img');
  const [tab] = await Promise.all([agent.waitForEvent('popup'), img.click()]);
  await eventually(() => tab.url().startsWith('blob:'), { message: 'the image in a blob URL' });
  await tab.waitForLoadState();
  const b64 = await tab.evaluate(async () => {
    const bytes = new Uint8Array(await (await fetch(location.href)).arrayBuffer());
    let s = '';
    for (const b of bytes) s += String.fromCharCode(b);
    return btoa(s);
  });
  assert.ok(Buffer.from(b64, 'base64').equals(screenshot), 'the same bytes');
  await eventually(() => tab.evaluate(() => (document.images[0]?.naturalWidth || 0) === 640), { message: 'the image shown' });
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(problems, []);
});
