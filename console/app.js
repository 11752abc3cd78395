// latchkey's web console: sign-in, sign-out and the views, chosen by the
// location's fragment (#/projects, #/projects/{id}, #/audit?targetId=…).
// The fragment never holds the token; the token lives in sessionStorage
// (api.js). A 401 from the API brings back the sign-in form with the
// API's reason.

import { request, getToken, setToken, forgetToken, onUnauthorized } from './api.js';
import { h, field, setFieldError, clearErrors, busy, controlsOf, errorText,
    formError, announce } from './ui.js';
import { projectsView } from './projects.js';
import { keysView } from './keys.js';
import { auditView } from './audit.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
let signinReason = null;
let generation = 0;	// a newer render makes an older one's answers moot

// The current render's generation: a view checks it is still current
// before it draws what an answer brought.
export function current() {
	return generation;
}

export function isCurrent(g) {
	return g === generation;
}

function setTitle(text) {
	document.title = text + ' · latchkey console';
}

export function viewHeading(text) {
	setTitle(text);
	return h('h1', { tabindex: '-1', id: 'view-title' }, text);
}

function signinView() {
	nav.hidden = true;
	setTitle('Sign in');
	const tok = field('Organization token', h('input', { type: 'password',
	    name: 'token', autocomplete: 'off', spellcheck: 'false',
	    required: true }),
	    'A token made with "latchkeyctl token create"; it starts with lko_. ' +
	    'It is kept in this tab only and forgotten when you sign out or close the tab.');
	const err = formError();
	const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
	// method post: were the script ever bypassed, the token would still
	// not become part of a URL.
	const form = h('form', { class: 'card signin', novalidate: true, method: 'post' },
	    tok.wrap, err, submit);
	form.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		clearErrors({ token: tok }, err);
		const t = tok.input.value.trim();
		if (!t) {
			setFieldError(tok, 'Enter your organization token.');
			tok.input.focus();
			return;
		}
		await busy(controlsOf(form), async () => {
			try {
				await request('GET', '/projects?limit=1', { token: t });
			} catch (e) {
				setFieldError(tok, e.status === 401 ?
				    'The API refused this token: ' + e.message + '.' :
				    errorText(e));
				tok.input.focus();
				return;
			}
			setToken(t);
			tok.input.value = '';
			signinReason = null;
			if (!location.hash || location.hash === '#/' ||
			    location.hash === '#/signin')
				location.hash = '#/projects';
			else
				render();
		});
	});
	const children = [h('h1', { tabindex: '-1', id: 'view-title' }, 'Sign in')];
	if (signinReason)
		children.push(h('p', { class: 'notice', role: 'alert' },
		    'You were signed out: the API said "' + signinReason + '". ' +
		    'Sign in again with a valid token.'));
	children.push(form);
	main.replaceChildren(...children);
	tok.input.focus();
}

function signOut() {
	forgetToken();
	signinReason = null;
	history.replaceState(null, '', location.pathname);
	render();
	announce('Signed out. The token is forgotten.');
}

function markNav(name) {
	for (const a of nav.querySelectorAll('a[data-nav]')) {
		if (a.dataset.nav === name)
			a.setAttribute('aria-current', 'page');
		else
			a.removeAttribute('aria-current');
	}
}

function parseHash() {
	const raw = location.hash.replace(/^#/, '') || '/projects';
	const [path, query] = raw.split('?');
	return { parts: path.split('/').filter(Boolean),
	    params: new URLSearchParams(query || '') };
}

export function render() {
	generation++;
	if (!getToken()) {
		signinView();
		return;
	}
	nav.hidden = false;
	const { parts, params } = parseHash();
	let view;
	if (parts[0] === 'projects' && parts.length === 2) {
		markNav('projects');
		view = keysView(decodeURIComponent(parts[1]));
	} else if (parts[0] === 'audit') {
		markNav('audit');
		view = auditView(params.get('targetId') || '');
	} else {
		markNav('projects');
		view = projectsView();
	}
	main.replaceChildren(view);
	const t = document.getElementById('view-title');
	if (t)
		t.focus();
}

onUnauthorized((reason) => {
	signinReason = reason;
	render();
});

document.getElementById('signout').addEventListener('click', signOut);
window.addEventListener('hashchange', render);
render();
