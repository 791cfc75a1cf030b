// /settings/provisioning: the providers and which one is active. Only one
// provisioning integration may be active per organization (SPEC §1.2).
import { api } from './api.js';
import { h, notice, pageHeading, badge } from './dom.js';
import { connectionBadge } from './labels.js';

// Providers that have a settings screen here.
const SCREENS = { slack: '/settings/provisioning/slack' };

export async function render({ root, signal }) {
  root.append(pageHeading('Provisioning'));
  root.append(h('p', { class: 'lead' },
    'Provisioning keeps your organization’s people and teams in step with another system. ',
    'One provider can be active at a time.'));
  let data;
  try {
    data = await api.get('/api/v1/provisioning', { signal });
  } catch (err) {
    if (err.status === 401 || err.name === 'AbortError') throw err;
    root.append(notice('error', err.message));
    return;
  }
  const list = h('ul', { class: 'providers', 'aria-label': 'Providers' });
  for (const p of data.providers || []) {
    const active = data.active === p.id;
    const blockedBy = data.active && !active
      ? (data.providers.find((x) => x.id === data.active) || { name: data.active }).name : null;
    const link = SCREENS[p.id]
      ? h('a', { class: 'button', href: SCREENS[p.id] },
        p.status === 'disconnected' ? `Set up ${p.name}` : `Manage ${p.name}`)
      : h('p', { class: 'muted' }, 'Settings for this provider are not available on this page.');
    list.append(h('li', { class: 'card provider' },
      h('div', { class: 'provider__head' },
        h('h2', { class: 'provider__name' }, p.name),
        connectionBadge(p.status),
        active ? badge('info', 'Active provider') : null),
      blockedBy ? h('p', { class: 'muted' },
        `${blockedBy} is the active provider. Disconnect it before connecting ${p.name}.`) : null,
      link));
  }
  if (!data.providers || data.providers.length === 0) {
    list.append(h('li', { class: 'card' }, 'No provider is available.'));
  }
  root.append(list);
}
