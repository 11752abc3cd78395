// The projects view: the organization's projects, newest first, with
// "load more" (the API's cursor); create (the raw key shown once);
// rename and change environment; delete after a confirmation that shows
// the dry run's counts.

import { request, enc } from './api.js';
import { h, ask, field, clearErrors, showError, busy, controlsOf, formError,
    when, count, announce, secretPanel, envSelect } from './ui.js';
import { viewHeading, current, isCurrent } from './app.js';

const PAGE = 20;

export function projectsView() {
	const gen = current();
	const list = h('ul', { class: 'items', 'aria-label': 'Projects' });
	const status = h('p', { class: 'list-status', role: 'status' }, 'Loading projects…');
	const more = h('button', { type: 'button', hidden: true }, 'Load more projects');
	const listErr = formError();
	const secretSlot = h('div', {});
	let cursor = null;

	async function load() {
		let path = '/projects?limit=' + PAGE;
		if (cursor)
			path += '&cursor=' + enc(cursor);
		await busy([more], async () => {
			const r = await ask('GET', path, undefined, {}, listErr);
			if (r === null) {
				status.textContent = '';
				return;
			}
			if (!isCurrent(gen))
				return;
			for (const p of r.data.data)
				list.append(projectItem(p));
			cursor = r.data.nextCursor;
			more.hidden = cursor === null;
			const n = list.children.length;
			status.textContent = n === 0 ? 'No projects yet: create one above.' :
			    'Showing ' + count(n, 'project', 'projects') +
			    (cursor === null ? '.' : '; more can be loaded.');
		});
	}
	more.addEventListener('click', load);

	// Create
	const name = field('Name', h('input', { type: 'text', name: 'name',
	    maxlength: '100', autocomplete: 'off', required: true }));
	const env = field('Environment', envSelect('production'));
	const cErr = formError();
	const create = h('form', { class: 'card create', novalidate: true,
	    'aria-labelledby': 'create-project-h' },
	    h('h2', { id: 'create-project-h' }, 'New project'),
	    h('div', { class: 'row' }, name.wrap, env.wrap),
	    cErr,
	    h('button', { type: 'submit', class: 'primary' }, 'Create project'));
	create.addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const fields = { name, environment: env };
		clearErrors(fields, cErr);
		await busy(controlsOf(create), async () => {
			const r = await ask('POST', '/projects', { body: {
				    name: name.input.value, environment: env.input.value } }, fields, cErr);
			if (r === null)
				return;
			const p = r.data;
			const raw = p.apiKey;
			delete p.apiKey;
			delete p.apiKeyId;
			list.prepend(projectItem(p));
			status.textContent = 'Showing ' + count(list.children.length,
			    'project', 'projects') + (cursor === null ? '.' : '; more can be loaded.');
			name.input.value = '';
			env.input.value = 'production';
			const panel = secretPanel('Project "' + p.name + '" created',
			    raw, h('p', {}, 'Its first API key:'));
			secretSlot.replaceChildren(panel);
			panel.focus();
			announce('Project created. Copy its API key now.');
		});
	});

	const view = h('div', { class: 'view' },
	    viewHeading('Projects'), create, secretSlot,
	    h('h2', {}, 'All projects'), listErr, list, status, more);
	load();
	return view;
}

function projectItem(p) {
	const li = h('li', { class: 'item', 'data-project-id': p.id });
	draw(li, p);
	return li;
}

function draw(li, p) {
	const title = h('h3', {}, h('a', { href: '#/projects/' + enc(p.id) }, p.name));
	const err = formError();
	const edit = h('button', { type: 'button' }, 'Edit', h('span', { class: 'visually-hidden' }, ' ' + p.name));
	const del = h('button', { type: 'button', class: 'danger' }, 'Delete', h('span', { class: 'visually-hidden' }, ' ' + p.name));
	const keys = h('a', { href: '#/projects/' + enc(p.id), class: 'button' }, 'Keys', h('span', { class: 'visually-hidden' }, ' of ' + p.name));
	const slot = h('div', {});
	li.replaceChildren(title,
	    h('dl', { class: 'facts' },
		h('dt', {}, 'Environment'), h('dd', {}, h('span', { class: 'env env-' + p.environment }, p.environment)),
		h('dt', {}, 'Id'), h('dd', { class: 'mono' }, p.id),
		h('dt', {}, 'Created'), h('dd', {}, when(p.createdAt)),
		h('dt', {}, 'Updated'), h('dd', {}, when(p.updatedAt))),
	    h('div', { class: 'actions' }, keys, edit, del),
	    err, slot);

	edit.addEventListener('click', () => {
		const name = field('Name', h('input', { type: 'text', name: 'name',
		    maxlength: '100', autocomplete: 'off', value: p.name }));
		const env = field('Environment', envSelect(p.environment));
		const fErr = formError();
		const cancel = h('button', { type: 'button' }, 'Cancel');
		const form = h('form', { class: 'inline-form', novalidate: true,
		    'aria-label': 'Edit ' + p.name },
		    h('div', { class: 'row' }, name.wrap, env.wrap), fErr,
		    h('div', { class: 'actions' },
			h('button', { type: 'submit', class: 'primary' }, 'Save'), cancel));
		cancel.addEventListener('click', () => { slot.replaceChildren(); edit.focus(); });
		form.addEventListener('submit', async (ev) => {
			ev.preventDefault();
			const fields = { name, environment: env };
			clearErrors(fields, fErr);
			const body = {};
			if (name.input.value !== p.name)
				body.name = name.input.value;
			if (env.input.value !== p.environment)
				body.environment = env.input.value;
			if (Object.keys(body).length === 0) {
				slot.replaceChildren();
				edit.focus();
				return;
			}
			await busy(controlsOf(form).concat([edit, del]), async () => {
				const r = await ask('PATCH', '/projects/' + enc(p.id), { body },
				    fields, fErr);
				if (r === null)
					return;
				draw(li, r.data);
				li.querySelector('h3 a').focus();
				announce('Project saved.');
			});
		});
		slot.replaceChildren(form);
		name.input.focus();
	});

	del.addEventListener('click', async () => {
		err.hidden = true;
		await busy([edit, del], async () => {
			const r = await ask('DELETE', '/projects/' + enc(p.id) + '?dryRun=true',
			    undefined, {}, err);
			if (r === null)
				return;
			const d = r.data;
			const what = 'deletes ' + count(d.apiKeys, 'key', 'keys') + ', ' +
			    count(d.events, 'event', 'events') + ', ' +
			    count(d.incidents, 'incident', 'incidents');
			const fErr = formError();
			const yes = h('button', { type: 'button', class: 'danger' }, 'Delete project');
			const no = h('button', { type: 'button' }, 'Cancel');
			const box = h('div', { class: 'confirm', role: 'group',
			    'aria-labelledby': li.dataset.projectId + '-confirm' },
			    h('p', { id: li.dataset.projectId + '-confirm' },
				h('strong', {}, 'Delete "' + p.name + '"? '),
				'This ', h('span', { class: 'dry-run' }, what),
				'. Its keys stop working at once. This cannot be undone.'),
			    fErr, h('div', { class: 'actions' }, yes, no));
			no.addEventListener('click', () => { slot.replaceChildren(); del.focus(); });
			yes.addEventListener('click', async () => {
				await busy([yes, no, edit, del], async () => {
					try {
						await request('DELETE', '/projects/' + enc(p.id));
					} catch (e) {
						showError(e, {}, fErr);
						return;
					}
					const next = li.nextElementSibling || li.previousElementSibling;
					li.remove();
					announce('Project "' + p.name + '" deleted.');
					const f = next ? next.querySelector('h3 a') : document.getElementById('view-title');
					if (f)
						f.focus();
				});
			});
			slot.replaceChildren(box);
			no.focus();
		});
	});
}
