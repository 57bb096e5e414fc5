// The web example, walked through in real headless Chromium (Debian's), as a person
// would: sign up, enroll reading the key off the page, sign in with codes, a replayed
// code refused, a recovery code accepted once, a remembered device, an admin making
// MFA mandatory, a second user forced to enroll and locked out, the admin's reset,
// and the audit log. Then, with a second browser of the same user, sessions that
// follow the account: a session let in by a remembered device proves nothing, a reset,
// a new phone or a new password signs out every other session, secrets are never
// cached, no other site can frame the pages, and each stage of signing in has its own CSRF token. The admin's changes ask for a fresh code ("Confirm it's you")
// once the last one is older than the organisation's window, shortened to 30 seconds
// here so that the story waits for it. Last, security keys on Chromium's virtual
// authenticator (WebAuthn over CDP): a key added from the account page, a sign-in and
// a step-up with it, a key whose signature counter was wound back refused, and the key
// removed. Then a security notice in the demo's mailbox, its "This wasn't me" link followed and
// confirmed, the account frozen, and the link refused when used again. Last, a second
// organisation on the same server: sam signs up at Smith & Co (Australia, under the ATO
// preset), and each administrator's status list, dashboard and audit log hold their own
// organisation's users and events only; the audit log reads in French for a French
// browser. Everyone else signs up at the default organisation, Harbour Books (UK). The example is opened at http://localhost:PORT, where WebAuthn works
// (relying-party id `localhost`). Screenshots go to $SCREENSHOT_DIR.
//
// Run through scripts/browser-test.sh, which builds the example and sets WEB_BIN.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const WEB_BIN = process.env.WEB_BIN;
const SHOTS = process.env.SCREENSHOT_DIR || join(process.cwd(), 'screenshots');
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const PASSWORD = 'correct horse battery';

let server;
let base;
const profiles = [];
const contexts = [];

// ---- TOTP, as the phone's authenticator app computes it (RFC 6238, SHA-1, 6 digits, 30 s) ----

function base32(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of text.replace(/[\s=]/g, '').toUpperCase()) {
    const v = alphabet.indexOf(c);
    assert.ok(v >= 0, `not base32: ${c}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

function totp(key, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

const nowStep = () => Math.floor(Date.now() / 1000 / 30);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A phone: the key read off the page and the last step it showed. */
class Phone {
  constructor(groupedKey) {
    this.key = base32(groupedKey);
    this.last = null;
  }
  /** The two consecutive codes for the confirmation: the previous step's and this one's. */
  enrollmentCodes() {
    const n = nowStep();
    this.last = n;
    return [totp(this.key, n - 1), totp(this.key, n)];
  }
  /** A code the server has not seen yet, waiting for the clock when it must. */
  async nextCode() {
    const step = this.last + 1;
    while (nowStep() < step - 1) await sleep(500);
    this.last = step;
    return totp(this.key, step);
  }
  /** A code that matches no step near now. */
  wrongCode() {
    const near = new Set([-3, -2, -1, 0, 1, 2, 3].map((d) => totp(this.key, nowStep() + d)));
    for (let i = 0; ; i++) {
      const guess = String(123456 + i * 7919).slice(-6);
      if (!near.has(guess)) return guess;
    }
  }
}

// ---- the server and the browsers ----


/** Reloads `page` until `locator` counts `count` or ten seconds pass: mail is delivered
 * by the notice relay in the background (the page runs a batch itself, but the
 * background run may hold the newest notices at that moment, for up to its second). */
async function untilCount(page, locator, count) {
  const end = Date.now() + 10_000;
  while ((await locator.count()) < count && Date.now() < end) {
    await page.waitForTimeout(250);
    await page.reload();
  }
}

async function startServer() {
  assert.ok(WEB_BIN, 'WEB_BIN must name the built web example (scripts/browser-test.sh sets it)');
  server = spawn(WEB_BIN, ['--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, MFA_PRESET: 'nist' } });
  base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the example printed no address: ${out}`)), 30_000);
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const found = out.match(/open (http:\/\/localhost:\d+)\//);
      if (found) { clearTimeout(timer); resolve(found[1]); }
    });
    server.on('exit', (code) => reject(new Error(`the example exited with ${code}: ${out}`)));
  });
}

async function browser() {
  const dir = mkdtempSync(join(tmpdir(), 'mfa-kit-chromium-'));
  profiles.push(dir);
  let context;
  try {
    context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1100, height: 900 },
    });
  } catch (error) {
    throw new Error(`CHROMIUM COULD NOT BE STARTED from ${CHROMIUM}: ${error.message}`);
  }
  contexts.push(context);
  const page = context.pages()[0] || await context.newPage();
  return { context, page };
}

/** Waits until a code proved at `provedAt` (ms) no longer counts as fresh for `window` seconds. */
async function staleAfter(provedAt, window) {
  const until = provedAt + (window + 1) * 1000;
  if (Date.now() < until) await sleep(until - Date.now());
}

/** On the step-up page, enters a code; returns the response's status. */
async function confirmItsMe(page, code) {
  await page.fill('input[name=code]', code);
  const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'),
    page.click('form#code button')]);
  await page.waitForLoadState();
  return response.status();
}

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const notice = (page) => page.locator('.notice').textContent();

async function passwordForm(page, path, user, password = PASSWORD) {
  await page.goto(base + path);
  await page.fill('input[name=username]', user);
  await page.fill('input[name=password]', password);
  await page.click('form[action="' + path + '"] button');
}

/** The session's CSRF token, from the first form on the page. */
const csrfToken = (page) => page.locator('input[name=csrf_token]').first().inputValue();

/** A form POST from the page's own origin, as a script on it would send; returns status and final path. */
async function postForm(page, path, fields) {
  return page.evaluate(async ([path, body]) => {
    const response = await fetch(path, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body,
    });
    return { status: response.status, path: new URL(response.url).pathname };
  }, [path, new URLSearchParams(fields).toString()]);
}

/** The next request of a session that another session's change ended: signed out, told why. */
async function signedOutAtNextRequest(page, what, name) {
  await page.goto(base + '/');
  const url = new URL(page.url());
  assert.equal(url.pathname, '/sign-in', `${what}: the older session is signed out`);
  assert.equal(url.searchParams.get('ended'), 'account_changed', what);
  assert.match(await notice(page), /sign-in settings changed, so you were signed out/, what);
  if (name) await shot(page, name);
  await page.goto(base + '/');
  assert.equal(new URL(page.url()).search, '', 'signed out for good: the next visit is a plain sign-in');
}

async function stillSignedIn(page, user, what) {
  await page.goto(base + '/');
  assert.equal(new URL(page.url()).pathname, '/', `${what}: the session that made the change goes on`);
  assert.match(await page.locator('#who').textContent(), new RegExp(`Signed in as ${user}`), what);
}

/** If the page asks "Confirm it's you", answers with a fresh code. */
async function stepUpIfAsked(page, phone) {
  if (new URL(page.url()).pathname === '/step-up') {
    assert.equal(await confirmItsMe(page, await phone.nextCode()), 303);
  }
}

/** On the enrollment page: the enrollment in progress, or a new one started with the button. */
async function showEnrollment(page) {
  if (await page.locator('#key').count() === 0) {
    await page.click('#start button');
  }
  await page.locator('#key').waitFor({ state: 'attached' });
}

async function signOut(page) {
  await page.goto(base + '/');
  await page.click('form[action="/sign-out"] button');
  assert.equal(new URL(page.url()).pathname, '/sign-in');
}

async function submitCode(page, code, { remember = false } = {}) {
  await page.fill('input[name=code]', code);
  if (remember) await page.check('input[name=remember]');
  const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST'), page.click('form#code button')]);
  return response.status();
}

/** Enrolls on the enrollment page: key read off the page, two codes. Returns the phone and the recovery codes. */
async function enroll(page, name) {
  assert.equal(new URL(page.url()).pathname, '/mfa/enroll');
  await showEnrollment(page);
  const phone = new Phone(await page.locator('#key').textContent());
  if (name) await shot(page, name);
  const [first, second] = phone.enrollmentCodes();
  await page.fill('input[name=first]', first);
  await page.fill('input[name=second]', second);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/mfa/enroll'),
    page.click('form[action="/mfa/enroll"] button'),
  ]);
  await page.locator('#recovery-codes').waitFor();
  const codes = await page.locator('#recovery-codes .code').allTextContents();
  return { phone, codes, response };
}

before(async () => {
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  await startServer();
});

after(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  if (server) server.kill();
  for (const dir of profiles) rmSync(dir, { recursive: true, force: true });
});

// ---- the story ----

test('the whole story in a real browser', async (t) => {
  const alice = await browser();
  const a = alice.page;
  let alicePhone;
  let recovery;

  await t.test('alice signs up with a password and is signed in', async () => {
    await passwordForm(a, '/sign-up', 'alice');
    assert.match(await a.locator('#who').textContent(), /Signed in as alice/);
    assert.match(await a.content(), /Two-step verification is off/);
  });

  await t.test('alice enrolls from the key on the page, and the QR code holds the same URI', async () => {
    await a.click('a[href="/mfa/enroll"]');
    await shot(a, 'enrollment-start');
    assert.equal(await a.locator('#key').count(), 0, 'looking at the page starts nothing');
    await showEnrollment(a);
    const uri = await a.locator('#uri').textContent();
    assert.match(uri, /^otpauth:\/\/totp\/mfa-kit%20demo:alice%40demo\.example\?secret=/);
    const qrPath = join(SHOTS, 'enrollment-qr.png');
    await a.locator('#qr svg').screenshot({ path: qrPath });
    const png = PNG.sync.read(readFileSync(qrPath));
    const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    assert.ok(decoded, 'the QR code in the screenshot decodes');
    assert.equal(decoded.data, uri, 'the QR code holds the URI shown');
    const key = (await a.locator('#key').textContent()).replace(/ /g, '');
    assert.equal(new URL(uri).searchParams.get('secret'), key, 'the grouped key is the URI secret');
    const enrolled = await enroll(a, 'enrollment');
    alicePhone = enrolled.phone;
    recovery = enrolled.codes;
    assert.equal(recovery.length, 10);
    await shot(a, 'recovery-codes');
    await a.click('a.button');
    assert.match(await a.content(), /Two-step verification is on \(10 recovery codes left\)/);
    const apps = a.locator('#authenticators tr', { hasText: 'Authenticator app' });
    assert.equal(await apps.count(), 1, 'her one authenticator app is listed');
    assert.equal(await apps.locator('button', { hasText: 'Remove' }).count(), 1);
  });

  let used;
  await t.test('after signing out, the password alone leads to the code prompt, and a code signs in', async () => {
    await signOut(a);
    await passwordForm(a, '/sign-in', 'alice');
    assert.equal(new URL(a.url()).pathname, '/sign-in/code');
    await a.goto(base + '/admin');
    assert.equal(new URL(a.url()).pathname, '/sign-in/code', 'protected pages wait for the second factor');
    await a.goto(base + '/mfa/enroll');
    assert.equal(new URL(a.url()).pathname, '/sign-in/code', 'a password alone cannot enroll a new app');
    await shot(a, 'code-prompt');
    used = await alicePhone.nextCode();
    await submitCode(a, used);
    assert.equal(new URL(a.url()).pathname, '/');
  });

  await t.test('the same code is refused with its sentence', async () => {
    await signOut(a);
    await passwordForm(a, '/sign-in', 'alice');
    assert.equal(await submitCode(a, used), 401);
    assert.match(await notice(a), /That code was already used: each code works once/);
    await shot(a, 'replay-refused');
  });

  await t.test('a recovery code signs in once', async () => {
    await a.click('a[href="/sign-in/recovery"]');
    await submitCode(a, recovery[0].toLowerCase());
    assert.equal(new URL(a.url()).pathname, '/');
    assert.match(await a.content(), /9 recovery codes left/);
    await signOut(a);
    await passwordForm(a, '/sign-in', 'alice');
    await a.goto(base + '/sign-in/recovery');
    assert.equal(await submitCode(a, recovery[0]), 401);
    assert.match(await notice(a), /already used/);
  });

  let provedAt;
  await t.test('"don\'t ask again on this device" skips the code next time', async () => {
    await a.goto(base + '/sign-in/code');
    await submitCode(a, await alicePhone.nextCode(), { remember: true });
    provedAt = Date.now();
    assert.equal(new URL(a.url()).pathname, '/');
    const cookie = (await alice.context.cookies()).find((c) => c.name === 'mfa_device');
    assert.ok(cookie, 'the device cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Lax');
    const hours = (cookie.expires - Date.now() / 1000) / 3600;
    assert.ok(hours > 11.9 && hours <= 12, `capped at 12 hours by the NIST preset, got ${hours}`);
    await signOut(a);
    await passwordForm(a, '/sign-in', 'alice');
    assert.equal(new URL(a.url()).pathname, '/', 'no code asked on the remembered device');
  });

  await t.test('a session let in by a remembered device cannot start or confirm an enrollment, or get recovery codes, right after the user proved a code in another browser', async () => {
    // Her second browser: password and a code, typed just now.
    const elsewhere = await browser();
    const e = elsewhere.page;
    await passwordForm(e, '/sign-in', 'alice');
    assert.equal(new URL(e.url()).pathname, '/sign-in/code', 'no remembered device in this browser');
    await submitCode(e, await alicePhone.nextCode());
    assert.equal(new URL(e.url()).pathname, '/');
    // Fresh there, she opens an enrollment of a new phone (and does not finish it).
    await e.goto(base + '/mfa/enroll');
    assert.equal(new URL(e.url()).pathname, '/mfa/enroll', 'the browser that proved a code needs no step-up');
    await showEnrollment(e);
    const opened = new Phone(await e.locator('#key').textContent());

    // The first browser came in by the device cookie: it proved nothing itself.
    await a.goto(base + '/');
    assert.equal(new URL(a.url()).pathname, '/');
    await a.click('a[href="/mfa/enroll"]');
    assert.equal(new URL(a.url()).pathname, '/step-up', 'the enrollment page asks this session for a code');
    assert.equal(await a.locator('#key').count(), 0, 'the key opened in the other browser is not shown');
    await a.goto(base + '/');
    const token = await csrfToken(a);
    const start = await postForm(a, '/mfa/enroll/start', { csrf_token: token });
    assert.equal(start.path, '/step-up', 'starting an enrollment is sent to the step-up');
    const [first, second] = opened.enrollmentCodes();
    const confirm = await postForm(a, '/mfa/enroll', { csrf_token: token, first, second });
    assert.equal(confirm.path, '/step-up', 'confirming one, even with the right codes, is sent to the step-up');
    await a.goto(base + '/');
    await Promise.all([a.waitForURL((url) => url.pathname === '/step-up'), a.click('#new-recovery-codes button')]);
    assert.equal(await a.locator('#recovery-codes').count(), 0, 'no recovery codes without a code in this session');
    await shot(a, 'remembered-device-step-up');

    // Nothing changed: both sessions go on, with her one phone and her codes.
    await stillSignedIn(a, 'alice', 'the remembered device');
    assert.match(await a.content(), /9 recovery codes left/);
    assert.equal(await a.locator('#authenticators tr', { hasText: 'Authenticator app' }).count(), 1);
    await stillSignedIn(e, 'alice', 'the other browser');
    await e.goto(base + '/mfa/enroll');
    assert.equal(new Phone(await e.locator('#key').textContent()).key.toString('hex'), opened.key.toString('hex'),
      'the enrollment opened there is still the one in progress');
  });

  await t.test('a session let in by a remembered device has proved nothing: the admin confirms it is her first', async () => {
    await a.goto(base + '/admin');
    assert.match(await a.locator('#in-force').textContent(), /Code again before sensitive changes after\s*5 minutes\s*5 minutes/);
    await a.fill('input[name=confirm_after]', '30');
    await a.click('form[action="/admin/settings"] button');
    // Her code seconds ago was typed in another session; this one came in by the cookie.
    assert.equal(new URL(a.url()).pathname, '/step-up', 'freshness is per session');
    await confirmItsMe(a, await alicePhone.nextCode());
    provedAt = Date.now();
    assert.equal(new URL(a.url()).pathname, '/admin', 'back where she was');
    await a.fill('input[name=confirm_after]', '30');
    await a.click('form[action="/admin/settings"] button');
    assert.equal(new URL(a.url()).pathname, '/admin/settings', 'no step-up page now: this session is fresh');
    assert.match(await notice(a), /The settings were saved/);
    assert.match(await a.locator('#in-force').textContent(), /Code again before sensitive changes after\s*30 seconds\s*30 seconds/);
  });

  await t.test('once the window has passed, the admin confirms it is her before making MFA mandatory', async () => {
    await staleAfter(provedAt, 30);
    await a.goto(base + '/step-up?next=//evil.example/');
    assert.equal(await a.locator('input[name=next]').inputValue(), '/', 'only a path on this site is a way back');
    await a.goto(base + '/admin');
    await a.check('input[name=enforce]');
    await a.click('form[action="/admin/settings"] button');
    const url = new URL(a.url());
    assert.equal(url.pathname, '/step-up', 'a remembered device is no fresh proof');
    assert.equal(url.searchParams.get('next'), '/admin');
    assert.equal(await a.locator('h1').textContent(), 'Confirm it\'s you');
    assert.match(await a.content(), /will not be asked again for 30 seconds/);
    await shot(a, 'step-up');
    assert.equal(await confirmItsMe(a, alicePhone.wrongCode()), 401);
    assert.match(await notice(a), /That code is not right/);
    assert.equal(new URL(a.url()).pathname, '/step-up');
    await confirmItsMe(a, await alicePhone.nextCode());
    provedAt = Date.now();
    assert.equal(new URL(a.url()).pathname, '/admin', 'back where she was');
    assert.equal(await a.locator('.notice').count(), 0, 'nothing was saved yet');
    await a.check('input[name=enforce]');
    await a.click('form[action="/admin/settings"] button');
    assert.match(await notice(a), /The settings were saved/);
    const inForce = await a.locator('#in-force').textContent();
    assert.match(inForce, /Remember devices\s*30 days\s*12 hours/);
    assert.match(inForce, /Mandatory for everyone\s*true\s*true/);
    assert.match(await a.content(), /In force under the presets: NIST SP 800-63B-4 AAL2</, 'no ATO preset for a UK firm');
  });

  const bob = await browser();
  const b = bob.page;
  let bobPhone;
  await t.test('bob signs up and must enroll before anything else', async () => {
    await passwordForm(b, '/sign-up', 'bob');
    assert.equal(new URL(b.url()).pathname, '/mfa/enroll');
    await b.goto(base + '/');
    assert.equal(new URL(b.url()).pathname, '/mfa/enroll', 'home waits for the enrollment');
    assert.equal(await b.locator('text=Not now').count(), 0, 'a required enrollment cannot be dismissed');
    bobPhone = (await enroll(b)).phone;
    await b.click('a.button');
    assert.match(await b.locator('#who').textContent(), /Signed in as bob/);
    await b.goto(base + '/admin');
    assert.match(await b.content(), /Only administrators/);
  });

  await t.test('five wrong codes lock bob out', async () => {
    await signOut(b);
    await passwordForm(b, '/sign-in', 'bob');
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await submitCode(b, bobPhone.wrongCode()));
    assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401]);
    assert.equal(await submitCode(b, await bobPhone.nextCode()), 429, 'even the right code waits for the lockout');
    assert.match(await notice(b), /Too many wrong codes/);
    await shot(b, 'locked-out');
  });

  await t.test('the admin resets bob after confirming with a recovery code, and bob must enroll again', async () => {
    await staleAfter(provedAt, 30);
    await a.goto(base + '/admin');
    const row = () => a.locator('#status tr', { hasText: 'bob' });
    assert.match(await row().textContent(), /until/, 'the list shows the lockout');
    await row().locator('input[name=reason]').fill('locked out; identity checked by phone');
    await row().locator('button').click();
    assert.equal(new URL(a.url()).pathname, '/step-up');
    await a.click('a[href^="/step-up/recovery"]');
    assert.equal(await a.locator('h1').textContent(), 'Confirm it\'s you');
    await confirmItsMe(a, recovery[1]);
    provedAt = Date.now();
    assert.equal(new URL(a.url()).pathname, '/admin');
    await row().locator('input[name=reason]').fill('locked out; identity checked by phone');
    await row().locator('button').click();
    assert.match(await notice(a), /Two-step verification of bob was reset/);
    assert.match(await a.locator('#status tr', { hasText: 'bob' }).textContent(), /✘/);
    await shot(a, 'admin');
    await passwordForm(b, '/sign-in', 'bob');
    assert.equal(new URL(b.url()).pathname, '/mfa/enroll');
  });

  await t.test('alice cannot remove her only authenticator app while MFA is mandatory', async () => {
    await a.goto(base + '/');
    assert.match(await a.content(), /8 recovery codes left/, 'the step-up used one');
    await a.locator('#authenticators button', { hasText: 'Remove' }).click();
    assert.equal(new URL(a.url()).pathname, '/mfa/authenticators/remove', 'her code is still fresh');
    assert.match(await notice(a), /mandatory in your organisation and cannot be turned off/);
    assert.equal(await a.locator('#authenticators tr', { hasText: 'Authenticator app' }).count(), 1);
    await shot(a, 'home');
    await a.click('a[href="/mfa/enroll"]');
    assert.equal(new URL(a.url()).pathname, '/mfa/enroll', 'still fresh: a new phone may be set up at once');
    await showEnrollment(a);
    await a.locator('#qr svg').waitFor();
  });

  await t.test('the audit log shows what happened', async () => {
    await a.goto(base + '/admin/audit');
    const kinds = await a.locator('#audit li[data-kind]').evaluateAll((cells) => cells.map((c) => c.dataset.kind));
    for (const kind of ['enrollment_confirmed', 'code_accepted', 'code_rejected', 'device_remembered',
      'device_accepted', 'org_settings_changed', 'lockout_started', 'reset_by_admin']) {
      assert.ok(kinds.includes(kind), `the audit log has a ${kind} event`);
    }
    for (const kind of ['reset_refused', 'org_settings_change_refused']) {
      assert.ok(!kinds.includes(kind), `the step-up came first, so no ${kind}`);
    }
    // Each event reads as a sentence for the admin; no raw JSON.
    const log = await a.locator('#audit').textContent();
    for (const words of ['(replayed)', 'Signed in with a recovery code', 'Locked out after too many wrong codes, until',
      'Changed the MFA settings of']) {
      assert.ok(log.includes(words), `the audit log reads "${words}"`);
    }
    assert.ok(!log.includes('{"kind"'), 'no raw JSON in the audit log');
    await shot(a, 'audit-log');
  });

  await t.test('a form without the session token is refused', async () => {
    const status = await a.evaluate(async () => (await fetch('/admin/settings', {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'level=upon_request&max_failures=5&remember_days=30',
    })).status);
    assert.equal(status, 403);
  });

  // ---- carol, in two browsers: sessions that follow the account ----

  const first = await browser();
  const c1 = first.page;
  const second = await browser();
  const c2 = second.page;
  const NEW_PASSWORD = 'a new correct horse';
  let carolPhone;
  let enrollmentPage;
  let codesPage;

  await t.test('the CSRF token differs before and after each stage', async () => {
    await c1.goto(base + '/sign-up');
    const anonymous = await csrfToken(c1);
    await passwordForm(c1, '/sign-up', 'carol');
    assert.equal(new URL(c1.url()).pathname, '/mfa/enroll', 'MFA is mandatory now: enrollment first');
    const passwordChecked = await csrfToken(c1);
    assert.notEqual(passwordChecked, anonymous, 'password checked: a new token');
    assert.equal((await postForm(c1, '/mfa/later', { csrf_token: anonymous })).status, 403,
      'the token from before the password is refused after it');
    [enrollmentPage] = await Promise.all([
      c1.waitForResponse((r) => r.request().method() === 'GET' && new URL(r.url()).pathname === '/mfa/enroll'),
      c1.click('#start button'),
    ]);
    const enrolled = await enroll(c1, 'carol-enrollment');
    carolPhone = enrolled.phone;
    codesPage = enrolled.response;
    await c1.click('a.button');
    const signedIn = await csrfToken(c1);
    assert.notEqual(signedIn, passwordChecked, 'enrollment confirmed: a new token');
    assert.equal((await postForm(c1, '/mfa/later', { csrf_token: passwordChecked })).status, 403);

    await c2.goto(base + '/sign-in');
    const before = await csrfToken(c2);
    await passwordForm(c2, '/sign-in', 'carol');
    assert.equal(new URL(c2.url()).pathname, '/sign-in/code');
    const codeDue = await csrfToken(c2);
    assert.notEqual(codeDue, before, 'password checked: a new token');
    await submitCode(c2, await carolPhone.nextCode());
    assert.equal(new URL(c2.url()).pathname, '/');
    const after = await csrfToken(c2);
    assert.notEqual(after, codeDue, 'second factor proved: a new token');
    assert.equal((await postForm(c2, '/mfa/later', { csrf_token: codeDue })).status, 403);
    await c2.click('form[action="/sign-out"] button');
    const signedOut = await csrfToken(c2);
    assert.notEqual(signedOut, after, 'signed out: a new token');
    assert.equal(new Set([anonymous, passwordChecked, signedIn, before, codeDue, after, signedOut]).size, 7);
  });

  await t.test('secret-bearing responses carry Cache-Control: no-store', async () => {
    assert.equal(enrollmentPage.headers()['cache-control'], 'no-store', 'the page with the key and QR code');
    assert.equal(codesPage.headers()['cache-control'], 'no-store', 'the page with the first recovery codes');
    const newCodes = async () => {
      await c1.goto(base + '/');
      const [response] = await Promise.all([
        c1.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/mfa/recovery-codes'),
        c1.click('#new-recovery-codes button'),
      ]);
      return response;
    };
    let response = await newCodes();
    if (new URL(c1.url()).pathname === '/step-up') {
      await stepUpIfAsked(c1, carolPhone);
      response = await newCodes();
    }
    await c1.locator('#recovery-codes').waitFor();
    assert.equal(await c1.locator('#recovery-codes .code').count(), 10);
    await shot(c1, 'new-recovery-codes');
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['cache-control'], 'no-store', 'the page with new recovery codes');
    const home = await c1.goto(base + '/');
    assert.notEqual(home.headers()['cache-control'], 'no-store', 'a page with no secret may be cached as usual');
  });

  await t.test('another site cannot show the sign-in or account pages in a frame (clickjacking)', async () => {
    const visitor = await browser();
    const v = visitor.page;
    const console = [];
    v.on('console', (message) => console.push(message.text()));
    // A page of another origin (about:blank, written here) framing two of the app's pages.
    await v.setContent(`<h1>Win a prize!</h1><iframe src="${base}/sign-in" width="500" height="300"></iframe>`
      + `<iframe src="${base}/" width="500" height="300"></iframe>`);
    await v.waitForLoadState('load');
    for (let i = 0; i < 50 && console.filter((m) => /frame-ancestors/.test(m)).length < 2; i++) await sleep(100);
    await shot(v, 'framed-by-another-site');
    const refused = console.filter((m) => /violates the following Content Security Policy directive: "frame-ancestors 'none'"/.test(m)
      && /blocked/.test(m));
    assert.equal(refused.length, 2, `Chromium refused both frames: ${console.join(' | ')}`);
    for (const frame of v.frames().filter((f) => f !== v.mainFrame())) {
      assert.equal(await frame.locator('form, input').count(), 0, `nothing of the app shows in ${frame.url()}`);
    }
    const page = await c1.goto(base + '/');
    assert.equal(page.headers()['x-content-type-options'], 'nosniff');
    assert.equal(page.headers()['referrer-policy'], 'same-origin');
  });

  await t.test('after an admin reset, a factor replacement and a password change, every older session of that user is signed out at its next request, and the one that made the change is not', async () => {
    // A new phone, set up in the first browser.
    await passwordForm(c2, '/sign-in', 'carol');
    await submitCode(c2, await carolPhone.nextCode());
    await stillSignedIn(c2, 'carol', 'before the new phone');
    await c1.goto(base + '/mfa/enroll');
    await stepUpIfAsked(c1, carolPhone);
    const replaced = await enroll(c1);
    carolPhone = replaced.phone;
    await stillSignedIn(c1, 'carol', 'the new phone');
    await signedOutAtNextRequest(c2, 'the new phone', 'signed-out-account-changed');

    // A new password, chosen in the first browser.
    await passwordForm(c2, '/sign-in', 'carol');
    await submitCode(c2, await carolPhone.nextCode());
    await stillSignedIn(c2, 'carol', 'before the new password');
    await c1.goto(base + '/');
    await c1.click('a[href="/account/password"]');
    await stepUpIfAsked(c1, carolPhone);
    assert.equal(new URL(c1.url()).pathname, '/account/password');
    await c1.fill('input[name=current]', PASSWORD);
    await c1.fill('input[name=new]', NEW_PASSWORD);
    await shot(c1, 'change-password');
    await c1.click('form[action="/account/password"] button');
    assert.match(await notice(c1), /Your password was changed/);
    await stillSignedIn(c1, 'carol', 'the new password');
    await signedOutAtNextRequest(c2, 'the new password');
    await passwordForm(c2, '/sign-in', 'carol');
    assert.match(await notice(c2), /do not match/, 'the old password no longer works');
    await passwordForm(c2, '/sign-in', 'carol', NEW_PASSWORD);
    await submitCode(c2, await carolPhone.nextCode());
    await stillSignedIn(c2, 'carol', 'before the reset');

    // The administrator resets her: both of her sessions end, the admin's goes on.
    await a.goto(base + '/admin');
    const row = () => a.locator('#status tr', { hasText: 'carol' });
    await row().locator('input[name=reason]').fill('lost both phones; identity checked by video');
    await row().locator('button').click();
    if (new URL(a.url()).pathname === '/step-up') {
      await confirmItsMe(a, await alicePhone.nextCode());
      await row().locator('input[name=reason]').fill('lost both phones; identity checked by video');
      await row().locator('button').click();
    }
    assert.match(await notice(a), /Two-step verification of carol was reset/);
    await a.goto(base + '/admin');
    assert.equal(new URL(a.url()).pathname, '/admin', 'the admin who made the change goes on');
    await signedOutAtNextRequest(c1, 'the reset');
    await signedOutAtNextRequest(c2, 'the reset');
  });

  await t.test('the admin cannot reset a user the application does not know', async () => {
    await a.goto(base + '/admin');
    const refused = await postForm(a, '/admin/reset', { csrf_token: await csrfToken(a), user: 'nobody', reason: 'typo' });
    assert.equal(refused.status, 404);
    await a.goto(base + '/admin/audit');
    assert.ok(!(await a.locator('#audit').textContent()).includes('nobody'), 'nothing was written for a stranger');
  });

  // ---- dave: a security key, on Chromium's virtual authenticator ----

  const daves = await browser();
  const d = daves.page;
  const cdp = await daves.context.newCDPSession(d);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });
  const credentials = async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials;
  let davePhone;
  let daveProvedAt;

  await t.test('dave adds a security key from the account page, and it is listed with his authenticator app', async () => {
    await passwordForm(d, '/sign-up', 'dave');
    assert.equal(new URL(d.url()).pathname, '/mfa/enroll', 'MFA is mandatory: enrollment first');
    davePhone = (await enroll(d)).phone;
    await d.click('a.button');
    assert.match(await d.locator('#who').textContent(), /Signed in as dave/);
    await d.click('#keys a');
    assert.equal(new URL(d.url()).pathname, '/mfa/security-key', 'fresh from the enrollment: no step-up');
    assert.equal(await d.locator('h1').textContent(), 'Add a security key');
    await d.fill('#add-key input[name=name]', 'YubiKey 5');
    await shot(d, 'security-key-add');
    await Promise.all([d.waitForURL((url) => url.pathname === '/'), d.click('#add-key button')]);
    assert.equal(new URL(d.url()).searchParams.get('key'), 'added');
    assert.match(await notice(d), /Your security key was added/);
    const key = d.locator('#authenticators tr[data-kind="security-key"]');
    assert.equal(await key.count(), 1, 'the key is listed');
    assert.match(await key.textContent(), /YubiKey 5\s*Security key or passkey/);
    assert.equal(await d.locator('#authenticators tr[data-kind="app"]').count(), 1, 'with his app');
    await shot(d, 'security-key-listed');
    const held = await credentials();
    assert.equal(held.length, 1, 'the virtual authenticator holds one credential');
    assert.equal(held[0].rpId, 'localhost');
  });

  await t.test('after signing out, dave signs in with the password and his security key', async () => {
    await signOut(d);
    await passwordForm(d, '/sign-in', 'dave');
    assert.equal(new URL(d.url()).pathname, '/sign-in/code');
    assert.equal(await d.locator('#use-key button').textContent(), 'Use your security key');
    await shot(d, 'security-key-sign-in');
    const [response] = await Promise.all([
      d.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sign-in/key'),
      d.click('#use-key button'),
    ]);
    assert.equal(response.status(), 303, 'accepted: on to the application');
    await d.waitForURL((url) => url.pathname === '/');
    daveProvedAt = Date.now();
    assert.match(await d.locator('#who').textContent(), /Signed in as dave/);
    const used = d.locator('#authenticators tr[data-kind="security-key"] td').nth(3);
    assert.notEqual((await used.textContent()).trim(), '', 'the key shows when it was last used');
  });

  await t.test('before a sensitive action, dave confirms it is him with the key', async () => {
    await staleAfter(daveProvedAt, 30);
    await d.goto(base + '/');
    await d.click('a[href="/account/password"]');
    assert.equal(new URL(d.url()).pathname, '/step-up', 'the proof is older than the window');
    assert.equal(await d.locator('#use-key button').count(), 1, 'the step-up offers the key');
    await shot(d, 'security-key-step-up');
    await Promise.all([d.waitForURL((url) => url.pathname === '/account/password'), d.click('#use-key button')]);
    assert.equal(await d.locator('h1').textContent(), 'Change your password', 'back where he was going');
  });

  await t.test('a key whose signature counter was wound back (a copy of it?) is refused at sign-in', async () => {
    await signOut(d);
    const [credential] = await credentials();
    assert.ok(credential.signCount >= 1, `the key has signed: counter ${credential.signCount}`);
    await cdp.send('WebAuthn.removeCredential', { authenticatorId, credentialId: credential.credentialId });
    await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: { ...credential, signCount: 0 } });
    await passwordForm(d, '/sign-in', 'dave');
    const [response] = await Promise.all([
      d.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/sign-in/key'),
      d.click('#use-key button'),
    ]);
    assert.equal(response.status(), 401);
    await d.waitForLoadState();
    assert.match(await notice(d), /Your security key's response was not accepted/);
    assert.equal(await d.locator('#use-key button').count(), 1, 'the prompt is shown again');
    await shot(d, 'security-key-counter-refused');
    await d.goto(base + '/');
    assert.equal(new URL(d.url()).pathname, '/sign-in/code', 'not signed in');
    await a.goto(base + '/admin/audit');
    const kinds = await a.locator('#audit li[data-kind]').evaluateAll((cells) => cells.map((c) => c.dataset.kind));
    for (const kind of ['security_key_registered', 'security_key_counter_regressed']) {
      assert.ok(kinds.includes(kind), `the audit log has a ${kind} event`);
    }
  });

  await t.test('dave signs in with a code, renames the key and removes it; the sign-in no longer offers one', async () => {
    await d.goto(base + '/sign-in/code');
    await submitCode(d, await davePhone.nextCode());
    assert.equal(new URL(d.url()).pathname, '/');
    const key = d.locator('#authenticators tr[data-kind="security-key"]');
    await key.locator('summary', { hasText: 'Rename' }).click();
    await key.locator('input[name=name]').fill('Old blue key');
    await key.locator('button', { hasText: 'Save' }).click();
    assert.match(await notice(d), /The name was changed/);
    assert.match(await key.textContent(), /Old blue key/);
    await key.locator('button', { hasText: 'Remove' }).click();
    assert.match(await notice(d), /The security key was removed/);
    assert.equal(await d.locator('#authenticators tr[data-kind="security-key"]').count(), 0);
    assert.equal(await d.locator('#authenticators tr[data-kind="app"]').count(), 1, 'his app stays');
    await shot(d, 'security-key-removed');
    await signOut(d);
    await passwordForm(d, '/sign-in', 'dave');
    assert.equal(new URL(d.url()).pathname, '/sign-in/code');
    assert.equal(await d.locator('#use-key').count(), 0, 'no key to offer');
  });

  // ---- erin: a security notice by "e-mail", and its "This wasn't me" link ----

  const erins = await browser();
  const ep = erins.page;
  let erinPhone;
  let link;

  await t.test('erin gets new recovery codes, and her mailbox shows the notice e-mail with a "This wasn\'t me" link', async () => {
    await passwordForm(ep, '/sign-up', 'erin');
    assert.equal(new URL(ep.url()).pathname, '/mfa/enroll', 'MFA is mandatory: enrollment first');
    erinPhone = (await enroll(ep)).phone;
    await ep.click('a.button');
    await ep.click('#new-recovery-codes button');
    if (new URL(ep.url()).pathname === '/step-up') {
      await stepUpIfAsked(ep, erinPhone);
      await ep.click('#new-recovery-codes button');
    }
    await ep.locator('#recovery-codes').waitFor();
    await ep.click('a.button');
    await ep.click('#mailbox-link');
    assert.equal(new URL(ep.url()).pathname, '/dev/mailbox');
    assert.equal(new URL(ep.url()).searchParams.get('user'), 'erin');
    assert.match(await ep.locator('#demo-label').textContent(), /Demo only\. This page stands in for the user's e-mail inbox/);
    const mails = ep.locator('article.mail');
    await untilCount(ep, mails, 3);
    assert.equal(await mails.count(), 3, 'the app set up, the first recovery codes, the new ones');
    const newest = mails.first();
    assert.equal(await newest.locator('.subject').textContent(), 'New recovery codes for your mfa-kit demo account');
    const text = await newest.locator('pre.mail-text').textContent();
    assert.match(text, /^10 new recovery codes were generated for your account; the old ones no longer work\./);
    assert.match(text, /When: {3}\d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(text, /If this was not you, someone may hold your new codes/);
    assert.match(text, /Or use the “This wasn't me” link that comes with this message/);
    assert.match(text, /Reference: notice \d+\./);
    assert.match(await mails.nth(2).locator('.subject').textContent(), /A sign-in method was added to your mfa-kit demo account/);
    const wasntMe = newest.locator('.wasnt-me a');
    assert.equal(await wasntMe.textContent(), 'This wasn\'t me');
    link = await wasntMe.getAttribute('href');
    const url = new URL(link);
    assert.equal(url.origin + url.pathname, base + '/wasnt-me');
    assert.equal(url.searchParams.get('user'), 'erin');
    assert.match(url.searchParams.get('token'), /^\d+\.\d+\.r\.\S+$/, 'the token of a recovery-codes notice');
    await shot(ep, 'mailbox');
  });

  await t.test('erin follows the link: its page changes nothing until she confirms; then the codes are revoked, every session signed out, the account frozen', async () => {
    await ep.click('article.mail >> nth=0 >> .wasnt-me a');
    assert.equal(new URL(ep.url()).pathname, '/wasnt-me');
    assert.equal(await ep.locator('h1').textContent(), 'This wasn\'t me');
    assert.match(await ep.locator('#what-happens').textContent(), /frozen until your administrator resets it/);
    await shot(ep, 'wasnt-me');
    await stillSignedIn(ep, 'erin', 'opening the link');
    assert.equal(await ep.locator('#frozen').count(), 0, 'opening the link froze nothing');
    await ep.goto(link);
    await ep.click('#wasnt-me button');
    assert.equal(new URL(ep.url()).pathname, '/wasnt-me');
    assert.equal(await ep.locator('h1').textContent(), 'Your account is frozen');
    assert.match(await ep.locator('#revoked').textContent(), /The recovery codes made then: they no longer work\./);
    assert.match(await ep.locator('#signed-out').textContent(), /Every session of the account was signed out/);
    assert.match(await ep.locator('#frozen').textContent(), /frozen until your administrator resets it/);
    await shot(ep, 'wasnt-me-done');
    await signedOutAtNextRequest(ep, 'this wasn\'t me');
  });

  await t.test('erin signs in again with her app, and changes are refused with the frozen sentence', async () => {
    await passwordForm(ep, '/sign-in', 'erin');
    assert.equal(new URL(ep.url()).pathname, '/sign-in/code', 'the factors that remain still sign in');
    await submitCode(ep, await erinPhone.nextCode());
    assert.equal(new URL(ep.url()).pathname, '/');
    assert.match(await ep.locator('#frozen').textContent(), /frozen because you reported a change you did not make/);
    assert.match(await ep.content(), /0 recovery codes left/, 'the codes of the notice were revoked');
    await shot(ep, 'frozen-home');
    await ep.click('#new-recovery-codes button');
    assert.match(await notice(ep), /Changes to your two-step verification are frozen because you reported a change you did not make\. Ask your administrator to reset it\./);
    assert.equal(await ep.locator('#recovery-codes').count(), 0, 'no new recovery codes');
    await shot(ep, 'frozen-refused');
    await ep.goto(base + '/mfa/enroll');
    assert.match(await notice(ep), /Changes to your two-step verification are frozen/, 'nor a new phone');
    assert.equal(await ep.locator('#key').count(), 0);
    await ep.goto(base + '/account/password');
    assert.match(await notice(ep), /Changes to your two-step verification are frozen/, 'nor a new password');
    assert.equal(await ep.locator('input[name=new]').count(), 0);
  });

  await t.test('the same link again says it was used, an altered one that it is not valid, and the audit log has both', async () => {
    await ep.goto(link);
    await ep.click('#wasnt-me button');
    assert.match(await notice(ep), /That link was already used: your account's changes are frozen until your administrator resets them\./);
    await shot(ep, 'wasnt-me-used');
    const altered = new URL(link);
    const token = altered.searchParams.get('token');
    altered.searchParams.set('token', token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'));
    await ep.goto(altered.href);
    await ep.click('#wasnt-me button');
    assert.match(await notice(ep), /That link is not valid/);
    await a.goto(base + '/admin/audit');
    const kinds = await a.locator('#audit li[data-kind]').evaluateAll((cells) => cells.map((c) => c.dataset.kind));
    for (const kind of ['notice_disowned', 'disown_refused']) {
      assert.ok(kinds.includes(kind), `the audit log has a ${kind} event`);
    }
  });

  // ---- a second organisation on the same server: Smith & Co, under the ATO preset ----

  const sams = await browser();
  const s = sams.page;
  await t.test('sam signs up at Smith & Co: its first account, its administrator, under the ATO preset, enrolls at once', async () => {
    await s.goto(base + '/sign-up');
    await s.selectOption('select[name=org]', 'smith-co');
    await s.fill('input[name=username]', 'sam');
    await s.fill('input[name=password]', PASSWORD);
    await s.click('form[action="/sign-up"] button');
    assert.equal(new URL(s.url()).pathname, '/mfa/enroll', 'the ATO preset makes MFA mandatory for an Australian tax-data firm');
    assert.equal(await s.locator('text=Not now').count(), 0);
    await enroll(s);
    await s.click('a.button');
    assert.match(await s.locator('#who').textContent(), /Signed in as sam of Smith & Co/);
  });

  await t.test('sam\'s status list and dashboard hold Smith & Co\'s users only, with where each stands', async () => {
    await s.goto(base + '/admin');
    assert.equal(new URL(s.url()).pathname, '/admin', 'the first account of an organisation administers it');
    assert.match(await s.locator('#org').textContent(), /Smith & Co/);
    const users = await s.locator('#status tr td:first-child').allTextContents();
    assert.deepEqual(users, ['sam'], 'only Smith & Co\'s users');
    assert.equal(await s.locator('#status tr', { hasText: 'sam' }).locator('td[data-compliance]').getAttribute('data-compliance'), 'set_up');
    assert.equal(await s.locator('#counts li[data-state=set_up] strong').textContent(), '1');
    const inForce = await s.locator('#in-force').textContent();
    assert.match(await s.content(), /In force under the presets: NIST SP 800-63B-4 AAL2, ATO Operational Security Framework</);
    assert.match(inForce, /Lockout after\s*5\s*5/, 'the ATO preset\'s lockout');
    assert.match(inForce, /Users may turn MFA off\s*true\s*false/, 'and no way out');
    await shot(s, 'admin-smith-co');
  });

  await t.test('alice\'s status list holds Harbour Books\' users with where each stands, and not sam', async () => {
    await a.goto(base + '/admin');
    const users = await a.locator('#status tr td:first-child').allTextContents();
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin']) assert.ok(users.includes(user), `${user} is listed`);
    assert.ok(!users.includes('sam'), 'no user of Smith & Co');
    const standing = async (user) => a.locator('#status tr', { hasText: user }).locator('td[data-compliance]').getAttribute('data-compliance');
    assert.equal(await standing('alice'), 'set_up');
    assert.equal(await standing('bob'), 'required', 'reset, and MFA is mandatory: required, not set up');
    const counted = await a.locator('#counts strong').allTextContents();
    assert.equal(counted.reduce((sum, n) => sum + Number(n), 0), users.length, 'the dashboard counts every member once');
    const required = await a.locator('#status td[data-compliance=required]').count();
    assert.equal(await a.locator('#counts li[data-state=required] strong').textContent(), String(required));
    await shot(a, 'admin-harbour');
  });

  await t.test('each audit log holds its own organisation\'s events, one sentence each, and reads in French for a French browser', async () => {
    await s.goto(base + '/admin/audit');
    const samLog = await s.locator('#audit').textContent();
    assert.match(samLog, /UTC, sam from [^:]+: Set up an authenticator app\./, 'sam\'s enrollment, as a sentence');
    for (const other of ['alice', 'bob', 'erin']) assert.ok(!samLog.includes(`, ${other}`), `no event of ${other}`);
    assert.ok(!samLog.includes('{"kind"'), 'no raw JSON');
    await shot(s, 'audit-smith-co');
    await a.goto(base + '/admin/audit');
    const aliceLog = await a.locator('#audit').textContent();
    assert.ok(aliceLog.includes('alice') && !aliceLog.includes('sam'), 'no event of Smith & Co at Harbour Books');
    const french = await s.evaluate(async () => (await fetch('/admin/audit', { headers: { 'Accept-Language': 'fr-CA, en;q=0.5' } })).text());
    const lines = [...french.matchAll(/<li[^>]*data-kind="enrollment_confirmed"[^>]*>([^<]*)</g)].map((m) => m[1]);
    assert.ok(lines.length > 0, 'the French log lists the enrollment');
    assert.match(lines[0], /UTC/);
    assert.doesNotMatch(lines[0], /Set up|authenticator app/, `in French: ${lines[0]}`);
  });
});
