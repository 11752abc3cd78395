// The audit log: the organization's events, newest first, with "load
// more"; a filter by project or key (the API's targetId); and "verify
// chain", which reads the whole log and recomputes every hash here in the
// browser (jcs.js), then says "intact through seq N" or names the first
// broken link.

import { request, enc } from './api.js';
import { h, field, showError, busy, formError, when, count, nextId } from './ui.js';
import { viewHeading, current, isCurrent } from './app.js';
import { verifyChain } from './jcs.js';

const PAGE = 50;

function describeChanges(changes) {
	const names = Object.keys(changes || {});
	if (!names.length)
		return null;
	return h('ul', { class: 'changes' }, names.map((n) => {
		const [a, b] = changes[n];
		return h('li', {}, h('span', { class: 'mono' }, n), ': ',
		    h('span', { class: 'mono' }, JSON.stringify(a)), ' → ',
		    h('span', { class: 'mono' }, JSON.stringify(b)));
	}));
}

function eventItem(e) {
	return h('li', { class: 'item event', 'data-seq': String(e.seq), id: 'seq-' + e.seq },
	    h('h3', {}, h('span', { class: 'seq' }, '#' + e.seq), ' ',
		h('span', { class: 'mono' }, e.action), ' ',
		h('span', { class: 'event-time' }, when(e.at))),
	    h('dl', { class: 'facts' },
		h('dt', {}, 'Target'), h('dd', { class: 'mono' }, e.target.type + ' ', e.target.id),
		h('dt', {}, 'Project'), h('dd', { class: 'mono' }, e.projectId || '—'),
		h('dt', {}, 'Actor'), h('dd', { class: 'mono' },
		    e.actor.type === 'cli' ? 'latchkeyctl' : e.actor.type + ' ' + e.actor.id),
		h('dt', {}, 'From'), h('dd', { class: 'mono' }, e.sourceIp || '—'),
		h('dt', {}, 'Request'), h('dd', { class: 'mono' }, e.requestId || '—'),
		h('dt', {}, 'Hash'), h('dd', { class: 'mono hash', title: e.hash }, e.hash.slice(0, 16) + '…')),
	    describeChanges(e.changes));
}

export function auditView(targetId) {
	const gen = current();
	const list = h('ul', { class: 'items', 'aria-label': 'Audit events' });
	const status = h('p', { class: 'list-status', role: 'status' }, 'Loading events…');
	const more = h('button', { type: 'button', hidden: true }, 'Load more events');
	const listErr = formError();
	let cursor = null;

	const fields = {};
	async function load() {
		let path = '/audit-events?limit=' + PAGE;
		if (targetId)
			path += '&targetId=' + enc(targetId);
		if (cursor)
			path += '&cursor=' + enc(cursor);
		await busy([more], async () => {
			let r;
			try {
				r = await request('GET', path);
			} catch (e) {
				if (!isCurrent(gen))
					return;
				showError(e, e.field === 'targetId' ? fields : {}, listErr);
				status.textContent = '';
				return;
			}
			if (!isCurrent(gen))
				return;
			for (const e of r.data.data)
				list.append(eventItem(e));
			cursor = r.data.nextCursor;
			more.hidden = cursor === null;
			const n = list.children.length;
			status.textContent = n === 0 ? 'No events' + (targetId ? ' for ' + targetId : '') + '.' :
			    'Showing ' + count(n, 'event', 'events') + (targetId ? ' for ' + targetId : '') +
			    (cursor === null ? '.' : '; more can be loaded.');
		});
	}
	more.addEventListener('click', load);

	// Filter: a project from the list, or any key (or project) id.
	const proj = field('Project', h('select', { name: 'project' },
	    h('option', { value: '' }, 'Any project')));
	const target = field('Or a key or project id', h('input', { type: 'text',
	    name: 'targetId', autocomplete: 'off', spellcheck: 'false',
	    placeholder: 'key_…', value: targetId.startsWith('prj_') ? '' : targetId }));
	fields.targetId = target;
	const clear = h('a', { href: '#/audit', class: 'button' }, 'Show all events');
	const filter = h('form', { class: 'card filter', novalidate: true, role: 'search',
	    'aria-labelledby': 'filter-h' },
	    h('h2', { id: 'filter-h' }, 'Filter'),
	    h('div', { class: 'row' }, proj.wrap, target.wrap),
	    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Show events'),
		targetId ? clear : null));
	filter.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const t = target.input.value.trim() || proj.input.value;
		location.hash = t ? '#/audit?targetId=' + enc(t) : '#/audit';
	});
	(async () => {
		let r;
		try {
			r = await request('GET', '/projects?limit=100');
		} catch (e) {
			return;
		}
		if (!isCurrent(gen))
			return;
		for (const p of r.data.data)
			proj.input.append(h('option', { value: p.id }, p.name + ' (' + p.environment + ')'));
		if (targetId.startsWith('prj_')) {
			if (!r.data.data.some((p) => p.id === targetId))
				proj.input.append(h('option', { value: targetId }, targetId));
			proj.input.value = targetId;
		}
	})();

	// Verify chain
	const vid = nextId('verify');
	const result = h('p', { class: 'chain-result', id: vid, role: 'status' });
	const verify = h('button', { type: 'button', class: 'primary', 'aria-describedby': vid },
	    'Verify chain');
	verify.addEventListener('click', async () => {
		result.className = 'chain-result';
		result.textContent = 'Reading the whole log and checking every hash…';
		await busy([verify], async () => {
			if (!globalThis.crypto || !crypto.subtle) {
				result.textContent = 'This browser offers no WebCrypto here (the console must be served over HTTPS or from localhost).';
				return;
			}
			const events = [];
			let c = null;
			try {
				do {
					const r = await request('GET', '/audit-events?limit=100' +
					    (c ? '&cursor=' + enc(c) : ''));
					events.push(...r.data.data);
					c = r.data.nextCursor;
				} while (c !== null);
			} catch (e) {
				result.textContent = '';
				showError(e, {}, listErr);
				return;
			}
			events.reverse();
			const v = await verifyChain(events);
			if (!isCurrent(gen))
				return;
			for (const el of list.querySelectorAll('.broken'))
				el.classList.remove('broken');
			if (v.ok) {
				result.classList.add('ok');
				result.textContent = v.seq === 0 ? 'The log is empty: nothing to check.' :
				    'Chain intact through seq ' + v.seq + ' (' +
				    count(events.length, 'event', 'events') + ' checked in this browser).';
			} else {
				result.classList.add('bad');
				result.textContent = 'Chain broken at seq ' + v.seq + ': the event ' + v.reason + '.';
				const row = document.getElementById('seq-' + v.seq);
				if (row) {
					row.classList.add('broken');
					row.setAttribute('tabindex', '-1');
					result.append(' ', h('button', { type: 'button', class: 'link',
					    onclick: () => { row.scrollIntoView({ block: 'center' }); row.focus(); } },
					    'Show event #' + v.seq));
				}
			}
		});
	});

	const view = h('div', { class: 'view' },
	    viewHeading('Audit log'),
	    h('section', { class: 'card', 'aria-labelledby': 'chain-h' },
		h('h2', { id: 'chain-h' }, 'Hash chain'),
		h('p', {}, 'Each event holds the hash of the one before it. "Verify chain" reads every event ' +
		    'of the organization and recomputes each hash in this browser (SHA-256 over RFC 8785 canonical JSON).'),
		verify, result),
	    filter,
	    h('h2', { id: 'events-h' }, targetId ? 'Events for ' + targetId : 'Events, newest first'),
	    listErr, list, status, more);
	load();
	return view;
}
