// The audit chain, checked in the browser: RFC 8785 canonical JSON
// (the JSON Canonicalization Scheme) for the types an audit event holds
// (strings, integers, null, booleans, arrays, objects), and each event's
// hash recomputed with WebCrypto's SHA-256 over the UTF-8 bytes of
// prevHash followed by the canonical event without its "hash" member.

// A string as RFC 8785 writes it: only '"', '\' and the controls
// U+0000-U+001F escaped, the short forms where JSON has them, \u00xx
// (lower-case hex) for the rest; everything else as it is.
export function jcsString(s) {
	let out = '"';
	for (let i = 0; i < s.length; i++) {
		const c = s.charCodeAt(i);
		switch (c) {
		case 0x22: out += '\\"'; break;
		case 0x5c: out += '\\\\'; break;
		case 0x08: out += '\\b'; break;
		case 0x0c: out += '\\f'; break;
		case 0x0a: out += '\\n'; break;
		case 0x0d: out += '\\r'; break;
		case 0x09: out += '\\t'; break;
		default:
			if (c < 0x20)
				out += '\\u' + c.toString(16).padStart(4, '0');
			else
				out += s[i];
		}
	}
	return out + '"';
}

// Canonical JSON text of v. Object members are sorted by their names'
// UTF-16 code units (what Array.prototype.sort compares by default).
export function jcs(v) {
	if (v === null)
		return 'null';
	switch (typeof v) {
	case 'boolean':
		return v ? 'true' : 'false';
	case 'string':
		return jcsString(v);
	case 'number':
		if (!Number.isFinite(v))
			throw new TypeError('not a JSON number');
		if (!Number.isInteger(v))
			throw new TypeError('an audit event holds integers only');
		return Object.is(v, -0) ? '0' : String(v);
	case 'object':
		if (Array.isArray(v))
			return '[' + v.map(jcs).join(',') + ']';
		return '{' + Object.keys(v).sort().map(
		    (k) => jcsString(k) + ':' + jcs(v[k])).join(',') + '}';
	default:
		throw new TypeError('not a JSON value: ' + typeof v);
	}
}

export async function sha256hex(text) {
	const buf = await crypto.subtle.digest('SHA-256',
	    new TextEncoder().encode(text));
	return Array.from(new Uint8Array(buf),
	    (b) => b.toString(16).padStart(2, '0')).join('');
}

export const ZERO_HASH = '0'.repeat(64);

// events: the organization's whole log, oldest first. Returns
// {ok: true, seq: N} (intact through seq N; 0 for an empty log) or
// {ok: false, seq, reason} for the first broken link.
export async function verifyChain(events) {
	let prev = ZERO_HASH;
	let last = 0;
	for (const e of events) {
		if (e.seq !== last + 1)
			return { ok: false, seq: last + 1, reason: e.seq > last + 1 ?
			    'is missing (the next event is seq ' + e.seq + ')' :
			    'appears out of order (found seq ' + e.seq + ')' };
		if (e.prevHash !== prev)
			return { ok: false, seq: e.seq, reason:
			    'does not link to seq ' + last + ': its prevHash is not that event\'s hash' };
		const rest = Object.assign({}, e);
		delete rest.hash;
		const want = await sha256hex(e.prevHash + jcs(rest));
		if (want !== e.hash)
			return { ok: false, seq: e.seq, reason:
			    'has been changed: its content does not match its hash' };
		prev = e.hash;
		last = e.seq;
	}
	return { ok: true, seq: last };
}
