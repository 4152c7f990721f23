import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_KEY } from '../helpers/client.js';
import { cleanEnv, Daemon, REPO, tempDir } from '../helpers/daemon.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) {
  console.warn(
    `browser test skipped: no Chromium at ${CHROMIUM}. Install Debian's package (apt-get install chromium) ` +
      'or set CHROMIUM_PATH, then run npm test again. .ci/run installs it.',
  );
}

describe.skipIf(!HAVE_CHROMIUM)('the example web app in headless Chromium', () => {
  let browser: Browser;
  let d: Daemon;
  const dir = tempDir();

  beforeAll(async () => {
    d = await Daemon.start(['--data-dir', dir.path, '--webapps-dir', join(REPO, 'examples', 'webapps')], {
      cwd: dir.path,
      env: cleanEnv({}, dir.path),
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // This machine has no network but loopback: keep Chromium from reaching for Google's hosts.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await d?.stop();
    dir.remove();
  });

  it('opens with its injected token, puts and reads back state with the official client, gets notified', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${d.base}/v1/contract/web/${EXAMPLE_KEY}/`);
    await page.waitForSelector('#result[data-state="hello from the browser"]', { timeout: 15_000 });
    expect(await page.textContent('#status')).toBe('connected (authenticated)');
    // The cookie the official client would fall back to is there, scoped to this web app.
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'authorization')?.path).toBe(`/v1/contract/web/${EXAMPLE_KEY}`);

    await page.fill('#state', 'changed in the browser');
    await page.click('button[type=submit]');
    await page.waitForSelector('#result[data-state="changed in the browser"]', { timeout: 10_000 });
    await page.waitForFunction(() => document.getElementById('notifications')?.textContent === '1', undefined, { timeout: 10_000 });
    expect(problems).toEqual([]);
    expect((await d.health()).connections).toBe(1);
    await page.close();
  });
});
