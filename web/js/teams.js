// /settings/teams and /settings/teams/{id}: the organization's teams, and
// one team's members with how each got there (a sync or by hand).  Removing
// a member a sync added leaves a note the sync respects: it never adds that
// person back (SPEC §7.7); adding them back by hand lifts it.
import { api, isAbort, withQuery } from './api.js';
import { h, uid, clear, notice, showIn, pageHeading, busy, badge, timeEl } from './dom.js';
import { confirmDialog } from './dialog.js';

export async function createTeam(name, signal) {
  const res = await api.post('/api/v1/teams', { name }, { signal });
  return res.team;
}

export async function render({ root, params, signal, app }) {
  if (params.length && params[0]) return renderTeam({ root, id: params[0], signal, app });
  root.append(pageHeading('Teams'),
    h('p', { class: 'lead' }, 'Teams of your organization. A sync adds and removes members only where a Slack group is mapped to the team.'));
  const alert = h('div', { class: 'slot' });
  const list = h('ul', { class: 'teams', 'aria-label': 'Teams' });
  const nameId = uid('team-name');
  const nameErr = h('p', { class: 'field-error', id: `${nameId}-error` });
  const name = h('input', { type: 'text', id: nameId, maxlength: '200', 'aria-describedby': nameErr.id });
  const add = h('button', { type: 'submit', class: 'button button--primary' }, 'Create team');
  const form = h('form', { class: 'card', 'aria-label': 'Create a team' },
    h('h2', {}, 'Create a team'),
    h('div', { class: 'field' }, h('label', { for: nameId }, 'Team name'), name, nameErr),
    h('div', { class: 'actions' }, add));
  name.addEventListener('input', () => { nameErr.textContent = ''; name.removeAttribute('aria-invalid'); });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(add, async () => {
      try {
        const t = await createTeam(name.value, signal);
        name.value = '';
        showIn(alert, notice('success', `Team ${t.name} created.`));
        await load();
        const link = list.querySelector(`[data-team-id="${t.id}"] a`);
        if (link) link.focus();
      } catch (err) {
        if (err.status === 401 || isAbort(err)) return;
        nameErr.textContent = `✕ ${err.message}`;
        name.setAttribute('aria-invalid', 'true');
        name.focus();
      }
    });
  });

  async function load() {
    try {
      const teams = (await api.get('/api/v1/teams', { signal })).teams || [];
      clear(list);
      for (const t of teams) {
        list.append(h('li', { class: 'card team-row', 'data-team-id': String(t.id) },
          h('a', { href: `/settings/teams/${t.id}` }, t.name),
          h('span', { class: 'muted' }, ` ${t.member_count} member${t.member_count === 1 ? '' : 's'}`)));
      }
      if (!teams.length) list.append(h('li', { class: 'muted' }, 'No team yet.'));
    } catch (err) {
      if (err.status === 401 || isAbort(err)) return;
      showIn(alert, notice('error', err.message));
    }
  }
  root.append(alert, list, form);
  await load();
}

async function renderTeam({ root, id, signal }) {
  root.append(h('p', { class: 'breadcrumb' }, h('a', { href: '/settings/teams' }, '← Teams')));
  const heading = pageHeading('Team');
  root.append(heading);
  const alert = h('div', { class: 'slot' });
  const members = h('ul', { class: 'people', 'aria-label': 'Members' });
  const removed = h('ul', { class: 'people', 'aria-label': 'Removed by hand' });
  const removedBox = h('section', { class: 'card', 'aria-labelledby': 'removed-heading', hidden: true },
    h('h2', { id: 'removed-heading' }, 'Removed by hand'),
    h('p', { class: 'hint' }, 'A sync added these people and an administrator removed them: syncs never add them back. Adding one back by hand lifts this.'),
    removed);
  root.append(alert, h('section', { class: 'card', 'aria-labelledby': 'members-heading' },
    h('h2', { id: 'members-heading' }, 'Members'), members), removedBox);
  let team = null;
  try {
    team = ((await api.get('/api/v1/teams', { signal })).teams || []).find((t) => String(t.id) === String(id));
  } catch (err) {
    if (err.status === 401 || isAbort(err)) throw err;
  }
  if (!team) {
    showIn(alert, notice('error', 'There is no such team.'));
    return;
  }
  heading.textContent = team.name;
  document.title = `${team.name} · Provisioning settings`;

  const person = (m) => h('div', { class: 'person' },
    h('span', { class: 'person__name' }, m.display_name || m.email), h('span', { class: 'muted person__email' }, m.email));

  async function load(focusSelector) {
    try {
      const [m, r] = await Promise.all([
        api.get(withQuery(`/api/v1/teams/${id}/members`, { limit: 500 }), { signal }),
        api.get(withQuery(`/api/v1/teams/${id}/removed`, { limit: 500 }), { signal }),
      ]);
      clear(members);
      for (const u of m.members || []) {
        const bySync = u.membership_source === 'provisioning';
        const remove = h('button', { type: 'button', class: 'button button--quiet' }, 'Remove');
        remove.addEventListener('click', async () => {
          const name = u.display_name || u.email;
          const ok = await confirmDialog({
            title: `Remove ${name} from ${team.name}?`,
            body: bySync
              ? [h('p', {}, 'A sync added this person. '), h('p', {}, h('strong', {}, 'Syncs will not add them back'), ' while you keep it so; adding them back by hand undoes it.')]
              : [h('p', {}, 'You added this person by hand; a sync never adds or removes such a membership.')],
            confirmLabel: 'Remove',
            danger: true,
            onConfirm: () => api.del(`/api/v1/teams/${id}/members/${u.id}`, { signal }),
          });
          if (ok) {
            showIn(alert, notice('success', `${name} was removed from ${team.name}.`));
            await load('#members-heading');
          }
        });
        members.append(h('li', { class: 'person-row' },
          h('div', { class: 'person-row__head' }, person(u),
            h('div', { class: 'person-row__meta' }, bySync ? badge('info', 'Added by a sync') : badge('neutral', 'Added by hand'),
              h('span', { class: 'muted' }, 'since ', timeEl(u.member_since)))),
          h('div', { class: 'actions' }, remove)));
      }
      if (!members.children.length) members.append(h('li', { class: 'muted' }, 'No member.'));
      clear(removed);
      for (const u of r.removed || []) {
        const back = h('button', { type: 'button', class: 'button' }, 'Add back');
        back.addEventListener('click', () => busy(back, async () => {
          try {
            await api.post(`/api/v1/teams/${id}/members`, { user_id: u.id }, { signal });
            showIn(alert, notice('success', `${u.display_name || u.email} is a member of ${team.name} again.`));
            await load('#members-heading');
          } catch (err) {
            if (err.status === 401 || isAbort(err)) return;
            showIn(alert, notice('error', err.message));
          }
        }));
        removed.append(h('li', { class: 'person-row' },
          h('div', { class: 'person-row__head' }, person(u),
            h('div', { class: 'person-row__meta' }, badge('warn', 'Removed by hand'), h('span', { class: 'muted' }, timeEl(u.removed_at)))),
          h('div', { class: 'actions' }, back)));
      }
      removedBox.hidden = removed.children.length === 0;
      if (focusSelector) {
        const el = root.querySelector(focusSelector);
        if (el) { el.setAttribute('tabindex', '-1'); el.focus(); }
      }
    } catch (err) {
      if (err.status === 401 || isAbort(err)) return;
      showIn(alert, notice('error', err.message));
    }
  }
  await load();
}
