// End to end in a real browser (issue 9): `portcullis serve all --dev` on free ports with its
// example login UI, driven in Debian's headless Chromium through playwright-core. A person
// opens the printed authorization URL, gets the password wrong, signs in as the demo user
// (remember me), consents, lands on the callback with a code and the tokens it was exchanged
// for, is not asked to sign in again, signs out after confirming, and must sign in again.
// A screenshot of every page goes to target/browser-screenshots/. Loopback URLs only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.PORTCULLIS_BIN || path.join(root, 'target/debug/portcullis');
const shots = process.env.SCREENSHOT_DIR || path.join(root, 'target/browser-screenshots');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
// The launch flags of this machine's Chromium: no sandbox as root, and none of the
// background connections that the closed network would refuse.
const flags = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the server; resolves with the child and the printed authorization URL. */
function startServer(env) {
  const childEnv = { ...process.env, ...env };
  for (const k of ['DSN', 'URLS_LOGIN', 'URLS_CONSENT', 'URLS_LOGOUT']) delete childEnv[k];
  const child = spawn(bin, ['serve', 'all', '--dev'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no authorization URL within 60 s\nstdout:\n${out}\nstderr:\n${err}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.includes('/oauth2/auth?'));
      if (line) {
        clearTimeout(timer);
        resolve(line.trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`portcullis exited with ${code}\nstdout:\n${out}\nstderr:\n${err}`));
    });
  });
  return { child, url, output: () => `stdout:\n${out}\nstderr:\n${err}` };
}

function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
}

test('a person signs in as the demo user, sees a code and tokens, signs out and must sign in again', async (t) => {
  const [pub, admin, ui] = [await freePort(), await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${pub}/`;
  const uiBase = `http://127.0.0.1:${ui}`;
  const server = startServer({
    SERVE_PUBLIC_PORT: String(pub),
    SERVE_ADMIN_PORT: String(admin),
    URLS_SELF_ISSUER: issuer,
    PORTCULLIS_EXAMPLE_UI_PORT: String(ui),
  });
  t.after(() => server.child.kill('SIGTERM'));
  const authUrl = await server.url;
  assert.ok(authUrl.startsWith(`${issuer}oauth2/auth?client_id=demo&`), authUrl);

  fs.mkdirSync(shots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'portcullis-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: flags,
  });
  t.after(async () => {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] || await context.newPage();
  const shot = (name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
  const at = (prefix) => assert.ok(page.url().startsWith(prefix), `expected ${prefix}…, at ${page.url()}\n${server.output()}`);

  try {
    // 1. The printed URL leads to the login form.
    await page.goto(authUrl);
    at(`${uiBase}/login?login_challenge=`);
    assert.match(await page.textContent('body'), /Portcullis demo client/);
    await shot('01-login');

    // 2. A wrong password is refused with a message.
    await page.fill('#email', 'foo@bar.com');
    await page.fill('#password', 'not-the-password');
    await Promise.all([page.waitForNavigation(), page.click('#accept')]);
    assert.match(await page.textContent('#error'), /password is wrong/);
    await shot('02-wrong-password');

    // 3. The demo user signs in and is remembered.
    await page.fill('#password', 'foobar');
    await page.check('#remember');
    await Promise.all([page.waitForURL(`${uiBase}/consent?**`), page.click('#accept')]);
    assert.equal((await page.textContent('#client')).trim(), 'Portcullis demo client');
    const scopes = await page.$$eval('input.scope', (els) => els.map((e) => e.value));
    assert.deepEqual(scopes, ['openid', 'offline', 'email', 'profile']);
    await shot('03-consent');

    // 4. Consent: the callback shows the code and the tokens it was exchanged for.
    await Promise.all([page.waitForURL(`${uiBase}/callback?**`), page.click('#accept')]);
    const code = new URL(page.url()).searchParams.get('code');
    assert.ok(code && (await page.textContent('#code')).trim() === code);
    const accessToken = (await page.textContent('#access_token')).trim();
    const idToken = (await page.textContent('#id_token')).trim();
    const id = claims(idToken);
    assert.equal(id.iss, issuer);
    assert.equal(id.sub, 'foo@bar.com');
    assert.equal(id.aud[0], 'demo');
    assert.equal(id.email, 'foo@bar.com');
    assert.equal(id.name, 'Demo User');
    assert.notEqual((await page.textContent('#refresh_token')).trim(), '(none)');
    await shot('04-callback-tokens');
    const introspected = await fetch(`http://127.0.0.1:${admin}/oauth2/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: accessToken }),
    }).then((r) => r.json());
    assert.equal(introspected.active, true);
    assert.equal(introspected.sub, 'foo@bar.com');

    // 5. Signing in again skips the login form (remembered) and asks for consent.
    const logoutUrl = await page.getAttribute('#logout', 'href');
    await Promise.all([page.waitForURL(`${uiBase}/consent?**`), page.click('#again')]);
    await shot('05-login-remembered');

    // 6. Sign out, after confirming.
    await page.goto(logoutUrl);
    at(`${uiBase}/logout?logout_challenge=`);
    assert.match(await page.textContent('body'), /foo@bar\.com/);
    await shot('06-logout-confirm');
    await Promise.all([page.waitForURL(`${issuer}oauth2/fallbacks/logout/callback**`), page.click('#accept')]);
    await shot('07-logged-out');

    // 7. The next authorization asks for a login again.
    await page.goto(authUrl);
    at(`${uiBase}/login?login_challenge=`);
    await shot('08-login-again');
  } catch (e) {
    await shot('failure').catch(() => {});
    throw e;
  }
});
