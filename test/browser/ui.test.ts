/**
 * The web UI in a real browser: Debian's headless Chromium driven by playwright-core against a
 * broker on free ports. One session walks the pages a RabbitMQ user uses on day one and asserts
 * what each shows with real data: login (a wrong password refused), declare a queue (its name full
 * of markup, shown as text), publish through amqplib and through the UI, the overview's publish
 * rate moving while a client publishes, peek (the message stays queued), purge, a client's consumer
 * and channel, close its connection, import a definitions file, publish to an exchange, delete the
 * queue, the admin pages (a policy set from the form once the policies API exists), and a
 * management-only user who sees no admin pages. No script error and no Content-Security-Policy
 * violation may reach the console.
 *
 * Screenshots go to test/browser/screenshots/ (AMQPD_SCREENSHOTS overrides); CI keeps that folder.
 * The browser: CHROMIUM_PATH, else /usr/bin/chromium-headless-shell or /usr/bin/chromium.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withManagement, type MgmtServer } from '../helpers/management.js';

const CANDIDATES = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium-headless-shell', '/usr/bin/chromium'];
const SHOTS = process.env['AMQPD_SCREENSHOTS'] ?? join(__dirname, 'screenshots');
/** A queue name full of markup: the UI must show it as text. */
const QUEUE = 'ui.q <b>bold</b> & "quoted" <img src=x>';
/** The UI refreshes every 5 s and the broker samples rates every 5 s: waits allow both twice. */
const LIVE_MS = 25_000;

function findChromium(): string {
  const found = CANDIDATES.find((p): p is string => p !== undefined && p !== '' && existsSync(p));
  if (found === undefined) {
    throw new Error("headless Chromium not found: run 'sudo apt-get install -y chromium-headless-shell' (or set CHROMIUM_PATH)");
  }
  return found;
}

let m: MgmtServer;
let release: () => void = () => {};
let serverDone: Promise<void> | undefined;
let browser: Browser | undefined;
let page: Page;
const problems: string[] = [];
let base = '';

beforeAll(async () => {
  const executablePath = findChromium();
  await new Promise<void>((ready, fail) => {
    serverDone = withManagement(async (mm) => {
      m = mm;
      ready();
      await new Promise<void>((r) => (release = r));
    }).catch(fail);
  });
  base = `http://127.0.0.1:${m.httpPort}`;
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // API answers the UI handles (the wrong password's 401, /api/policies' 404 on a broker
    // without policies) are logged by Chromium as resource errors: those are expected.
    const handled = /^Failed to load resource: the server responded with a status of 40[14]/.test(msg.text());
    if (msg.type() === 'error' && !handled) problems.push(`console: ${msg.text()}`);
  });
  page.on('dialog', (d) => void d.accept());
});

afterAll(async () => {
  await browser?.close();
  release();
  await serverDone;
});

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

/** Waits until the element's text satisfies `test` (polling the live page). */
async function waitText(selector: string, test: string | RegExp, timeout = 10_000): Promise<string> {
  const source = typeof test === 'string' ? { s: test } : { re: test.source, flags: test.flags };
  await page.waitForFunction(
    ([sel, t]) => {
      const text = document.querySelector(sel)?.textContent ?? '';
      return t.re !== undefined ? new RegExp(t.re, t.flags).test(text) : text.includes(t.s ?? '');
    },
    [selector, source] as const,
    { timeout },
  );
  return (await page.textContent(selector)) ?? '';
}

const queuePath = `#/queue/${encodeURIComponent('/')}/${encodeURIComponent(QUEUE)}`;

describe('web UI in headless Chromium', () => {
  it('refuses a wrong password, then logs in with basic auth', async () => {
    await page.goto(`${base}/`);
    await page.fill('#login input[name=username]', 'guest');
    await page.fill('#login input[name=password]', 'wrong');
    await page.click('#login button[type=submit]');
    await waitText('#login-status', 'Login failed');
    await shot('login');
    await page.fill('#login input[name=password]', 'guest');
    await page.click('#login button[type=submit]');
    expect(await waitText('#whoami', 'guest')).toBe('guest');
    await page.waitForSelector('#page-overview #total-queues');
  });

  it('declares a queue from the form; its name is shown as text, not markup', async () => {
    await page.click('#nav-queues');
    await page.fill('#add-queue input[name=name]', QUEUE);
    await page.click('#add-queue button[type=submit]');
    await waitText('#add-queue .notice', 'declared');
    const q = await m.api('GET', `/api/queues/%2F/${encodeURIComponent(QUEUE)}`);
    expect(q.status).toBe(200);
    expect(q.json.durable).toBe(true);
    await page.waitForSelector('#queues a[href^="#/queue/"]');
    expect(await page.textContent('#queues a[href^="#/queue/"]')).toBe(QUEUE);
    expect(await page.$$eval('#queues b, #queues img', (els) => els.length)).toBe(0);
  });

  it('shows depth from amqplib publishes, and the overview publish rate moving', async () => {
    const conn = await amqp.connect(m.amqpUrl);
    const ch = await conn.createConfirmChannel();
    for (let i = 0; i < 20; i++) ch.sendToQueue(QUEUE, Buffer.from(`hello from amqplib ${i}`), { persistent: true });
    await ch.waitForConfirms();
    await page.reload();
    await waitText('#queues td[data-label=Total]', /^20$/);
    expect(await page.textContent('#queues td[data-label=Ready]')).toBe('20');
    await ch.assertQueue('ui-rate', { durable: false });
    const consumer = await ch.consume('ui-rate', (msg) => msg && ch.ack(msg));
    let tick = 0;
    const pump = setInterval(() => {
      tick++;
      for (let i = 0; i < 20 + ((tick * 7) % 60); i++) ch.sendToQueue('ui-rate', Buffer.from('x'));
    }, 100);
    try {
      await page.click('#nav-overview');
      const text = await waitText('#rate-publish', /^[1-9][\d.]*\/s$/, LIVE_MS);
      expect(Number.parseFloat(text)).toBeGreaterThan(0);
      // The chart's publish line: one point per refresh, the latest above zero.
      const line = '#rates polyline[data-series=publish]';
      const points = () => page.getAttribute(line, 'points');
      await page.waitForFunction((sel) => (document.querySelector(sel)?.getAttribute('points') ?? '').split(' ').length >= 3, line, {
        timeout: LIVE_MS,
      });
      const ys = ((await points()) ?? '').split(' ').map((p) => Number(p.split(',')[1]));
      expect(ys.length).toBeGreaterThanOrEqual(3);
      expect(Math.min(...ys)).toBeLessThan(Math.max(...ys)); // the line moved (SVG y grows downwards)
      await waitText('#rate-deliver_get', /^[1-9][\d.]*\/s$/, LIVE_MS);
      expect(Number((await page.textContent('#total-queues .value')) ?? '')).toBe(2);
      await waitText('#total-connections .value', '1');
      await shot('overview');
    } finally {
      clearInterval(pump);
      await ch.waitForConfirms();
      await ch.cancel(consumer.consumerTag);
      await ch.deleteQueue('ui-rate');
      await conn.close();
    }
  }, 90_000);

  it('publishes from the queue page, peeks a message (it stays queued), then purges', async () => {
    await page.goto(`${base}/${queuePath}`);
    expect(await waitText('#queue-name', QUEUE)).toBe(QUEUE);
    await waitText('#q-total', '20');
    await page.fill('#publish textarea[name=payload]', 'hello from the UI <script>');
    await page.click('#publish button[type=submit]');
    await waitText('#publish-status', 'Message published.');
    await waitText('#q-total', '21');
    await page.click('#get-messages button[type=submit]');
    await waitText('#messages', 'hello from amqplib 0');
    expect(await page.textContent('#messages pre.payload')).toBe('hello from amqplib 0');
    await waitText('#q-total', '21');
    expect((await m.api('GET', `/api/queues/%2F/${encodeURIComponent(QUEUE)}`)).json.messages).toBe(21);
    await shot('queue');
    await page.click('#purge');
    await waitText('#queue-action-status', 'Queue purged.');
    await waitText('#q-total', /^0$/);
    expect((await m.api('GET', `/api/queues/%2F/${encodeURIComponent(QUEUE)}`)).json.messages).toBe(0);
  });

  it("shows a client's consumer on the queue page and its channel, then closes its connection", async () => {
    const conn = await amqp.connect(m.amqpUrl);
    const closed = new Promise<void>((r) => conn.on('close', () => r()));
    conn.on('error', () => {});
    const ch = await conn.createChannel();
    await ch.prefetch(7);
    await ch.consume(QUEUE, () => {}, { consumerTag: 'ui-consumer' });
    await page.goto(`${base}/${queuePath}`);
    await waitText('#consumers td[data-label="Consumer tag"]', 'ui-consumer');
    expect(await page.textContent('#consumers td[data-label=Prefetch]')).toBe('7');
    await page.click('#nav-channels');
    await waitText('#channels td[data-label=Consumers]', '1');
    expect(await page.textContent('#channels td[data-label=Prefetch]')).toBe('7');
    await page.click('#nav-connections');
    await page.waitForSelector('#connections button[data-connection]');
    const name = await page.getAttribute('#connections button[data-connection]', 'data-connection');
    expect((await m.api('GET', '/api/connections')).json.map((c: { name: string }) => c.name)).toEqual([name]);
    await page.click('#connections button[data-connection]');
    await waitText('#connection-status', 'closed');
    await closed;
    await waitText('#connections tbody', 'No connections.');
    expect((await m.api('GET', '/api/connections')).json).toEqual([]);
  });

  it('imports a definitions file and exports them; the queue list sorts and filters', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'amqpd-ui-'));
    try {
      const file = join(dir, 'defs.json');
      const defs = {
        queues: [{ name: 'imported-q', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-max-length': 7 } }],
        exchanges: [{ name: 'imported-x', vhost: '/', type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} }],
        bindings: [
          { source: 'imported-x', vhost: '/', destination: 'imported-q', destination_type: 'queue', routing_key: '', arguments: {} },
        ],
      };
      writeFileSync(file, JSON.stringify(defs));
      await page.click('#nav-definitions');
      await page.setInputFiles('#definitions-file', file);
      await page.click('#import-definitions button[type=submit]');
      await waitText('#import-definitions .notice', 'Definitions imported.');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect((await m.api('GET', '/api/queues/%2F/imported-q')).json.arguments).toEqual({ 'x-max-length': 7 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-definitions')]);
    const exported = JSON.parse(readFileSync(await download.path(), 'utf8'));
    expect(exported.queues.map((q: { name: string }) => q.name)).toContain('imported-q');
    expect(exported.bindings).toContainEqual(expect.objectContaining({ source: 'imported-x', destination: 'imported-q' }));
    await waitText('#definitions-status', 'Exported');
    await page.click('#nav-queues');
    await waitText('#queues tbody', 'imported-q');
    // Sorted by name; a click on the header reverses it; the filter is a regex on the name.
    const names = () => page.$$eval('#queues a[href^="#/queue/"]', (as) => as.map((a) => a.textContent));
    // The API sorts and filters (the list is paged): each change is a new request, so wait for it.
    await expect.poll(names).toEqual(['imported-q', QUEUE]);
    await page.click('#queues th:has-text("Name")');
    await expect.poll(names).toEqual([QUEUE, 'imported-q']);
    await page.fill('#page-queues input.filter', '^imp');
    await expect.poll(names).toEqual(['imported-q']);
    await page.fill('#page-queues input.filter', '');
    await page.click('#queues th:has-text("Name")');
    await expect.poll(names).toEqual(['imported-q', QUEUE]);
  });

  it('publishes to an exchange from its page and sees where it was routed', async () => {
    await page.click('#nav-exchanges');
    await page.click('#exchanges a[href="#/exchange/%2F/imported-x"]');
    await waitText('#exchange-bindings tbody', 'imported-q');
    await page.fill('#publish textarea[name=payload]', 'via the exchange page');
    await page.click('#publish button[type=submit]');
    await waitText('#publish-status', 'Message published.');
    expect((await m.api('GET', '/api/queues/%2F/imported-q')).json.messages).toBe(1);
  });

  it('deletes the queue from its page', async () => {
    await page.goto(`${base}/${queuePath}`);
    await waitText('#queue-name', QUEUE);
    await page.click('#delete-queue');
    await page.waitForSelector('#page-queues');
    await waitText('#queues tbody', 'imported-q');
    expect(await page.$$eval('#queues a[href^="#/queue/"]', (as) => as.map((a) => a.textContent))).toEqual(['imported-q']);
    expect((await m.api('GET', `/api/queues/%2F/${encodeURIComponent(QUEUE)}`)).status).toBe(404);
  });

  it('lists queues a page at a time: 100 a page, the API filtering and paging', async () => {
    const bulk = Array.from({ length: 105 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
    for (const q of bulk) expect((await m.api('PUT', `/api/queues/%2F/${q}`, { durable: false })).status).toBe(201);
    // The list's request asks for one page (RabbitMQ's UI does the same), never every queue.
    const asked = page.waitForRequest((r) => /\/api\/queues\?.*page=1.*page_size=100/.test(r.url()));
    await page.click('#nav-queues');
    await asked;
    await page.fill('#page-queues input.filter', '^bulk-');
    await waitText('#page-queues .pager-info', 'Page 1 of 2 · 105 queues (of 106)');
    const names = () => page.$$eval('#queues a[href^="#/queue/"]', (as) => as.map((a) => a.textContent));
    expect(await names()).toEqual(bulk.slice(0, 100));
    await page.click('#page-queues .pager-next');
    await waitText('#page-queues .pager-info', 'Page 2 of 2');
    await expect.poll(names).toEqual(bulk.slice(100));
    expect(await page.isDisabled('#page-queues .pager-next')).toBe(true);
    for (const q of bulk) await m.api('DELETE', `/api/queues/%2F/${q}`);
    // The list shrank under the page it shows: a refresh lands on its last page.
    await page.fill('#page-queues input.filter', '');
    await waitText('#page-queues .pager-info', 'Page 1 of 1 · 1 queues');
    await expect.poll(names).toEqual(['imported-q']);
  });

  it('shows the admin pages with real data and adds a user and a permission from them', async () => {
    await page.click('#nav-vhosts');
    await waitText('#vhosts tbody', '/');
    await page.click('#nav-users');
    await waitText('#users tbody', 'guest');
    await waitText('#permissions tbody', '.*');
    // A user with the management tag only, read permission on /, made with the two forms.
    await page.fill('#add-user input[name=username]', 'watcher');
    await page.fill('#add-user input[name=password]', 'w-pass');
    await page.fill('#add-user input[name=tags]', 'management');
    await page.click('#add-user button[type=submit]');
    await waitText('#users tbody', 'watcher');
    await page.fill('#set-permission input[name=user]', 'watcher');
    await page.fill('#set-permission input[name=configure]', '');
    await page.fill('#set-permission input[name=write]', '');
    await page.click('#set-permission button[type=submit]');
    await waitText('#permissions tbody', 'watcher');
    expect((await m.api('GET', '/api/users/watcher')).json.tags).toEqual(['management']);
    expect((await m.api('GET', '/api/permissions/%2F/watcher')).json).toMatchObject({ configure: '', write: '', read: '.*' });
    await page.click('#nav-policies');
    // The policies API may not exist yet on this broker: then the page says so.
    const policies = await m.api('GET', '/api/policies');
    if (policies.status === 404) await waitText('#policies-status', 'no policies API');
    else {
      // With the policies API: set one from the form, see it listed and applied to the queue.
      await page.fill('#add-policy input[name=name]', 'ui-limit');
      await page.fill('#add-policy input[name=pattern]', '^imported-');
      await page.selectOption('#add-policy select[name=apply-to]', 'queues');
      await page.fill('#add-policy input[name=definition]', '{"max-length": 5}');
      await page.click('#add-policy button[type=submit]');
      await waitText('#add-policy .notice', 'Policy set.');
      await waitText('#policies tbody', 'ui-limit');
      const set = await m.api('GET', '/api/policies/%2F/ui-limit');
      expect(set.json).toMatchObject({ pattern: '^imported-', 'apply-to': 'queues', definition: { 'max-length': 5 } });
      expect((await m.api('GET', '/api/queues/%2F/imported-q')).json.policy).toBe('ui-limit');
      await page.goto(`${base}/#/queue/%2F/imported-q`);
      await waitText('#queue-details', 'ui-limit');
    }
    await page.click('#logout');
    await page.waitForSelector('#login');
  });

  it('shows a management-only user no admin pages', async () => {
    await page.fill('#login input[name=username]', 'watcher');
    await page.fill('#login input[name=password]', 'w-pass');
    await page.click('#login button[type=submit]');
    await waitText('#whoami', 'watcher');
    const nav = await page.$$eval('#top nav a', (as) => as.map((a) => a.textContent));
    expect(nav).toEqual(['Overview', 'Connections', 'Channels', 'Exchanges', 'Queues']);
    await page.goto(`${base}/#/definitions`);
    await waitText('#page-definitions', 'needs the administrator tag');
    // A refused call (401 "Access refused." for a vhost without permissions) keeps the session.
    expect((await m.api('PUT', '/api/vhosts/other')).status).toBe(201);
    const sessionCheck = page.waitForResponse((r) => r.url().endsWith('/api/whoami'));
    await page.goto(`${base}/#/queue/other/q`);
    await waitText('#page-queue', 'Failed: Access refused.');
    expect((await sessionCheck).status()).toBe(200);
    expect(await page.$('#login')).toBeNull();
    expect(await page.textContent('#whoami')).toBe('watcher');
    await page.click('#logout');
    expect(problems).toEqual([]);
  });
});
