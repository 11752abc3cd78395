// The web console in a real browser: Debian's chromium driven by
// playwright-core against a running latchkey stack (nginx serving
// console/ and the API on one origin, latchkeyd, MariaDB). Each test
// acts through the page as a user would and checks the result with the
// API itself (/verify with the key read off the page, GET of what the
// page changed), and axe-core scans every view. Screenshots of each view
// (360 px and desktop) go to $OUT. Run by tests/browser/run, which sets:
//
//   LATCHKEY_URL  the stack's nginx        LK_TOKEN, LK_ORG  an organization
//   LK_CTL        latchkeyctl -c CONF      LK_DB_SOCKET, LK_DB_USER  MariaDB
//   OUT           output folder            SECRETS_FILE  (optional) where
//                                          raw keys seen are appended
//
// Prints one line per test and last "N passed, N failed"; exits 1 when
// any failed.

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const BASE = process.env.LATCHKEY_URL;
const TOKEN = process.env.LK_TOKEN;
const ORG = process.env.LK_ORG;
const CTL = (process.env.LK_CTL || '').split(' ').filter(Boolean);
const OUT = process.env.OUT || path.join(path.dirname(new URL(import.meta.url).pathname), 'out');
const SHOTS = path.join(OUT, 'screenshots');
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 780 };

if (!BASE || !TOKEN || !ORG || !CTL.length) {
	console.error('console.test.mjs: LATCHKEY_URL, LK_TOKEN, LK_ORG and LK_CTL are required');
	process.exit(2);
}
fs.mkdirSync(SHOTS, { recursive: true });

// ---- harness ---------------------------------------------------------------

let passed = 0, failed = 0, skipped = 0;
const tests = [];
function test(name, fn) { tests.push({ name, fn }); }

class Skip extends Error {}

function assert(cond, what) {
	if (!cond)
		throw new Error('assertion failed: ' + what);
}
function eq(got, want, what) {
	if (got !== want)
		throw new Error(what + ': got ' + JSON.stringify(got) + ', want ' + JSON.stringify(want));
}

function secret(s) {
	if (process.env.SECRETS_FILE && s)
		fs.appendFileSync(process.env.SECRETS_FILE, s + '\n');
}
secret(TOKEN);

// ---- the API, from node --------------------------------------------------

async function api(method, p, body, token = TOKEN) {
	const headers = { Authorization: 'Bearer ' + token };
	if (body !== undefined)
		headers['Content-Type'] = 'application/json';
	const r = await fetch(BASE + p, { method, headers,
	    body: body === undefined ? undefined : JSON.stringify(body) });
	const text = await r.text();
	return { status: r.status, data: text ? JSON.parse(text) : null, headers: r.headers };
}

async function verify(key) {
	const r = await fetch(BASE + '/verify', { headers: { 'X-Api-Key': key } });
	await r.text();
	return { status: r.status, reason: r.headers.get('x-latchkey-reason'),
	    project: r.headers.get('x-latchkey-project-id'),
	    keyId: r.headers.get('x-latchkey-key-id') };
}

function sql(q) {
	return execFileSync('mariadb', ['--no-defaults', '--socket=' + process.env.LK_DB_SOCKET,
	    '-u', process.env.LK_DB_USER || 'root', '-N', '-B', 'latchkey', '-e', q],
	    { encoding: 'utf8' });
}

function ctl(...args) {
	return execFileSync(CTL[0], [...CTL.slice(1), ...args], { encoding: 'utf8' });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- the browser -----------------------------------------------------------

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
	executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
	headless: true,
	viewport: DESKTOP,
	args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	    '--disable-background-networking', '--disable-component-update',
	    '--disable-sync'],
});
await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
const page = ctx.pages()[0] || await ctx.newPage();
page.setDefaultTimeout(8000);
const pageProblems = [];
page.on('console', (m) => {
	if (m.type() === 'error')
		pageProblems.push(m.text());
});
page.on('pageerror', (e) => pageProblems.push('page error: ' + e.message));

const console_ = BASE + '/console/';

async function text(sel) {
	return (await page.locator(sel).first().textContent()).replace(/\s+/g, ' ').trim();
}

async function waitText(sel, re, timeout = 8000) {
	const t0 = Date.now();
	let last = null;
	while (Date.now() - t0 < timeout) {
		const l = page.locator(sel);
		if (await l.count() > 0) {
			last = (await l.first().textContent()).replace(/\s+/g, ' ').trim();
			if (re.test(last))
				return last;
		}
		await sleep(50);
	}
	throw new Error(sel + ': text ' + JSON.stringify(last) + ' never matched ' + re);
}

// Screenshots at 360 px and on a desktop, and an axe-core scan (WCAG 2.0,
// 2.1 and 2.2 A/AA rules) at both sizes.
const axeReport = [];
// With a locator, the screenshot is of the window scrolled to it (a long
// list would make an unreadable full-page picture).
async function look(name, at, scan = true) {
	for (const [tag, size] of [['360', PHONE], ['desktop', DESKTOP]]) {
		await page.setViewportSize(size);
		await sleep(100);
		if (at)
			await at.evaluate((el) => el.scrollIntoView({ block: 'center' }));
		await page.screenshot({ path: path.join(SHOTS, name + '-' + tag + '.png'), fullPage: !at });
		if (!scan)
			continue;
		if (!(await page.evaluate(() => typeof window.axe === 'object')))
			await page.evaluate(AXE);
		const v = await page.evaluate(async () => {
			const r = await window.axe.run(document, { runOnly: { type: 'tag',
			    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
			return { violations: r.violations.map((x) => ({ id: x.id, help: x.help,
			    nodes: x.nodes.map((n) => n.target.join(' ')).slice(0, 5) })),
			    passes: r.passes.length };
		});
		axeReport.push(name + ' ' + tag + ': ' + v.violations.length + ' violations, ' +
		    v.passes + ' rules passed');
		if (v.violations.length)
			throw new Error('axe on ' + name + ' at ' + tag + ': ' +
			    JSON.stringify(v.violations, null, 1));
	}
	await page.setViewportSize(DESKTOP);
}

async function signIn(token = TOKEN) {
	await page.fill('input[name=token]', token);
	await page.click('form.signin button[type=submit]');
	await page.waitForSelector('nav >> text=Sign out');
	await page.waitForSelector('h1:not(:text-is("Sign in"))');
}

async function storageDump() {
	return page.evaluate(async () => {
		const all = {};
		for (const s of ['sessionStorage', 'localStorage']) {
			all[s] = {};
			for (let i = 0; i < window[s].length; i++)
				all[s][window[s].key(i)] = window[s].getItem(window[s].key(i));
		}
		all.indexedDB = (await indexedDB.databases()).map((d) => d.name);
		all.caches = await caches.keys();
		all.cookie = document.cookie;
		return all;
	});
}

function projectItem(id) {
	return page.locator('li[data-project-id="' + id + '"]');
}
function keyItem(id) {
	return page.locator('li[data-key-id="' + id + '"]');
}

// ---- the tests -------------------------------------------------------------

const S = {};	// what one test leaves for the next

test('jcs.js: RFC 8785 canonical form, SHA-256 and the chain check', async () => {
	const { jcs, sha256hex, verifyChain, ZERO_HASH } = await import('../../console/jcs.js');
	eq(jcs({ b: 1, a: '\u0000\u001f"\\/\u007f€😀\n\t\b\f\r', '\u20ac': 1, '\r': 2, '1': 3, 'é': 4, '\ud83d\ude00': 5, '\uff61': 6 }),
	    '{"\\r":2,"1":3,"a":"\\u0000\\u001f\\"\\\\/\u007f€😀\\n\\t\\b\\f\\r","b":1,"é":4,"€":1,"😀":5,"｡":6}',
	    'sorted by UTF-16 code units, minimal escaping');
	eq(jcs([null, true, false, 0, -0, 42, -7, 9007199254740991, [], {}, { z: [{ y: null }] }]),
	    '[null,true,false,0,0,42,-7,9007199254740991,[],{},{"z":[{"y":null}]}]', 'types');
	eq(await sha256hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'SHA-256');
	// A chain of three made here, then broken three ways.
	const chain = [];
	let prev = ZERO_HASH;
	for (let i = 1; i <= 3; i++) {
		const e = { id: 'aud_' + i, seq: i, at: '2026-12-01T00:00:0' + i + '.000Z', action: 'key.update',
		    actor: { type: 'cli', id: null }, target: { type: 'key', id: 'key_x' }, projectId: null,
		    changes: { name: ['a\u00e9', 'b"'] }, requestId: null, sourceIp: null, prevHash: prev };
		e.hash = await sha256hex(prev + jcs(e));
		prev = e.hash;
		chain.push(e);
	}
	eq(JSON.stringify(await verifyChain(chain)), '{"ok":true,"seq":3}', 'intact');
	const edited = structuredClone(chain);
	edited[1].changes.name[1] = 'c';
	eq(JSON.stringify(await verifyChain(edited)), JSON.stringify({ ok: false, seq: 2,
	    reason: 'has been changed: its content does not match its hash' }), 'edited');
	eq((await verifyChain([chain[0], chain[2]])).seq, 2, 'a missing event');
	const relinked = structuredClone(chain);
	relinked[2].prevHash = ZERO_HASH;
	eq(JSON.stringify(await verifyChain(relinked)), JSON.stringify({ ok: false, seq: 3,
	    reason: 'does not link to seq 2: its prevHash is not that event\'s hash' }), 'relinked');
});

test('the console is served with its security headers', async () => {
	const r = await fetch(console_);
	eq(r.status, 200, 'status');
	eq(r.headers.get('content-type'), 'text/html; charset=utf-8', 'Content-Type');
	assert(/default-src 'self'/.test(r.headers.get('content-security-policy')), 'CSP');
	eq(r.headers.get('x-frame-options'), 'DENY', 'X-Frame-Options');
	eq(r.headers.get('referrer-policy'), 'no-referrer', 'Referrer-Policy');
	const html = await r.text();
	assert(!/<script(?![^>]*\bsrc=)/.test(html), 'no inline script');
	assert(!/<style|\sstyle=/.test(html), 'no inline style');
	for (const f of ['app.js', 'api.js', 'ui.js', 'jcs.js', 'projects.js', 'keys.js', 'audit.js', 'style.css']) {
		const x = await fetch(console_ + f);
		eq(x.status, 200, f);
		await x.text();
	}
});

test('lighttpd serves the console with the same headers', async () => {
	const L = process.env.LIGHTTPD_URL;
	if (!L)
		throw new Skip('no LIGHTTPD_URL');
	const r = await fetch(L + '/console/');
	eq(r.status, 200, 'status');
	eq(r.headers.get('content-type'), 'text/html; charset=utf-8', 'Content-Type');
	const n = await fetch(console_);
	for (const hd of ['content-security-policy', 'x-frame-options', 'referrer-policy', 'x-content-type-options'])
		eq(r.headers.get(hd), n.headers.get(hd), hd + ' as nginx says it');
	eq(await r.text(), await n.text(), 'the same page');
	const js = await fetch(L + '/console/app.js');
	eq(js.status, 200, 'app.js');
	eq(js.headers.get('content-type'), 'text/javascript; charset=utf-8', 'app.js type');
	await js.text();
});

test('sign-in: a bad token is refused next to the field with the API\'s reason', async () => {
	await page.goto(console_);
	await page.waitForSelector('form.signin');
	await look('signin');
	await page.fill('input[name=token]', 'lko_' + 'A'.repeat(38));
	await page.click('form.signin button[type=submit]');
	const msg = await waitText('.field-error', /malformed credentials/);
	assert(/refused this token/.test(msg), 'message: ' + msg);
	eq(await page.getAttribute('input[name=token]', 'aria-invalid'), 'true', 'aria-invalid');
	const st = await storageDump();
	eq(JSON.stringify(st.sessionStorage), '{}', 'nothing kept for a refused token');
	await look('signin-error');
});

test('sign-in keeps the token in sessionStorage only, never in the URL', async () => {
	await signIn();
	const st = await storageDump();
	eq(st.sessionStorage['latchkey.token'], TOKEN, 'sessionStorage');
	eq(Object.keys(st.localStorage).length, 0, 'localStorage entries');
	eq(st.cookie, '', 'cookies');
	assert(!page.url().includes(TOKEN), 'token in URL');
	eq(await page.isVisible('nav >> text=Sign out'), true, 'sign out shown');
});

test('create a project: its key is shown once and works at /verify', async () => {
	// An empty name: the API's error, next to the Name field.
	await page.click('form.create button[type=submit]');
	const err = await waitText('form.create .field-error:visible', /name/i);
	assert(/validation_failed/.test(err), 'error: ' + err);
	eq(await page.getAttribute('form.create input[name=name]', 'aria-invalid'), 'true', 'aria-invalid');

	// The button is disabled while the request runs, and nothing is shown
	// before the API answered (the request is held 800 ms on its way).
	await page.route('**/projects', async (route) => {
		if (route.request().method() === 'POST')
			await sleep(800);
		await route.continue();
	});
	await page.fill('form.create input[name=name]', 'Checkout ✓');
	await page.selectOption('form.create select[name=environment]', 'staging');
	const before = await page.locator('ul.items > li').count();
	await page.click('form.create button[type=submit]');
	await sleep(300);
	eq(await page.isDisabled('form.create button[type=submit]'), true, 'button disabled while running');
	eq(await page.locator('ul.items > li').count(), before, 'nothing added before the answer');
	eq(await page.locator('.secret-panel').count(), 0, 'no key before the answer');
	await page.waitForSelector('.secret-panel input.secret');
	await page.unroute('**/projects');
	eq(await page.isDisabled('form.create button[type=submit]'), false, 'button enabled again');

	const key = await page.inputValue('.secret-panel input.secret');
	secret(key);
	assert(/^lk_[0-9A-Za-z]{38}$/.test(key), 'key shape ' + key);
	assert(/will not be shown again/.test(await text('.secret-panel')), 'warning');
	const id = await page.locator('ul.items > li').first().getAttribute('data-project-id');
	const v = await verify(key);
	eq(v.status, 204, '/verify with the key from the page');
	eq(v.project, id, 'X-Latchkey-Project-Id');
	const p = await api('GET', '/projects/' + id);
	eq(p.data.name, 'Checkout ✓', 'name stored');
	eq(p.data.environment, 'staging', 'environment stored');
	S.project = id;
	S.projectKey = key;
	S.projectKeyId = v.keyId;

	// Copy by keyboard: Tab to the copy button, Enter, read the clipboard.
	await page.focus('.secret-panel input.secret');
	await page.keyboard.press('Tab');
	eq(await page.evaluate(() => document.activeElement.textContent), 'Copy key', 'focus on copy');
	await page.keyboard.press('Enter');
	await waitText('.secret-panel .copy-status', /Copied/);
	eq(await page.evaluate(() => navigator.clipboard.readText()), key, 'clipboard');
	await look('project-created');
	await page.click('text=I have stored it; hide the key');
	eq(await page.locator('.secret-panel').count(), 0, 'panel gone');
	assert(!(await page.content()).includes(key), 'key gone from the page');
});

test('keyboard only: create a project, copy its key, hide it', async () => {
	await page.goto(console_ + '#/projects');
	await waitText('.list-status', /Showing/);
	await page.focus('h1');
	const active = () => page.evaluate(() => {
		const a = document.activeElement;
		return a.tagName.toLowerCase() + (a.name ? '[' + a.name + ']' : '') + ':' + (a.textContent || '').trim();
	});
	await page.keyboard.press('Tab');
	eq(await active(), 'input[name]:', 'Tab from the heading reaches the name');
	await page.keyboard.type('Keyboard');
	await page.keyboard.press('Tab');
	assert((await active()).startsWith('select[environment]'), 'then the environment');
	await page.keyboard.press('ArrowDown');
	await page.keyboard.press('Tab');
	eq(await active(), 'button:Create project', 'then the button');
	await page.keyboard.press('Enter');
	await page.waitForSelector('.secret-panel input.secret');
	assert((await active()).startsWith('section:'), 'focus moves to the new key');
	const key = await page.inputValue('.secret-panel input.secret');
	secret(key);
	const v = await verify(key);
	eq(v.status, 204, '/verify');
	eq((await api('GET', '/projects/' + v.project)).data.environment, 'staging', 'environment chosen by arrow key');
	for (let i = 0; i < 3; i++)
		await page.keyboard.press('Tab');
	eq(await active(), 'button:I have stored it; hide the key', 'Tab to hide');
	await page.keyboard.press('Enter');
	eq(await page.locator('.secret-panel').count(), 0, 'hidden');
});

test('rename a project and change its environment', async () => {
	const it = projectItem(S.project);
	await it.locator('button:has-text("Edit")').click();
	await look('project-edit');
	await it.locator('input[name=name]').fill('');
	await it.locator('button:has-text("Save")').click();
	await waitText('li[data-project-id="' + S.project + '"] .field-error', /name/i);
	await it.locator('input[name=name]').fill('Checkout EU');
	await it.locator('select[name=environment]').selectOption('production');
	await it.locator('button:has-text("Save")').click();
	await waitText('li[data-project-id="' + S.project + '"] h3', /^Checkout EU$/);
	const p = await api('GET', '/projects/' + S.project);
	eq(p.data.name, 'Checkout EU', 'name');
	eq(p.data.environment, 'production', 'environment');
	assert(/production/.test(await it.locator('dl').textContent()), 'environment shown');
});

test('projects: "load more" walks the cursor without duplicates', async () => {
	for (let i = 0; i < 40; i += 8) {
		const rs = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((j) =>
		    api('POST', '/projects', { name: 'Bulk ' + (i + j), environment: 'development' })));
		for (const r of rs) {
			eq(r.status, 201, 'create');
			secret(r.data.apiKey);
		}
	}
	const all = [];
	let cursor = null;
	do {
		const r = await api('GET', '/projects?limit=100' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
		all.push(...r.data.data.map((p) => p.id));
		cursor = r.data.nextCursor;
	} while (cursor);
	await page.goto(console_ + '#/projects');
	await page.reload();
	await waitText('.list-status', /Showing 20 projects; more can be loaded/);
	await page.click('button:has-text("Load more projects")');
	await waitText('.list-status', /^Showing 40 projects; more can be loaded\.$/);
	await page.click('button:has-text("Load more projects")');
	await waitText('.list-status', new RegExp('^Showing ' + all.length + ' projects\\.$'));
	const ids = await page.locator('ul.items > li').evaluateAll((l) => l.map((x) => x.dataset.projectId));
	eq(JSON.stringify(ids), JSON.stringify(all), 'the page lists what the API lists, in order');
	eq(await page.isHidden('button:has-text("Load more projects")'), true, 'no more');
	await look('projects', page.locator('h1'));
});

test('create a key with expiry and address blocks; a bad block is named at its field', async () => {
	await page.goto(console_ + '#/projects/' + S.project);
	await waitText('h1', /^Keys of Checkout EU$/);
	await page.waitForSelector('li[data-key-id]');
	await page.fill('form.create input[name=name]', 'CI');
	await page.fill('form.create textarea[name=allowedCidrs]', '10.0.0.0/33');
	await page.click('form.create button[type=submit]');
	const err = await waitText('form.create .field-error:visible', /./);
	eq(await page.getAttribute('form.create textarea', 'aria-invalid'), 'true', 'blocks field marked: ' + err);
	eq(await page.locator('.secret-panel').count(), 0, 'no key');
	await page.fill('form.create textarea[name=allowedCidrs]', '127.0.0.1\n10.1.2.3/8, 2001:DB8::/32');
	// In a year, 12:00 in the browser's time zone.
	const y = new Date().getFullYear() + 1;
	await page.fill('form.create input[name=expiresAt]', y + '-06-01T12:00');
	await page.click('form.create button[type=submit]');
	await page.waitForSelector('.secret-panel input.secret');
	const key = await page.inputValue('.secret-panel input.secret');
	secret(key);
	const v = await verify(key);
	eq(v.status, 204, '/verify');
	const k = await api('GET', '/api-keys/' + v.keyId);
	eq(k.data.name, 'CI', 'name');
	eq(JSON.stringify(k.data.allowedCidrs), '["127.0.0.1/32","10.0.0.0/8","2001:db8::/32"]', 'blocks');
	eq(k.data.expiresAt, new Date(y + '-06-01T12:00').toISOString(), 'expiresAt');
	const shown = await keyItem(v.keyId).textContent();
	assert(shown.includes('127.0.0.1/32, 10.0.0.0/8, 2001:db8::/32'), 'blocks shown: ' + shown);
	assert(shown.includes(k.data.prefix), 'prefix shown');
	assert(shown.includes(y + '-06-01'), 'expiry shown');
	S.key = key;
	S.keyId = v.keyId;
	await look('key-created');
});

test('roll a key with a custom 2 s grace: both work, then only the new one', async () => {
	const it = keyItem(S.keyId);
	await it.locator('button:has-text("Roll")').click();
	await it.locator('select[name=gracePeriodSeconds]').selectOption('custom');
	await it.locator('input[name=customSeconds]').fill('2');
	await look('key-roll');
	await it.locator('button:has-text("Roll key")').click();
	// The panel of the key created before gives way to the new key's.
	await page.waitForSelector('.secret-panel h2:text-is("Key rolled: the new key")');
	const t0 = Date.now();
	const nk = await page.inputValue('.secret-panel input.secret');
	secret(nk);
	assert(nk !== S.key, 'a new key shown');
	const vn = await verify(nk);
	eq(vn.status, 204, 'new key');
	const vo = await verify(S.key);
	assert(Date.now() - t0 < 1800, 'checked within the grace');
	eq(vo.status, 204, 'old key within the grace');
	const shown = await keyItem(S.keyId).textContent();
	assert(shown.includes(vn.keyId), 'old key shows replacedBy ' + vn.keyId + ': ' + shown);
	eq(await keyItem(vn.keyId).count(), 1, 'new key listed');
	// The panel says when the grace ends as the API set it.
	const od = await api('GET', '/api-keys/' + S.keyId);
	const until = new Date(od.data.expiresAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
	const panel = await page.locator('.secret-panel').textContent();
	assert(panel.includes('The old key works until ' + until + '.'), 'grace end ' + until + ' in: ' + panel);
	const nkd = await api('GET', '/api-keys/' + vn.keyId);
	eq(JSON.stringify(nkd.data.allowedCidrs), '["127.0.0.1/32","10.0.0.0/8","2001:db8::/32"]', 'blocks kept');
	await sleep(Math.max(0, 2300 - (Date.now() - t0)));
	const late = await verify(S.key);
	eq(late.status, 401, 'old key after the grace');
	eq(late.reason, 'expired credentials', 'reason');
	const after = await verify(nk);
	if (after.status !== 204)
		throw new Error('new key after the grace: ' + after.status + ' ' + after.reason + '; the API has it as ' +
		    JSON.stringify((await api('GET', '/api-keys/' + vn.keyId)).data));
	S.oldKey = S.key; S.oldKeyId = S.keyId;
	S.key = nk; S.keyId = vn.keyId;
});

test('revoke a key: gone from the active list, 401 at /verify, listed as revoked', async () => {
	const it = keyItem(S.keyId);
	await it.locator('button:has-text("Revoke")').click();
	await look('key-revoke-confirm');
	await it.locator('button:has-text("Revoke key")').click();
	await it.waitFor({ state: 'detached' });
	const v = await verify(S.key);
	eq(v.status, 401, '/verify');
	eq(v.reason, 'revoked credentials', 'reason');
	await page.check('input[role=switch]');
	await keyItem(S.keyId).waitFor();
	assert(/revoked/.test(await keyItem(S.keyId).locator('.badge').textContent()), 'badge');
	const k = await api('GET', '/api-keys/' + S.keyId);
	assert(k.data.revokedAt !== null, 'revokedAt');
});

test('a revoked key tried at /verify shows the leak warning', async () => {
	// The revoke test tried it once; lastBlockedAt is set by that.
	const k = await api('GET', '/api-keys/' + S.keyId);
	assert(k.data.lastBlockedAt !== null, 'lastBlockedAt set by the API');
	await page.reload();
	await page.check('input[role=switch]');
	const it = keyItem(S.keyId);
	await it.waitFor();
	const w = (await it.locator('.leak').textContent()).replace(/\s+/g, ' ');
	const at = new Date(k.data.lastBlockedAt).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
	eq(w, 'Warning: a revoked key was tried at ' + at + ': it may have leaked.', 'warning');
	eq(await keyItem(S.projectKeyId).locator('.leak').count(), 0, 'no warning on a key never refused');
	await look('keys');
	await page.uncheck('input[role=switch]');
	await it.waitFor({ state: 'detached' });
});

test('nothing is shown as done that the API refused', async () => {
	// Revoked behind the console's back: the console's revoke gets a 404.
	const r = await api('POST', '/projects/' + S.project + '/api-keys', { name: 'elsewhere' });
	secret(r.data.apiKey);
	await page.reload();
	const it = keyItem(r.data.id);
	await it.waitFor();
	eq((await api('DELETE', '/api-keys/' + r.data.id)).status, 204, 'revoked by the API');
	await it.locator('button:has-text("Revoke")').click();
	await it.locator('button:has-text("Revoke key")').click();
	await waitText('li[data-key-id="' + r.data.id + '"] .form-error:visible', /not_found/);
	eq(await it.count(), 1, 'still listed after the refusal');
});

test('delete a project after the dry run\'s counts', async () => {
	// A few events for the project, so the counts mean something.
	const ev = await fetch(BASE + '/events', { method: 'POST', headers: {
	    'X-Api-Key': S.projectKey, 'Content-Type': 'application/json' },
	    body: JSON.stringify([{ a: 1 }, { a: 2 }, { a: 3 }]) });
	eq(ev.status, 202, 'events accepted');
	const dry = await api('DELETE', '/projects/' + S.project + '?dryRun=true');
	eq(dry.status, 200, 'dry run');
	const n = (x, one, many) => x.toLocaleString('en-US') + ' ' + (x === 1 ? one : many);
	const want = 'deletes ' + n(dry.data.apiKeys, 'key', 'keys') + ', ' +
	    n(dry.data.events, 'event', 'events') + ', ' + n(dry.data.incidents, 'incident', 'incidents');
	await page.goto(console_ + '#/projects');
	await waitText('.list-status', /Showing/);
	const it = projectItem(S.project);
	while (await it.count() === 0) {
		const c = await page.locator('ul.items > li').count();
		await page.click('button:has-text("Load more projects")');
		await page.waitForFunction((c) => document.querySelectorAll('ul.items > li').length > c, c);
	}
	await it.locator('button:has-text("Delete")').click();
	await it.locator('.confirm').waitFor();
	eq(await it.locator('.dry-run').textContent(), want, 'confirmation');
	eq((await api('GET', '/projects/' + S.project)).status, 200, 'nothing deleted by the dry run');
	await look('project-delete-confirm', it);
	await it.locator('button:has-text("Delete project")').click();
	await it.waitFor({ state: 'detached' });
	eq((await api('GET', '/projects/' + S.project)).status, 404, 'project gone');
	const v = await verify(S.projectKey);
	eq(v.status, 401, 'its key');
});

const auditThere = (await api('GET', '/audit-events?limit=1')).status === 200;

test('audit log: newest first, every action, "load more", filter by key', async () => {
	if (!auditThere)
		throw new Skip('GET /audit-events is 404 on this stack');
	const head = (await api('GET', '/audit-events?limit=1')).data.data[0].seq;
	await page.click('nav >> text=Audit log');
	await waitText('h1', /^Audit log$/);
	await waitText('.list-status', head > 50 ? /^Showing 50 events; more can be loaded\.$/ :
	    new RegExp('^Showing ' + head + ' events\\.$'));
	const seqs = await page.locator('li[data-seq]').evaluateAll((l) => l.map((x) => Number(x.dataset.seq)));
	eq(seqs[0], head, 'newest first');
	for (let i = 1; i < seqs.length; i++)
		eq(seqs[i], seqs[i - 1] - 1, 'order at ' + i);
	while (await page.isVisible('button:has-text("Load more events")')) {
		const c = await page.locator('li[data-seq]').count();
		await page.click('button:has-text("Load more events")');
		await page.waitForFunction((c) => document.querySelectorAll('li[data-seq]').length > c, c);
	}
	const all = await page.locator('li[data-seq] h3').evaluateAll((l) => l.map((x) => x.textContent));
	eq(all.length, head, 'every event listed');
	for (const a of ['project.create', 'project.update', 'key.create', 'key.roll', 'key.revoke', 'project.delete'])
		assert(all.some((t) => t.includes(a)), a + ' listed');
	await page.fill('input[name=targetId]', S.oldKeyId);
	await page.click('form.filter button[type=submit]');
	await waitText('#events-h', new RegExp('^Events for ' + S.oldKeyId + '$'));
	await waitText('.list-status', /Showing 2 events for/);
	const acts = await page.locator('li[data-seq] h3').evaluateAll((l) => l.map((x) => x.textContent));
	assert(acts[0].includes('key.roll') && acts[1].includes('key.create'), 'key events: ' + acts);
	// By project: the same events as the API's, newest first.
	const pe = (await api('GET', '/audit-events?targetId=' + S.project)).data.data;
	assert(pe.length >= 2, 'project events in the API: ' + pe.length);
	await page.fill('input[name=targetId]', S.project);
	await page.click('form.filter button[type=submit]');
	await waitText('#events-h', new RegExp('^Events for ' + S.project + '$'));
	await waitText('.list-status', new RegExp('Showing ' + pe.length + ' events? for'));
	const pacts = await page.locator('li[data-seq] h3').evaluateAll((l) => l.map((x) => x.textContent));
	eq(pacts.length, pe.length, 'project events listed');
	pe.forEach((ev, i) => assert(pacts[i].includes(ev.action), 'event ' + i + ': ' + pacts[i] + ', API ' + ev.action));
	await page.fill('input[name=targetId]', 'nonsense');
	await page.click('form.filter button[type=submit]');
	const e = await waitText('.field-error:visible', /targetId|validation/);
	eq(await page.getAttribute('input[name=targetId]', 'aria-invalid'), 'true', 'named at its field: ' + e);
	await page.click('text=Show all events');
	await waitText('.list-status', /^Showing \d+ events/);
});

test('"verify chain" says intact, names an edited row, and intact again once restored', async () => {
	if (!auditThere)
		throw new Skip('GET /audit-events is 404 on this stack');
	const head = (await api('GET', '/audit-events?limit=1')).data.data[0].seq;
	await page.goto(console_ + '#/audit');
	await waitText('.list-status', /^Showing \d+ events/);
	await page.click('button:has-text("Verify chain")');
	await waitText('.chain-result', new RegExp('^Chain intact through seq ' + head + ' \\(' + head + ' events'));
	await look('audit', page.locator('h1'));
	// Edit the body of one event in the database.
	const row = Math.max(2, head - 10);
	const before = sql(`SELECT body FROM audit_events WHERE org_id='${ORG}' AND seq=${row}`);
	assert(before.includes('"sourceIp":"127.0.0.1"'), 'the row holds a sourceIp: ' + before);
	sql(`UPDATE audit_events SET body=REPLACE(body, '"sourceIp":"127.0.0.1"', '"sourceIp":"127.0.0.2"') WHERE org_id='${ORG}' AND seq=${row}`);
	try {
		await page.reload();
		await waitText('.list-status', /^Showing \d+ events/);
		await page.click('button:has-text("Verify chain")');
		await waitText('.chain-result', new RegExp('^Chain broken at seq ' + row +
		    ': the event has been changed: its content does not match its hash\\. Show event #' + row + '$'));
		eq(await page.locator('li[data-seq="' + row + '"].broken').count(), 1, 'row marked');
		await look('audit-broken', page.locator('h1'));
		await page.click('button:has-text("Show event #' + row + '")');
		eq(await page.evaluate(() => document.activeElement.id), 'seq-' + row, 'the broken event focused');
		await page.locator('li[data-seq="' + row + '"]').screenshot({ path: path.join(SHOTS, 'audit-broken-row-desktop.png') });
	} finally {
		sql(`UPDATE audit_events SET body=REPLACE(body, '"sourceIp":"127.0.0.2"', '"sourceIp":"127.0.0.1"') WHERE org_id='${ORG}' AND seq=${row}`);
	}
	await page.click('button:has-text("Verify chain")');
	await waitText('.chain-result', new RegExp('^Chain intact through seq ' + head + ' '));
});

test('a 401 returns to sign-in with the API\'s reason', async () => {
	const out = JSON.parse(ctl('--json', 'token', 'create', ORG, '--name', 'browser test'));
	secret(out.token);
	await page.click('nav >> text=Sign out');
	await signIn(out.token);
	ctl('token', 'revoke', out.tokenId);
	await page.click('nav >> text=Audit log');
	await waitText('.notice', /You were signed out: the API said "revoked credentials"/);
	await page.waitForSelector('form.signin');
	eq(await page.isHidden('nav'), true, 'navigation hidden');
	const st = await storageDump();
	eq(JSON.stringify(st.sessionStorage), '{}', 'token forgotten');
	await look('signin-401');
	await signIn();
});

test('sign out leaves no token in any storage, page or history', async () => {
	await page.click('nav >> text=Sign out');
	await page.waitForSelector('form.signin');
	const st = await storageDump();
	eq(JSON.stringify(st), JSON.stringify({ sessionStorage: {}, localStorage: {},
	    indexedDB: [], caches: [], cookie: '' }), 'storage');
	eq((await ctx.cookies()).length, 0, 'cookies');
	assert(!(await page.content()).includes(TOKEN), 'token in the page');
	assert(!page.url().includes('lko_'), 'token in the URL');
	await page.reload();
	await page.waitForSelector('form.signin');
	await page.goBack().catch(() => {});
	await page.waitForSelector('form.signin');
	eq(await page.isHidden('nav'), true, 'no navigation without a token');
});

test('no CSP violation or script error on any page', async () => {
	eq(JSON.stringify(pageProblems.filter((p) => !/status of 40[0-9]/.test(p))), '[]', 'console errors');
});

// ---- run -------------------------------------------------------------------

const t0 = Date.now();
for (const t of tests) {
	const s = Date.now();
	try {
		await t.fn();
		passed++;
		console.log('ok   ' + t.name + ' (' + (Date.now() - s) + ' ms)');
	} catch (e) {
		if (e instanceof Skip) {
			skipped++;
			console.log('SKIP ' + t.name + ': ' + e.message);
			continue;
		}
		failed++;
		console.log('FAIL ' + t.name + ': ' + (e.stack || e).toString().split('\n').slice(0, 6).join('\n     '));
		await page.screenshot({ path: path.join(SHOTS, 'FAILED-' + tests.indexOf(t) + '.png'), fullPage: true }).catch(() => {});
	}
}
await ctx.close();
fs.rmSync(profile, { recursive: true, force: true });
fs.writeFileSync(path.join(OUT, 'axe.txt'), axeReport.join('\n') + '\n');
console.log('axe-core: ' + axeReport.length + ' scans, report in ' + path.join(OUT, 'axe.txt'));
console.log('screenshots in ' + SHOTS);
console.log('time ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s' + (skipped ? ', ' + skipped + ' skipped' : ''));
console.log(passed + ' passed, ' + failed + ' failed');
process.exit(failed ? 1 : 0);
