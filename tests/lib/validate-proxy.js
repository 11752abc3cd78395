/*
 * The validating proxy of the integration tests (started by
 * tests/lib/validate-proxy): a TCP relay between the tests and the web
 * server that passes every byte through unchanged, both ways, and reads
 * the HTTP/1.1 exchanges on the side. Each response is checked against
 * doc/openapi.yaml with Prism's own validator (@stoplight/prism-http: its
 * router, then validateOutput: status, media type, body schema, headers).
 * A response the document does not describe is written to the log as a
 * "violation" line; tests/lib/validate-proxy check reads them.
 *
 * Requests are never changed and never refused: the suites send invalid
 * bodies, methods and parameters on purpose, and latchkeyd must see them
 * as sent (Prism's own proxy parses and re-serialises JSON bodies, answers
 * invalid requests itself with --errors, and answers OPTIONS itself). A
 * request is judged only when the server took it (2xx): then the document
 * must allow it too (Prism's validateSecurity and validateInput).
 *
 * usage: node validate-proxy.js SPEC LISTEN_PORT UPSTREAM_HOST:PORT LOGFILE
 */
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const { createRequire } = require('module');

const [spec, listenPort, upstream, logFile] = process.argv.slice(2);
if (!logFile) {
	process.stderr.write('usage: validate-proxy.js SPEC PORT HOST:PORT LOG\n');
	process.exit(2);
}
const [upHost, upPort] = upstream.split(':');
const npm = createRequire(path.join(__dirname, '../../tools/npm/package.json'));
const prismRequire = createRequire(npm.resolve('@stoplight/prism-cli/package.json'));
const httpRequire = createRequire(prismRequire.resolve('@stoplight/prism-http/package.json'));
const prismHttp = prismRequire('@stoplight/prism-http');
const route = httpRequire('./dist/router').default;
const { validateOutput, validateInput, validateSecurity } =
    httpRequire('./dist/validator');

/* The path prefixes the API owns: an unlisted path under one is a 404. */
const API_PREFIX = /^\/(projects|api-keys|audit-events|verify|events|healthz|metrics)/;
const SEVERITY = ['error', 'warning', 'information', 'hint'];

/* Written at once: a line is in the file before the next request. */
const logFd = fs.openSync(logFile, 'a');
const stats = { responses: 0, checked: 0, violations: 0, outside: 0,
    unparsed: 0, connections: 0, checkMs: 0, byRoute: {} };
let operations, notFound, refused;
const byShape = new Map();	/* "segments first-segment" to operations */

function note(obj) {
	fs.writeSync(logFd, JSON.stringify(obj) + '\n');
}

/* Raw API keys and tokens never reach the log. */
function redact(text) {
	return text.replace(/(lko?_)[0-9A-Za-z]{20,}/g, '$1(redacted)');
}

/* A copy of operation op answering only the statuses in codes. */
function only(op, codes) {
	return { ...op, responses: op.responses.filter(r => codes.includes(r.code)) };
}

/*
 * Prism's verdicts, remembered: a load test sends thousands of answers
 * that differ only in X-Request-Id and Date. A key holds all that the
 * validator reads (operation, status, headers, body); Date is described
 * nowhere, and an X-Request-Id that matches the document's pattern (its
 * only constraint) is replaced by a fixed one that does too, so a
 * remembered verdict is the verdict Prism would give.
 */
const verdicts = new Map();
let ridPattern = null;

function remembered(key, fn) {
	let v = verdicts.get(key);
	if (v === undefined) {
		v = fn();
		if (verdicts.size >= 50000)
			verdicts.clear();
		verdicts.set(key, v);
	}
	return v;
}

function headerKey(headers) {
	const h = { ...headers };
	delete h.date;
	if (ridPattern && typeof h['x-request-id'] === 'string' &&
	    ridPattern.test(h['x-request-id']))
		h['x-request-id'] = '(matches)';
	return JSON.stringify(h);
}

/* The X-Request-Id pattern, when the document constrains it by that alone. */
function findRidPattern() {
	const seen = new Set();
	for (const op of operations)
		for (const r of op.responses)
			for (const h of r.headers || [])
				if (h.name.toLowerCase() === 'x-request-id')
					seen.add(JSON.stringify(h.schema || {}));
	if (seen.size === 0)
		return null;
	let pattern = null;
	for (const j of seen) {
		const sc = JSON.parse(j);
		const extra = Object.keys(sc).filter(k => !['type', 'pattern',
		    'description', '$schema', 'examples', 'example'].includes(k) &&
		    !k.startsWith('x-'));
		if (sc.type !== 'string' || !sc.pattern || extra.length > 0 ||
		    (pattern !== null && pattern !== sc.pattern))
			return null;
		pattern = sc.pattern;
	}
	return new RegExp(pattern, 'u');
}

/* Validates one response; logs a violation line for each problem. */
function check(req, res) {
	stats.responses++;
	const u = new URL(req.target, 'http://proxy.invalid');
	const input = {
		method: req.method.toLowerCase(),
		url: { path: u.pathname, query: Object.fromEntries(u.searchParams) },
		headers: req.headers,
		body: undefined,
	};
	/*
	 * nginx refuses TRACE itself, for every location, before the API's
	 * snippet is consulted: not latchkey's answer.
	 */
	if (req.method === 'TRACE') {
		stats.outside++;
		return;
	}
	let resource;
	/*
	 * Prism's router scores every operation of the document on each call;
	 * only those with as many segments and the same first one can match.
	 */
	const segs = u.pathname.split('/');
	const candidates = byShape.get(`${segs.length} ${segs[1]}`) || [];
	const routed = candidates.length > 0 ?
	    route({ resources: candidates, input }) : { left: { status: 404 } };
	if (routed._tag === 'Right')
		resource = routed.right;
	else if (!API_PREFIX.test(u.pathname)) {
		stats.outside++;
		return;
	} else if (routed.left.status === 404)
		resource = notFound;	/* NO_PATH_MATCHED_ERROR */
	else
		resource = refused;	/* NO_METHOD_MATCHED_ERROR */
	/* A HEAD answer has no body, whatever a GET's would be. */
	if (req.method === 'HEAD')
		resource = { ...resource, responses: resource.responses.map(r =>
		    ({ ...r, contents: [] })) };
	const key = `${resource.method.toUpperCase()} ${resource.path} ${res.status}`;
	stats.byRoute[key] = (stats.byRoute[key] || 0) + 1;
	stats.checked++;

	const problems = [];
	let body;
	const ct = res.headers['content-type'] || '';
	if (res.body !== undefined && res.body.length > 0) {
		const text = res.body.toString('utf8');
		if (/^application\/(.*\+)?json\b/.test(ct)) {
			try {
				body = JSON.parse(text);
			} catch (e) {
				problems.push({ location: ['response', 'body'],
				    message: `not JSON: ${e.message}` });
			}
		} else
			body = text;
	} else if (req.method !== 'HEAD' && res.status !== 204 &&
	    res.status !== 304) {
		const r = resource.responses.find(x => x.code === String(res.status));
		if (r && r.contents && r.contents.length > 0)
			problems.push({ location: ['response', 'body'],
			    message: 'no body where the document describes one' });
	}
	const rid = `${resource.iid}|${resource.path}|${req.method === 'HEAD'}`;
	const out = remembered(`out|${rid}|${res.status}|${headerKey(res.headers)}|` +
	    `${res.body ? res.body.toString('latin1') : ''}`, () => validateOutput({
	    resource, element: { statusCode: res.status, headers: res.headers,
	    body } }));
	if (out._tag === 'Left')
		for (const d of out.left)
			if (d.severity <= 1)
				problems.push({ location: ['response'].concat(d.path || []),
				    message: d.message, severity: SEVERITY[d.severity] });
	/*
	 * A request the server took (2xx) must be one the document allows:
	 * else a client, or a validator that refuses invalid requests, would
	 * be told not to send what works. Invalid requests that the server
	 * refused are the suites' business, not the document's.
	 */
	if (res.status >= 200 && res.status < 300 && resource.iid &&
	    req.method !== 'OPTIONS') {
		const element = { ...input, body: requestBody(req) };
		const hk = { ...req.headers };
		delete hk['x-request-id'];	/* described nowhere */
		const k = `in|${rid}|${req.target}|${JSON.stringify(hk)}|` +
		    `${req.body ? req.body.toString('latin1') : ''}`;
		for (const v of [validateSecurity, validateInput]) {
			const r = remembered(`${v === validateInput}|${k}`,
			    () => v({ resource, element }));
			if (r._tag === 'Left')
				for (const d of r.left)
					if (d.severity === 0)
						problems.push({ location: ['request'].concat(d.path || []),
						    message: `answered ${res.status}, but the document refuses it: ${d.message}` });
		}
	}
	if (problems.length === 0)
		return;
	stats.violations += problems.length;
	note({ violation: true, at: new Date().toISOString(),
	    request: `${req.method} ${req.target}`,
	    operation: resource.iid || `${resource.method} ${resource.path}`,
	    status: res.status, headers: res.headers,
	    body: res.body ? redact(res.body.toString('utf8')).slice(0, 500) : null,
	    problems });
}

/* The request's body as Prism's server would hand it to its validator. */
function requestBody(req) {
	if (req.body === undefined || req.body.length === 0)
		return undefined;
	const text = req.body.toString('utf8');
	if (/^application\/(.*\+)?json\b/i.test(req.headers['content-type'] || '')) {
		try {
			return JSON.parse(text);
		} catch (e) {
			return text;
		}
	}
	return text;
}

/* Splits a head block into its first line and lower-cased headers. */
function parseHead(buf) {
	const lines = buf.toString('latin1').split('\r\n');
	const headers = {};
	for (const l of lines.slice(1)) {
		const i = l.indexOf(':');
		if (i <= 0)
			return null;
		const k = l.slice(0, i).trim().toLowerCase();
		const v = l.slice(i + 1).trim();
		headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
	}
	return { first: lines[0], headers };
}

/*
 * An incremental HTTP/1.1 message reader for one direction of one
 * connection. onHead(first, headers) returns how the body is framed:
 * {length: n}, {chunked: true}, {toClose: true} or {none: true};
 * onMessage(body) gets the body (a Buffer) when the message is complete.
 * Anything it cannot read makes it give up on the connection (broken).
 */
class Reader {
	constructor(onHead, onMessage) {
		this.buf = Buffer.alloc(0);
		this.state = 'head';
		this.onHead = onHead;
		this.onMessage = onMessage;
		this.broken = false;
	}

	feed(data) {
		if (this.broken)
			return;
		this.buf = Buffer.concat([this.buf, data]);
		try {
			while (!this.broken && this.step())
				;
		} catch (e) {
			this.broken = true;
		}
	}

	end() {
		if (!this.broken && this.state === 'close')
			this.onMessage(this.buf);
		this.state = 'done';
	}

	step() {
		let i;
		switch (this.state) {
		case 'head':
			while (this.buf.length >= 2 && this.buf[0] === 13 && this.buf[1] === 10)
				this.buf = this.buf.subarray(2);
			if ((i = this.buf.indexOf('\r\n\r\n')) < 0) {
				if (this.buf.length > 65536)
					this.broken = true;
				return false;
			}
			{
				const h = parseHead(this.buf.subarray(0, i));
				this.buf = this.buf.subarray(i + 4);
				if (h === null) {
					this.broken = true;
					return false;
				}
				const f = this.onHead(h.first, h.headers);
				if (f === null) {
					this.broken = true;
					return false;
				}
				this.body = [];
				if (f.skip)
					return true;
				if (f.none) {
					this.onMessage(undefined);
					return true;
				}
				if (f.chunked) {
					this.state = 'chunk-size';
					return true;
				}
				if (f.toClose) {
					this.state = 'close';
					return false;
				}
				this.left = f.length;
				this.state = 'length';
			}
			return true;
		case 'length':
			if (this.buf.length < this.left)
				return false;
			this.onMessage(this.buf.subarray(0, this.left));
			this.buf = this.buf.subarray(this.left);
			this.state = 'head';
			return true;
		case 'chunk-size':
			if ((i = this.buf.indexOf('\r\n')) < 0)
				return false;
			{
				const line = this.buf.subarray(0, i).toString('latin1');
				const m = /^([0-9a-fA-F]+)/.exec(line);
				if (!m) {
					this.broken = true;
					return false;
				}
				this.left = parseInt(m[1], 16);
				this.buf = this.buf.subarray(i + 2);
				this.state = this.left === 0 ? 'trailer' : 'chunk';
			}
			return true;
		case 'chunk':
			if (this.buf.length < this.left + 2)
				return false;
			this.body.push(this.buf.subarray(0, this.left));
			this.buf = this.buf.subarray(this.left + 2);
			this.state = 'chunk-size';
			return true;
		case 'trailer':
			if ((i = this.buf.indexOf('\r\n')) < 0)
				return false;
			this.buf = this.buf.subarray(i + 2);
			if (i === 0) {
				this.onMessage(Buffer.concat(this.body));
				this.state = 'head';
			}
			return true;
		default:
			return false;
		}
	}
}

/* Body framing from headers; null when the message cannot be framed. */
function framing(headers) {
	const te = headers['transfer-encoding'];
	if (te !== undefined)
		return /(^|,)\s*chunked\s*$/i.test(te) ? { chunked: true } : null;
	const cl = headers['content-length'];
	if (cl === undefined)
		return undefined;
	if (!/^[0-9]+$/.test(cl))
		return null;
	return { length: Number(cl) };
}

function relay(client) {
	const up = net.connect({ port: Number(upPort), host: upHost,
	    allowHalfOpen: true });
	const pending = [];
	let current = null, reading = null;
	stats.connections++;
	/* No Nagle delay on either side: the relay must not slow a test. */
	client.setNoDelay(true);
	up.setNoDelay(true);

	const reqReader = new Reader((first, headers) => {
		const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/1\.[01]$/.exec(first);
		if (!m)
			return null;
		reading = { method: m[1], target: m[2], headers };
		pending.push(reading);
		const f = framing(headers);
		if (f === null)
			return null;
		return f === undefined || f.length === 0 ? { none: true } : f;
	}, body => {
		if (reading)
			reading.body = body;
		reading = null;
	});
	const resReader = new Reader((first, headers) => {
		const m = /^HTTP\/1\.[01] ([0-9]{3})/.exec(first);
		if (!m)
			return null;
		const status = Number(m[1]);
		if (status >= 100 && status < 200)
			return { skip: true };
		const req = pending.shift();
		if (req === undefined)
			return null;
		current = { req, res: { status, headers } };
		if (req.method === 'HEAD' || status === 204 || status === 304)
			return { none: true };
		const f = framing(headers);
		if (f === null)
			return null;
		return f === undefined ? { toClose: true } : f;
	}, body => {
		const c = current;
		current = null;
		c.res.body = body;
		const t0 = process.hrtime.bigint();
		try {
			check(c.req, c.res);
		} catch (e) {
			note({ error: `validator failed: ${e.stack}`,
			    request: `${c.req.method} ${c.req.target}` });
		}
		stats.checkMs += Number(process.hrtime.bigint() - t0) / 1e6;
	});

	client.on('data', d => reqReader.feed(d));
	up.on('data', d => resReader.feed(d));
	up.on('end', () => resReader.end());
	client.pipe(up);
	up.pipe(client);
	let counted = false;
	const count = () => {
		if (!counted && (reqReader.broken || resReader.broken))
			stats.unparsed++;
		counted = true;
	};
	/* The client gone: so is the upstream connection (as it would be). */
	client.on('error', () => up.destroy());
	client.on('close', () => { count(); up.destroy(); });
	/* The upstream gone: the client gets what was sent, then the end. */
	up.on('error', () => client.destroy());
	up.on('close', () => { count(); client.end(); });
}

function summary() {
	note({ summary: true, ...stats });
}

async function main() {
	operations = await prismHttp.getHttpOperationsFromSpec(path.resolve(spec));
	for (const op of operations) {
		const segs = op.path.split('/');
		const k = `${segs.length} ${segs[1]}`;
		byShape.set(k, (byShape.get(k) || []).concat(op));
	}
	ridPattern = findRidPattern();
	const byId = id => {
		const op = operations.find(o => o.iid === id);
		if (!op)
			throw new Error(`${spec}: no operation ${id}`);
		return op;
	};
	/* Unlisted paths: the NotFound answer; unlisted methods: 405. */
	notFound = { ...only(byId('getProject'), ['404', '413', '5XX']),
	    method: 'any', path: '(a path not in the document)' };
	refused = { ...only(byId('putProjectsRefused'), ['405', '413', '5XX']),
	    method: 'any', path: '(a method not in the document)' };
	const server = net.createServer({ allowHalfOpen: true }, relay);
	server.listen(Number(listenPort), '127.0.0.1', () => {
		note({ started: true, pid: process.pid, spec, upstream,
		    operations: operations.length,
		    requestIdPattern: ridPattern ? ridPattern.source : null });
	});
	const stop = () => {
		summary();
		process.exit(0);
	};
	/* A bug here must not cut the tests off: logged, it fails check. */
	process.on('uncaughtException', e => note({ error: `uncaught: ${e.stack}`,
	    request: '(none)' }));
	process.on('SIGTERM', stop);
	process.on('SIGINT', stop);
	setInterval(summary, 10000).unref();
}

main().catch(e => {
	process.stderr.write(`validate-proxy: ${e.stack}\n`);
	process.exit(1);
});
