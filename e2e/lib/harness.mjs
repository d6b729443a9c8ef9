// Test harness: runs the real parlor binary on a fresh SQLite database, creates
// sites and agents through its CLI, and drives Debian's Chromium with
// playwright-core.
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, mkdirSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { io } from 'socket.io-client';

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, '..', '..');
export const BIN = process.env.PARLOR_BIN || join(repo, 'target', 'release', 'parlor');
export const SHOTS = join(repo, 'target', 'e2e');
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export class Server {
  /** `env`: more environment for the server and its CLI (e.g. `PARLOR_SMTP_URL`). */
  constructor(env = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'parlor-e2e-'));
    this.env = {
      ...process.env,
      PARLOR_LISTEN: '127.0.0.1:0',
      PARLOR_DATABASE_URL: `sqlite://${join(this.dir, 'parlor.db')}`,
      PARLOR_DEMO: 'false',
      PARLOR_PRESENCE_GRACE_MS: '300',
      RUST_LOG: process.env.RUST_LOG || 'warn',
      ...env,
    };
    this.url = '';
    this.log = '';
  }

  cli(args, extraEnv = {}) {
    let out;
    try {
      out = execFileSync(BIN, args, {
        env: { ...this.env, RUST_BACKTRACE: '0', ...extraEnv },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      throw new Error(`parlor ${args.join(' ')} failed: ${String(e.stderr || e.message).split('\n')[0]}`);
    }
    const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    return JSON.parse(line);
  }

  createSite(name, allowedOrigins = []) {
    const args = ['site', 'create', '--name', name];
    for (const o of allowedOrigins) args.push('--allowed-origin', o);
    return this.cli(args); // { id, siteKey }
  }

  createAgent(siteKey, username, name, password, role = 'agent') {
    return this.cli(['agent', 'create', '--site', siteKey, '--username', username, '--name', name, '--role', role], {
      PARLOR_PASSWORD: password,
    });
  }

  async start() {
    if (!existsSync(BIN)) throw new Error(`${BIN} not found: run cargo build --release first`);
    this.proc = spawn(BIN, ['serve'], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stderr.on('data', (d) => (this.log += d));
    this.url = await new Promise((res, rej) => {
      let buf = '';
      const t = setTimeout(() => rej(new Error('parlor did not start in 20 s:\n' + buf + this.log)), 20000);
      this.proc.stdout.on('data', (d) => {
        buf += d;
        const m = /listening on (http:\/\/[^\s]+)/.exec(buf);
        if (m) {
          clearTimeout(t);
          res(m[1].replace(/\/$/, ''));
        }
      });
      this.proc.on('exit', (code) => rej(new Error(`parlor exited with ${code}:\n${buf}${this.log}`)));
    });
    return this.url;
  }

  async stop() {
    if (this.proc && this.proc.exitCode === null) {
      this.proc.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => {
          this.proc.kill('SIGKILL');
          r();
        }, 3000);
        this.proc.on('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (opts) => {
    const c = await newContext(opts);
    c.setDefaultTimeout(10000);
    return c;
  };
  return browser;
}

export function shot(page, name, opts = {}) {
  mkdirSync(SHOTS, { recursive: true });
  return page.screenshot({ path: join(SHOTS, name), ...opts });
}

/** Fails the test if a page ever opens a dialog (alert from injected HTML). */
export function forbidDialogs(page, sink) {
  page.on('dialog', async (d) => {
    sink.push(d.message());
    await d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => sink.push('pageerror: ' + e.message));
  page.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) sink.push('csp: ' + m.text());
  });
}

/** Changes a site's settings as its admin `username` does from the dashboard: logs in, then
 *  `updateSettings` over /agent. Answers the settings after the change. */
export async function updateSettings(server, username, password, settings) {
  const res = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  if (!res.ok) throw new Error(`login of ${username}: ${res.status}`);
  const { token } = await res.json();
  const socket = io(`${server.url}/agent`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false });
  try {
    // Requests go after the first event (the handlers are registered once the connect is confirmed).
    await new Promise((ok, fail) => {
      socket.once('conversations', ok);
      socket.once('connect_error', fail);
    });
    const r = await socket.timeout(10000).emitWithAck('updateSettings', settings);
    if (!r.ok) throw new Error(`updateSettings: ${JSON.stringify(r.error)}`);
    return r.settings;
  } finally {
    socket.close();
  }
}

// ---------- the host page: a third-party shop on another origin ----------
// A tiny HTTP server on localhost (another host and port than parlor's
// 127.0.0.1) plays the customer's web site: a different origin and site, and
// still on the loopback network, which Chromium's local-network rules require.
let shop = null;
function shopPage(path, api, siteKey) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Juniper &amp; Oak ${path}</title>
<style>body{font:16px Georgia,serif;margin:0;background:#fbf7f1;color:#2b2118}
header{padding:22px 40px;border-bottom:1px solid #eadfce;font-size:24px;font-weight:700}
main{padding:40px}h1{font-weight:500;font-size:40px;margin:0 0 12px}
/* hostile page CSS that must not leak into the widget */
button{background:red!important;font-size:40px!important}</style>
</head><body><header>Juniper &amp; Oak</header><main><h1>Handmade oak furniture</h1>
<p>Page ${path.replace(/[<>&]/g, '')}</p></main>
<script src="${api}/widget.js" data-site="${siteKey}" async></script>
</body></html>`;
}
async function startShop() {
  if (shop) return shop;
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://localhost');
    const api = u.searchParams.get('api') || '';
    const site = u.searchParams.get('site') || '';
    if (u.pathname === '/favicon.ico') {
      res.writeHead(404).end();
      return;
    }
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(api) || !/^[\w-]*$/.test(site)) {
      res.writeHead(400).end('bad request');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(shopPage(u.pathname, api, site));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  srv.unref();
  shop = `http://localhost:${srv.address().port}`;
  return shop;
}

const sites = new WeakMap();
/** Makes the shop pages opened in `context` embed the widget of `siteKey` from `server`. */
export async function routeShop(context, server, siteKey) {
  await startShop();
  sites.set(context, { server, siteKey });
}
/** Opens the shop page `path` (see routeShop). */
export async function gotoShop(page, path = '/') {
  const { server, siteKey } = sites.get(page.context());
  const base = await startShop();
  await page.goto(`${base}${path}?api=${encodeURIComponent(server.url)}&site=${encodeURIComponent(siteKey)}`);
}

// ---------- widget helpers (locators pierce the open shadow root) ----------
export const W = {
  launcher: 'parlor-chat .launcher',
  panel: 'parlor-chat .panel',
  prechat: 'parlor-chat .prechat',
  input: 'parlor-chat .composer textarea',
  bubbles: 'parlor-chat .msgs .bubble',
  typing: 'parlor-chat .typing',
  ended: 'parlor-chat .ended',
  conn: 'parlor-chat .conn',
  badge: 'parlor-chat .badge',
};

export async function openWidget(page) {
  await page.locator(W.launcher).waitFor();
  if (!(await page.locator(W.panel).isVisible())) await page.locator(W.launcher).click();
  await page.locator(W.panel).waitFor();
}

export async function visitorSend(page, text) {
  const input = page.locator(W.input);
  await input.fill(text);
  await input.press('Enter');
}

export async function loginAgent(page, server, username, password) {
  await page.goto(`${server.url}/admin`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.topbar').waitFor();
  await page.locator('.conn-pill.ok').waitFor({ state: 'attached' });
}

export async function agentSend(page, text) {
  const box = page.getByLabel('Reply');
  await box.fill(text);
  await box.press('Enter');
}

/** Texts of all bubbles matching `text` exactly (for exactly-once checks). */
export async function countExact(locator, text) {
  const all = await locator.allTextContents();
  return all.filter((t) => t === text).length;
}

export async function eventually(fn, { timeout = 10000, interval = 100, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${message}${last ? ': ' + last.message : ''}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}
