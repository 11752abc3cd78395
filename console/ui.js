// Small DOM helpers of the console: element building (text only, never
// HTML strings), labelled form fields with an error slot each, busy
// buttons, API errors put next to the field they name, dates and counts.

import { ApiError, request } from './api.js';

let uid = 0;

// h('p', {class: 'x', onclick: fn}, 'text', child...)
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			el.addEventListener(k.slice(2), v);
		else if (k === 'class')
			el.className = v;
		else if (k === 'value')
			el.value = v;
		else
			el.setAttribute(k, v === true ? '' : v);
	}
	for (const c of children.flat()) {
		if (c === null || c === undefined || c === false)
			continue;
		el.append(c instanceof Node ? c : String(c));
	}
	return el;
}

export function nextId(prefix) {
	uid++;
	return prefix + '-' + uid;
}

// A labelled input (or select/textarea) with a hint and an error slot.
// Returns {wrap, input, error}.
export function field(label, input, hint) {
	const id = input.id || nextId('f');
	input.id = id;
	const err = h('p', { class: 'field-error', id: id + '-err', hidden: true });
	const desc = [];
	let hintEl = null;
	if (hint) {
		hintEl = h('p', { class: 'hint', id: id + '-hint' }, hint);
		desc.push(hintEl.id);
	}
	if (desc.length)
		input.setAttribute('aria-describedby', desc.join(' '));
	const wrap = h('div', { class: 'field' },
	    h('label', { for: id }, label), hintEl, input, err);
	return { wrap, input, error: err };
}

export function setFieldError(f, message) {
	f.error.textContent = message;
	f.error.hidden = false;
	f.input.setAttribute('aria-invalid', 'true');
	const d = (f.input.getAttribute('aria-describedby') || '').split(' ')
	    .filter((x) => x && x !== f.error.id);
	d.push(f.error.id);
	f.input.setAttribute('aria-describedby', d.join(' '));
}

export function clearErrors(fields, formError) {
	for (const f of Object.values(fields)) {
		f.error.hidden = true;
		f.error.textContent = '';
		f.input.removeAttribute('aria-invalid');
		const d = (f.input.getAttribute('aria-describedby') || '').split(' ')
		    .filter((x) => x && x !== f.error.id);
		if (d.length)
			f.input.setAttribute('aria-describedby', d.join(' '));
		else
			f.input.removeAttribute('aria-describedby');
	}
	if (formError) {
		formError.hidden = true;
		formError.textContent = '';
	}
}

// Puts an API error next to the field it names (fields: name -> field),
// else in formError. A 401 is handled by the app (sign-in form).
export function showError(e, fields, formError) {
	if (e instanceof ApiError && e.status === 401)
		return;
	const msg = errorText(e);
	const f = e instanceof ApiError && e.field ? fields[e.field] : null;
	if (f) {
		setFieldError(f, msg);
		f.input.focus();
	} else if (formError) {
		formError.textContent = msg;
		formError.hidden = false;
	}
}

// request(), with its error shown as showError() shows it: the answer,
// or null after an error.
export async function ask(method, path, opts, fields, formError) {
	try {
		return await request(method, path, opts);
	} catch (e) {
		showError(e, fields, formError);
		return null;
	}
}

export function errorText(e) {
	if (e instanceof ApiError) {
		const m = e.message.charAt(0).toUpperCase() + e.message.slice(1);
		return m + (e.code && e.status ? ' (' + e.code + ')' : '');
	}
	return 'Unexpected error: ' + e.message;
}

export function formError() {
	return h('p', { class: 'form-error', role: 'alert', hidden: true });
}

// Runs fn() with the controls disabled and the button marked busy; they
// come back when the API has answered, whatever it answered.
export async function busy(controls, fn) {
	const list = controls.filter(Boolean);
	const was = list.map((c) => c.disabled);
	for (const c of list) {
		c.disabled = true;
		c.setAttribute('aria-busy', 'true');
	}
	try {
		return await fn();
	} finally {
		list.forEach((c, i) => {
			c.disabled = was[i];
			c.removeAttribute('aria-busy');
		});
	}
}

// Controls of a form: its inputs, selects, textareas and buttons.
export function controlsOf(el) {
	return Array.from(el.querySelectorAll('input, select, textarea, button'));
}

const numberFmt = new Intl.NumberFormat('en-US');

export function count(n, one, many) {
	return numberFmt.format(n) + ' ' + (n === 1 ? one : many);
}

// "2026-11-28 02:28:36 UTC" from an RFC 3339 timestamp; a <time> element.
export function when(ts, none) {
	if (ts === null || ts === undefined)
		return none || 'never';
	const d = new Date(ts);
	if (Number.isNaN(d.getTime()))
		return ts;
	const text = d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
	return h('time', { datetime: ts }, text);
}

export function announce(text) {
	const a = document.getElementById('announce');
	a.textContent = '';
	setTimeout(() => { a.textContent = text; }, 50);
}

// The raw key panel: shown once, with a copy button and a plain warning.
export function secretPanel(title, raw, extra) {
	const id = nextId('secret');
	const input = h('input', { id, type: 'text', readonly: true,
	    value: raw, class: 'secret', spellcheck: 'false',
	    autocomplete: 'off', 'data-secret': '' });
	const status = h('span', { class: 'copy-status', role: 'status' });
	const copy = h('button', { type: 'button', class: 'primary',
	    onclick: async () => {
		try {
			await navigator.clipboard.writeText(raw);
			status.textContent = 'Copied.';
		} catch (e) {
			input.select();
			status.textContent = 'Selected: press Ctrl+C (or Cmd+C) to copy.';
		}
	} }, 'Copy key');
	const dismiss = h('button', { type: 'button',
	    onclick: () => panel.remove() }, 'I have stored it; hide the key');
	const panel = h('section', { class: 'secret-panel', 'aria-labelledby': id + '-h',
	    tabindex: '-1' },
	    h('h2', { id: id + '-h' }, title),
	    extra || null,
	    h('p', { class: 'warning' }, h('strong', {}, 'Copy this key now. '),
		'It will not be shown again: latchkey keeps only its hash.'),
	    h('label', { for: id }, 'API key'),
	    h('div', { class: 'secret-row' }, input, copy),
	    status,
	    h('p', {}, dismiss));
	return panel;
}

export function envSelect(value) {
	const s = h('select', { name: 'environment' });
	for (const env of ['production', 'staging', 'development'])
		s.append(h('option', { value: env }, env));
	s.value = value || 'production';
	return s;
}
