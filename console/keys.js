// The keys of one project: active keys by default, a switch for the
// inactive ones (revoked or expired); create (name, expiry, address
// blocks), roll with a grace period, revoke; a warning on a key that was
// refused while revoked, expired or from an address outside its blocks
// (lastBlockedAt): it may have leaked.

import { request, enc } from './api.js';
import { h, ask, field, setFieldError, clearErrors, showError, busy, controlsOf, formError,
    when, announce, secretPanel, nextId } from './ui.js';
import { viewHeading, current, isCurrent } from './app.js';

const GRACE = [
	['0', 'None: the old key stops at once'],
	['3600', '1 hour'],
	['86400', '1 day'],
	['604800', '7 days'],
	['custom', 'Custom…'],
];

function isActive(k) {
	return k.revokedAt === null &&
	    (k.expiresAt === null || Date.parse(k.expiresAt) > Date.now());
}

function stateOf(k) {
	if (k.revokedAt !== null)
		return 'revoked';
	if (!isActive(k))
		return 'expired';
	return 'active';
}

// "2026-12-01T10:00" (datetime-local, the browser's time zone) -> RFC 3339 UTC
function localToUtc(v) {
	const d = new Date(v);
	return Number.isNaN(d.getTime()) ? v : d.toISOString();
}

function splitBlocks(text) {
	return text.split(/[\s,]+/).filter(Boolean);
}

export function keysView(projectId) {
	const gen = current();
	const heading = viewHeading('Keys');
	const sub = h('p', { class: 'subtitle' });
	const list = h('ul', { class: 'items', 'aria-label': 'Keys' });
	const status = h('p', { class: 'list-status', role: 'status' }, 'Loading keys…');
	const listErr = formError();
	const secretSlot = h('div', {});
	const switchId = nextId('inactive');
	const inactive = h('input', { type: 'checkbox', role: 'switch', id: switchId });
	const sw = h('div', { class: 'switch' }, inactive,
	    h('label', { for: switchId }, 'Show inactive keys (revoked or expired)'));
	let project = null;

	async function loadKeys() {
		const path = '/projects/' + enc(projectId) + '/api-keys' +
		    (inactive.checked ? '?includeRevoked=true' : '');
		await busy([inactive], async () => {
			const r = await ask('GET', path, undefined, {}, listErr);
			if (r === null) {
				status.textContent = '';
				return;
			}
			if (!isCurrent(gen))
				return;
			list.replaceChildren(...r.data.data.map((k) => keyItem(k, ctx)));
			updateStatus();
		});
	}
	function updateStatus() {
		const n = list.children.length;
		status.textContent = n === 0 ? (inactive.checked ? 'This project has no keys.' :
		    'No active keys. Create one above, or show inactive keys.') :
		    (n === 1 ? '1 key' : n + ' keys') + (inactive.checked ? ', active and inactive.' : ', active.');
	}
	inactive.addEventListener('change', loadKeys);

	const ctx = {
		showSecret(title, raw, extra) {
			const panel = secretPanel(title, raw, extra);
			secretSlot.replaceChildren(panel);
			panel.focus();
		},
		reload: loadKeys,
		updateStatus,
		includeInactive: () => inactive.checked,
		list,
	};

	// Create
	const name = field('Name (optional)', h('input', { type: 'text', name: 'name',
	    maxlength: '100', autocomplete: 'off' }));
	const exp = field('Expires (optional)', h('input', { type: 'datetime-local',
	    name: 'expiresAt' }), 'In your time zone; empty: never.');
	const cidrs = field('Allowed address blocks (optional)', h('textarea', {
	    name: 'allowedCidrs', rows: '2', spellcheck: 'false', autocomplete: 'off' }),
	    'One per line or separated by commas, such as 203.0.113.0/24 or 2001:db8::/32; empty: any address.');
	const cErr = formError();
	const create = h('form', { class: 'card create', novalidate: true,
	    'aria-labelledby': 'create-key-h' },
	    h('h2', { id: 'create-key-h' }, 'New key'),
	    h('div', { class: 'row' }, name.wrap, exp.wrap), cidrs.wrap, cErr,
	    h('button', { type: 'submit', class: 'primary' }, 'Create key'));
	create.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const fields = { name, expiresAt: exp, allowedCidrs: cidrs };
		clearErrors(fields, cErr);
		const body = {};
		if (name.input.value !== '')
			body.name = name.input.value;
		if (exp.input.value !== '')
			body.expiresAt = localToUtc(exp.input.value);
		if (cidrs.input.value.trim() !== '')
			body.allowedCidrs = splitBlocks(cidrs.input.value);
		await busy(controlsOf(create), async () => {
			const r = await ask('POST', '/projects/' + enc(projectId) + '/api-keys',
			    { body }, fields, cErr);
			if (r === null)
				return;
			const k = r.data;
			const raw = k.apiKey;
			delete k.apiKey;
			list.prepend(keyItem(k, ctx));
			updateStatus();
			name.input.value = exp.input.value = cidrs.input.value = '';
			ctx.showSecret('Key ' + (k.name ? '"' + k.name + '" ' : '') + 'created', raw);
			announce('Key created. Copy it now.');
		});
	});

	const view = h('div', { class: 'view' },
	    h('p', { class: 'crumbs' }, h('a', { href: '#/projects' }, 'Projects')),
	    heading, sub, listErr, create, secretSlot,
	    h('div', { class: 'list-head' }, h('h2', {}, 'Keys'), sw),
	    list, status);

	(async () => {
		try {
			const r = await request('GET', '/projects/' + enc(projectId));
			project = r.data;
		} catch (e) {
			if (!isCurrent(gen))
				return;
			showError(e, {}, listErr);
			status.textContent = '';
			create.hidden = true;
			sw.hidden = true;
			return;
		}
		if (!isCurrent(gen))
			return;
		heading.textContent = 'Keys of ' + project.name;
		document.title = heading.textContent + ' · latchkey console';
		sub.replaceChildren(h('span', { class: 'env env-' + project.environment },
		    project.environment), ' ', h('span', { class: 'mono' }, project.id), ' · ',
		    h('a', { href: '#/audit?targetId=' + enc(project.id) }, 'audit log of this project'));
		await loadKeys();
	})();
	return view;
}

function keyItem(k, ctx) {
	const li = h('li', { class: 'item key key-' + stateOf(k), 'data-key-id': k.id });
	drawKey(li, k, ctx);
	return li;
}

function drawKey(li, k, ctx) {
	const state = stateOf(k);
	li.className = 'item key key-' + state;
	const label = k.name || k.prefix + '…';
	const err = formError();
	const slot = h('div', {});
	// lastBlockedAt: refused while revoked, expired or from outside its
	// address blocks; said in the words of the key's state now.
	const tried = { revoked: 'a revoked key was tried at ',
	    expired: 'an expired key was tried at ',
	    active: 'this key was refused at ' }[state];
	const leak = k.lastBlockedAt ? h('p', { class: 'leak', role: 'note' },
	    h('strong', {}, 'Warning: '), tried, when(k.lastBlockedAt),
	    state === 'active' ? ' from an address outside its blocks' : '',
	    ': it may have leaked.') : null;
	const roll = h('button', { type: 'button' }, 'Roll', h('span', { class: 'visually-hidden' }, ' ' + label));
	const revoke = h('button', { type: 'button', class: 'danger' }, 'Revoke', h('span', { class: 'visually-hidden' }, ' ' + label));
	const active = state === 'active';
	const auditLink = h('a', { href: '#/audit?targetId=' + enc(k.id) }, 'Audit log',
	    h('span', { class: 'visually-hidden' }, ' of ' + label));
	li.replaceChildren(...[
	    h('h3', {}, k.name ? k.name : h('span', { class: 'unnamed' }, 'unnamed key'),
		' ', h('span', { class: 'badge badge-' + state }, state)),
	    leak,
	    h('dl', { class: 'facts' },
		h('dt', {}, 'Prefix'), h('dd', { class: 'mono' }, k.prefix + '…'),
		h('dt', {}, 'Id'), h('dd', { class: 'mono' }, k.id),
		h('dt', {}, 'Created'), h('dd', {}, when(k.createdAt)),
		h('dt', {}, 'Last used'), h('dd', {}, when(k.lastUsedAt)),
		h('dt', {}, 'Expires'), h('dd', {}, when(k.expiresAt)),
		k.revokedAt ? [h('dt', {}, 'Revoked'), h('dd', {}, when(k.revokedAt))] : null,
		h('dt', {}, 'Address blocks'), h('dd', { class: 'mono' },
		    k.allowedCidrs.length ? k.allowedCidrs.join(', ') : 'any address'),
		h('dt', {}, 'Replaced by'), h('dd', { class: 'mono' }, k.replacedBy || '—')),
	    h('div', { class: 'actions' }, active ? [roll, revoke] : null, auditLink),
	    err, slot].filter(Boolean));

	roll.addEventListener('click', () => {
		const gid = nextId('grace');
		const grace = field('Grace period for the old key', h('select', { id: gid, name: 'gracePeriodSeconds' },
		    GRACE.map(([v, t]) => h('option', { value: v }, t))),
		    'How long the old key keeps working beside the new one.');
		const secs = field('Custom grace period, in seconds', h('input', { type: 'number',
		    name: 'customSeconds', min: '0', max: '2592000', step: '1', inputmode: 'numeric' }),
		    'From 0 to 2,592,000 (30 days).');
		secs.wrap.hidden = true;
		grace.input.addEventListener('change', () => {
			secs.wrap.hidden = grace.input.value !== 'custom';
		});
		const fErr = formError();
		const cancel = h('button', { type: 'button' }, 'Cancel');
		const form = h('form', { class: 'inline-form', novalidate: true,
		    'aria-label': 'Roll ' + label },
		    h('p', {}, 'Rolling makes a new key with the same name and address blocks; ' +
			'the old one stops after the grace period.'),
		    h('div', { class: 'row' }, grace.wrap, secs.wrap), fErr,
		    h('div', { class: 'actions' },
			h('button', { type: 'submit', class: 'primary' }, 'Roll key'), cancel));
		cancel.addEventListener('click', () => { slot.replaceChildren(); roll.focus(); });
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			const fields = { gracePeriodSeconds: grace };
			clearErrors({ gracePeriodSeconds: grace, customSeconds: secs }, fErr);
			let g;
			if (grace.input.value === 'custom') {
				if (!/^\d+$/.test(secs.input.value)) {
					setFieldError(secs, 'Enter a whole number of seconds.');
					secs.input.focus();
					return;
				}
				g = Number(secs.input.value);
				fields.gracePeriodSeconds = secs;
			} else {
				g = Number(grace.input.value);
			}
			await busy(controlsOf(form).concat([roll, revoke]), async () => {
				const r = await ask('POST', '/api-keys/' + enc(k.id) + '/roll',
				    { body: { gracePeriodSeconds: g } }, fields, fErr);
				if (r === null)
					return;
				const nk = r.data;
				const raw = nk.apiKey;
				delete nk.apiKey;
				// The old key as the API now has it (expiresAt, replacedBy).
				let old = null;
				try {
					old = (await request('GET', '/api-keys/' + enc(k.id))).data;
				} catch (e) {
					old = null;
				}
				if (old && (isActive(old) || ctx.includeInactive()))
					drawKey(li, old, ctx);
				else if (old)
					li.remove();
				else
					slot.replaceChildren();
				ctx.list.prepend(keyItem(nk, ctx));
				ctx.updateStatus();
				// The end of the grace as the API set it (sooner when the
				// old key expired sooner); the asked-for one if unread.
				ctx.showSecret('Key rolled: the new key', raw,
				    h('p', {}, g === 0 ? 'The old key has stopped working.' :
					['The old key works until ', when(old && old.expiresAt ?
					    old.expiresAt : new Date(Date.now() + g * 1000)
					    .toISOString()), '.']));
				announce('Key rolled. Copy the new key now.');
			});
		});
		slot.replaceChildren(form);
		grace.input.focus();
	});

	revoke.addEventListener('click', () => {
		const fErr = formError();
		const yes = h('button', { type: 'button', class: 'danger' }, 'Revoke key');
		const no = h('button', { type: 'button' }, 'Cancel');
		const cid = nextId('confirm');
		const box = h('div', { class: 'confirm', role: 'group', 'aria-labelledby': cid },
		    h('p', { id: cid }, h('strong', {}, 'Revoke ' + label + '? '),
			'It stops working at once, for every client that uses it. This cannot be undone.'),
		    fErr, h('div', { class: 'actions' }, yes, no));
		no.addEventListener('click', () => { slot.replaceChildren(); revoke.focus(); });
		yes.addEventListener('click', async () => {
			await busy([yes, no, roll, revoke], async () => {
				try {
					await request('DELETE', '/api-keys/' + enc(k.id));
				} catch (e) {
					showError(e, {}, fErr);
					return;
				}
				let now = null;
				try {
					now = (await request('GET', '/api-keys/' + enc(k.id))).data;
				} catch (e) {
					now = null;
				}
				if (ctx.includeInactive() && now)
					drawKey(li, now, ctx);
				else
					li.remove();
				ctx.updateStatus();
				announce('Key ' + label + ' revoked.');
				document.getElementById('view-title').focus();
			});
		});
		slot.replaceChildren(box);
		no.focus();
	});
}
