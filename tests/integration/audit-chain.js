#!/usr/bin/env node
// An independent check of latchkey's audit chain, for test_audit.c: it
// walks GET /audit-events through the web server with its own HTTP client,
// JSON parser, RFC 8785 canonical form and SHA-256 (Node's), and shares no
// code with latchkey. RFC 8785 defines its canonical form by ECMAScript's
// own JSON.stringify for strings and numbers and by UTF-16 code unit order
// for member names, which is what Array.prototype.sort() compares.
//
//   LK_URL=http://127.0.0.1:PORT LK_TOKEN=lko_... node audit-chain.js [LIMIT]
//
// Prints "ok N HASH" (events, the newest hash) and exits 0, or prints
// "bad seq N: why" and exits 1.
'use strict';
const crypto = require('crypto');

function jcs(v) {
	if (v === null || typeof v !== 'object')
		return JSON.stringify(v);
	if (Array.isArray(v))
		return '[' + v.map(jcs).join(',') + ']';
	return '{' + Object.keys(v).sort().map(
	    (k) => JSON.stringify(k) + ':' + jcs(v[k])).join(',') + '}';
}

async function main() {
	const base = process.env.LK_URL, token = process.env.LK_TOKEN;
	const limit = process.argv[2] || '100';
	let events = [], cursor = null, seen = new Set();

	for (;;) {
		let url = base + '/audit-events?limit=' + limit;
		if (cursor !== null)
			url += '&cursor=' + encodeURIComponent(cursor);
		const res = await fetch(url,
		    { headers: { Authorization: 'Bearer ' + token } });
		const text = await res.text();
		if (res.status !== 200) {
			console.log('bad page: ' + res.status + ' ' + text);
			process.exit(1);
		}
		const page = JSON.parse(text);
		for (const e of page.data) {
			if (seen.has(e.seq)) {
				console.log('bad seq ' + e.seq + ': listed twice');
				process.exit(1);
			}
			seen.add(e.seq);
			events.push(e);
		}
		if (page.nextCursor === null)
			break;
		cursor = page.nextCursor;
	}
	events.reverse();
	let prev = '0'.repeat(64);
	for (let i = 0; i < events.length; i++) {
		const e = events[i];
		const { hash, ...rest } = e;
		if (e.seq !== i + 1) {
			console.log('bad seq ' + (i + 1) + ': gap (found seq ' +
			    e.seq + ')');
			process.exit(1);
		}
		if (e.prevHash !== prev) {
			console.log('bad seq ' + e.seq + ': wrong prevHash');
			process.exit(1);
		}
		const want = crypto.createHash('sha256').update(
		    e.prevHash + jcs(rest), 'utf8').digest('hex');
		if (hash !== want) {
			console.log('bad seq ' + e.seq + ': hash mismatch');
			process.exit(1);
		}
		prev = hash;
	}
	console.log('ok ' + events.length + ' ' + prev);
}

main().catch((err) => { console.log('bad: ' + err); process.exit(1); });
