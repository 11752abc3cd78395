// The console's only way to the latchkey API (same origin): the
// organization token, kept in sessionStorage only (gone with the tab,
// never in a URL or localStorage), and a fetch wrapper that turns every
// non-2xx answer into an ApiError carrying the API's code, message and
// field. A 401 also forgets the token and calls the handler set with
// onUnauthorized (the app returns to the sign-in form with the reason).

const TOKEN_KEY = 'latchkey.token';

export class ApiError extends Error {
	constructor(status, code, message, field) {
		super(message);
		this.status = status;
		this.code = code;
		this.field = field || null;
	}
}

let unauthorized = () => {};

export function onUnauthorized(fn) {
	unauthorized = fn;
}

export function getToken() {
	try {
		return sessionStorage.getItem(TOKEN_KEY);
	} catch (e) {
		return null;
	}
}

export function setToken(token) {
	sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken() {
	try {
		sessionStorage.removeItem(TOKEN_KEY);
	} catch (e) {
		/* storage unavailable: nothing was kept */
	}
}

// request(method, path, {body, token}) -> {status, data, headers}.
// Throws ApiError for an error answer or a network failure.
export async function request(method, path, opts = {}) {
	const token = opts.token || getToken();
	const headers = { Accept: 'application/json' };
	if (token)
		headers.Authorization = 'Bearer ' + token;
	const init = { method, headers, cache: 'no-store',
	    credentials: 'omit', redirect: 'error' };
	if (opts.body !== undefined) {
		headers['Content-Type'] = 'application/json';
		init.body = JSON.stringify(opts.body);
	}
	let res;
	try {
		res = await fetch(path, init);
	} catch (e) {
		throw new ApiError(0, 'network',
		    'the API could not be reached; check the connection and try again');
	}
	let data = null;
	if (res.status !== 204) {
		const text = await res.text();
		try {
			data = text ? JSON.parse(text) : null;
		} catch (e) {
			throw new ApiError(res.status, 'bad_answer',
			    'the API answered ' + res.status + ' with something that is not JSON');
		}
	}
	if (res.ok)
		return { status: res.status, data, headers: res.headers };
	const err = data && data.error ? data.error : {};
	const e = new ApiError(res.status, err.code || 'http_' + res.status,
	    err.message || 'the API answered ' + res.status, err.field);
	if (res.status === 401 && !opts.token) {
		forgetToken();
		unauthorized(e.message);
	}
	throw e;
}

export function enc(s) {
	return encodeURIComponent(s);
}
