// The sync configuration form of the Slack screen: who to import, team
// mapping, the deactivation guard, and Save (PUT …/config, validated as a
// whole by the API; a 422 names the field and the message goes next to it).
import { api, isMissingRoute } from './api.js';
import { h, uid, clear, notice, showIn, busy } from './dom.js';
import { groupCombobox } from './typeahead.js';
import { confirmDialog } from './dialog.js';
import { setLeaveGuard } from './nav.js';
import { createTeam } from './teams.js';

const CONFIG_PATH = '/api/v1/provisioning/slack/config';
// An edit interrupted by the end of the session waits here while the
// administrator signs in again (this tab only), and comes back after.
const DRAFT_KEY = 'provisioning.slack.config-draft';

function takeDraft() {
  try {
    const raw = sessionStorage.getItem(DRAFT_KEY);
    sessionStorage.removeItem(DRAFT_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null; // storage off or a broken value: nothing to restore
  }
}

/**
 * configForm({config, teams, groups, search, onSaved})
 *  config: the saved configuration (SPEC §4.2 shape)
 *  teams: [{id, name}] of the organization
 *  groups: Map id → {id, name, handle} known so far (for names of saved ids)
 *  search(q, signal): the group type-ahead's search
 *  onSaved({config, pending}): after a successful save
 */
export function configForm({ config, teams, groups, search, onSaved }) {
  let savedCfg = normalise(config);
  const draft = takeDraft();
  const cfg = draft ? normalise(draft) : savedCfg;
  let rowSerial = 0;
  const state = {
    mode: cfg.members.mode,
    groupIds: [...cfg.members.group_ids],
    mappingEnabled: cfg.team_mapping.enabled,
    rows: cfg.team_mapping.mappings.map((m) => ({ key: ++rowSerial, groupId: m.slack_group_id, teamId: m.team_id })),
  };
  const groupName = (id) => (groups.get(id) ? groups.get(id).name : id);

  // Error slots by field path ("members.group_ids", "team_mapping.mappings.1.team_id").
  const slots = new Map();
  function register(path, slot, control) {
    slots.set(path, { slot, control });
  }
  function fieldError(id) {
    return h('p', { id, class: 'field-error' });
  }

  const formAlert = h('div', { class: 'slot' });

  // ---- Members to import --------------------------------------------------
  const membersErrId = uid('members-error');
  const modeName = uid('mode');
  const radioEveryone = h('input', { type: 'radio', name: modeName, id: `${modeName}-everyone`, value: 'everyone',
    checked: state.mode === 'everyone' });
  const radioGroups = h('input', { type: 'radio', name: modeName, id: `${modeName}-groups`, value: 'groups',
    checked: state.mode === 'groups' });
  const chips = h('ul', { class: 'chips', 'aria-label': 'Chosen Slack groups' });
  const chipsEmpty = h('p', { class: 'muted' }, 'No group chosen yet.');
  const combo = groupCombobox({
    label: 'Add a Slack group',
    hint: 'Type part of a group’s name or handle. Use the arrow keys to move through the results and Enter to choose.',
    search,
    exclude: () => new Set(state.groupIds),
    onPick: (g) => {
      if (!g) return;
      groups.set(g.id, g);
      if (!state.groupIds.includes(g.id)) state.groupIds.push(g.id);
      renderChips();
    },
  });
  const groupsErr = fieldError(membersErrId);
  const groupsBox = h('div', { class: 'subfields' }, combo.root,
    h('h4', { class: 'subhead' }, 'Chosen groups'), chips, chipsEmpty, groupsErr);
  register('members', groupsErr, radioEveryone);
  register('members.mode', groupsErr, radioEveryone);
  register('members.group_ids', groupsErr, combo.input);

  function renderChips() {
    clear(chips);
    for (const id of state.groupIds) {
      const name = groupName(id);
      const remove = h('button', { type: 'button', class: 'chip__remove', 'aria-label': `Remove ${name}` },
        h('span', { 'aria-hidden': 'true' }, '×'));
      remove.addEventListener('click', () => {
        const i = state.groupIds.indexOf(id);
        state.groupIds.splice(i, 1);
        renderChips();
        // Keep the keyboard user near where they were.
        const next = chips.querySelectorAll('.chip__remove')[Math.min(i, state.groupIds.length - 1)];
        (next || combo.input).focus();
      });
      chips.append(h('li', { class: 'chip' }, h('span', { class: 'chip__label' }, name), remove));
    }
    chipsEmpty.hidden = state.groupIds.length > 0;
  }

  function syncMode() {
    state.mode = radioGroups.checked ? 'groups' : 'everyone';
    groupsBox.hidden = state.mode !== 'groups';
  }
  radioEveryone.addEventListener('change', syncMode);
  radioGroups.addEventListener('change', syncMode);

  const membersSet = h('fieldset', { class: 'card fieldset' },
    h('legend', {}, 'Members to import'),
    h('div', { class: 'choice' }, radioEveryone, h('label', { for: radioEveryone.id }, 'Everyone in the Slack workspace')),
    h('div', { class: 'choice' }, radioGroups, h('label', { for: radioGroups.id }, 'Everyone in the following Slack groups')),
    groupsBox);

  // ---- Team mapping -------------------------------------------------------
  const mapToggleId = uid('map-toggle');
  const mapToggle = h('input', { type: 'checkbox', id: mapToggleId, role: 'switch', class: 'switch',
    checked: state.mappingEnabled });
  const rowsBox = h('ol', { class: 'mappings', 'aria-label': 'Team mappings' });
  const addRow = h('button', { type: 'button', class: 'button' }, '+ Add a mapping');
  const mapErr = fieldError(uid('map-error'));
  const noTeams = teams.length === 0
    ? h('p', { class: 'muted' }, 'Your organization has no team yet: add a mapping and choose “New team…” to create one.')
    : null;
  const mapBox = h('div', { class: 'subfields' },
    h('p', { class: 'hint' }, 'Members of a mapped Slack group are added to its team at the next sync. ',
      'Several groups may map to the same team. Only memberships the sync created are ever removed.'),
    noTeams, rowsBox, mapErr, h('div', { class: 'actions' }, addRow));
  register('team_mapping', mapErr, mapToggle);
  register('team_mapping.enabled', mapErr, mapToggle);
  register('team_mapping.mappings', mapErr, addRow);

  function renderRows(focusKey) {
    clear(rowsBox);
    // Row-level slots are re-registered: indexes shift when a row goes.
    for (const k of [...slots.keys()]) if (/^team_mapping\.mappings\.\d+/.test(k)) slots.delete(k);
    state.rows.forEach((row, i) => {
      const n = i + 1;
      const rowErr = fieldError(uid('row-error'));
      const rowCombo = groupCombobox({
        label: `Slack group (mapping ${n})`,
        search,
        single: true,
        value: row.groupId ? { id: row.groupId, name: groupName(row.groupId) } : null,
        onPick: (g) => {
          row.groupId = g ? g.id : null;
          if (g) groups.set(g.id, g);
        },
      });
      const teamId = uid('team');
      const select = h('select', { id: teamId, 'aria-describedby': rowErr.id },
        h('option', { value: '' }, 'Choose a team…'),
        teams.map((t) => h('option', { value: String(t.id), selected: row.teamId === t.id }, t.name)));
      select.addEventListener('change', () => {
        row.teamId = select.value ? Number(select.value) : null;
      });
      // A team that does not exist yet is made from here, named after the
      // group by default, and chosen for this mapping.
      const newTeam = h('button', { type: 'button', class: 'button button--quiet mapping__new-team',
        'aria-label': `New team for mapping ${n}` }, 'New team…');
      newTeam.addEventListener('click', async () => {
        const inputId = uid('new-team');
        const input = h('input', { type: 'text', id: inputId, maxlength: '200',
          value: row.groupId ? groupName(row.groupId) : '' });
        let made = null;
        const ok = await confirmDialog({
          title: 'Create a team',
          body: [h('div', { class: 'field' }, h('label', { for: inputId }, 'Team name'), input),
            h('p', { class: 'hint' }, 'The team is created now and chosen for this mapping; the mapping applies when you save.')],
          confirmLabel: 'Create team',
          onConfirm: async () => { made = await createTeam(input.value); },
        });
        if (!ok || !made) return;
        teams.push(made);
        row.teamId = made.id;
        renderRows(null);
        const sel = rowsBox.querySelector(`[data-key="${row.key}"] select`);
        if (sel) sel.focus();
      });
      const remove = h('button', { type: 'button', class: 'button button--quiet',
        'aria-label': `Remove mapping ${n}` }, 'Remove');
      remove.addEventListener('click', () => {
        state.rows.splice(i, 1);
        const next = state.rows[Math.min(i, state.rows.length - 1)];
        renderRows(next ? next.key : null);
        if (!next) addRow.focus();
      });
      const li = h('li', { class: 'mapping', 'data-key': String(row.key) },
        h('div', { class: 'mapping__group' }, rowCombo.root),
        h('span', { class: 'mapping__arrow', 'aria-hidden': 'true' }, '→'),
        h('div', { class: 'field mapping__team' }, h('label', { for: teamId }, `Team (mapping ${n})`), select, newTeam),
        h('div', { class: 'mapping__remove' }, remove),
        rowErr);
      rowsBox.append(li);
      register(`team_mapping.mappings.${i}`, rowErr, rowCombo.input);
      register(`team_mapping.mappings.${i}.slack_group_id`, rowErr, rowCombo.input);
      register(`team_mapping.mappings.${i}.team_id`, rowErr, select);
      if (focusKey === row.key) rowCombo.input.focus();
    });
    if (state.rows.length === 0) {
      rowsBox.append(h('li', { class: 'muted mapping--empty' }, 'No mapping yet.'));
    }
  }
  addRow.addEventListener('click', () => {
    const key = ++rowSerial;
    state.rows.push({ key, groupId: null, teamId: null });
    renderRows(key);
  });
  function syncMapping() {
    state.mappingEnabled = mapToggle.checked;
    mapBox.hidden = !state.mappingEnabled;
  }
  mapToggle.addEventListener('change', async () => {
    const n = state.rows.filter((r) => r.groupId || r.teamId).length;
    if (!mapToggle.checked && n > 0) {
      const ok = await confirmDialog({
        title: 'Turn team mapping off?',
        body: [
          h('p', {}, `When you save, the ${n === 1 ? 'team mapping stops' : `${n} team mappings stop`} applying: `,
            'syncs no longer add people to teams or remove them.'),
          h('p', {}, 'Team memberships already made are kept. Turning mapping on again brings the mappings back until you leave this page.'),
        ],
        confirmLabel: 'Turn mapping off',
      });
      if (!ok) mapToggle.checked = true;
    }
    syncMapping();
  });

  const mappingSet = h('fieldset', { class: 'card fieldset' },
    h('legend', {}, 'Team mapping'),
    h('div', { class: 'choice' }, mapToggle, h('label', { for: mapToggleId }, 'Map Slack groups to teams')),
    mapBox);

  // ---- Deactivation guard -------------------------------------------------
  const percentId = uid('percent');
  const minimumId = uid('minimum');
  const percentErr = fieldError(`${percentId}-error`);
  const minimumErr = fieldError(`${minimumId}-error`);
  const percent = h('input', { id: percentId, type: 'number', min: '0', max: '100', step: '1', inputmode: 'numeric',
    class: 'input--short', value: String(cfg.deactivation_threshold.percent),
    'aria-describedby': `${percentId}-hint ${percentErr.id}` });
  const minimum = h('input', { id: minimumId, type: 'number', min: '0', step: '1', inputmode: 'numeric',
    class: 'input--short', value: String(cfg.deactivation_threshold.minimum),
    'aria-describedby': `${minimumId}-hint ${minimumErr.id}` });
  register('deactivation_threshold', percentErr, percent);
  register('deactivation_threshold.percent', percentErr, percent);
  register('deactivation_threshold.minimum', minimumErr, minimum);
  const thresholdSet = h('fieldset', { class: 'card fieldset' },
    h('legend', {}, 'Deactivation safety'),
    h('p', { class: 'hint' }, 'A sync that would deactivate more people than this is held: nothing is applied ',
      'until an administrator approves it.'),
    h('div', { class: 'field' }, h('label', { for: percentId }, 'Hold above this share of provisioned users (%)'),
      h('p', { class: 'hint', id: `${percentId}-hint` }, 'From 0 to 100.'), percent, percentErr),
    h('div', { class: 'field' }, h('label', { for: minimumId }, 'and at least this many users'),
      h('p', { class: 'hint', id: `${minimumId}-hint` }, 'A whole number.'), minimum, minimumErr));

  // ---- Save ---------------------------------------------------------------
  const save = h('button', { type: 'submit', class: 'button button--primary' }, 'Save configuration');
  const saved = h('div', { class: 'slot' });
  const form = h('form', { class: 'config', novalidate: true, 'aria-label': 'Sync configuration' },
    h('h2', {}, 'Sync configuration'),
    h('p', { class: 'hint' }, 'A saved configuration applies at the next sync.'),
    formAlert, membersSet, mappingSet, thresholdSet,
    h('div', { class: 'actions actions--sticky' }, save), saved);

  function clearErrors() {
    showIn(formAlert, null);
    showIn(saved, null);
    for (const { slot, control } of slots.values()) {
      slot.textContent = '';
      control.removeAttribute('aria-invalid');
    }
    combo.setError(null);
  }

  // The longest registered path that starts the API's field name wins:
  // "team_mapping.mappings[1].team_id" → that row's team select.
  function placeError(field, message) {
    const norm = String(field || '').replace(/\[(\d+)\]/g, '.$1');
    let best = null;
    for (const key of slots.keys()) {
      if ((norm === key || norm.startsWith(`${key}.`)) && (!best || key.length > best.length)) best = key;
    }
    if (!best) return null;
    const { slot, control } = slots.get(best);
    slot.textContent = `✕ ${message}`;
    control.setAttribute('aria-invalid', 'true');
    const ids = new Set((control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean));
    ids.add(slot.id);
    control.setAttribute('aria-describedby', [...ids].join(' '));
    return control;
  }

  // The configuration as on screen, in the API's shape.
  function current() {
    const pv = percent.value.trim();
    const mv = minimum.value.trim();
    return {
      members: { mode: state.mode, group_ids: state.mode === 'groups' ? [...state.groupIds] : [] },
      team_mapping: {
        enabled: state.mappingEnabled,
        mappings: state.rows.filter((r) => r.groupId && r.teamId)
          .map((r) => ({ slack_group_id: r.groupId, team_id: r.teamId })),
      },
      deactivation_threshold: { percent: /^\d+$/.test(pv) ? Number(pv) : pv, minimum: /^\d+$/.test(mv) ? Number(mv) : mv },
    };
  }
  const same = (a, b) => JSON.stringify(normalise(a)) === JSON.stringify(normalise(b));
  form.isDirty = () => form.isConnected && !same(current(), savedCfg);
  setLeaveGuard(() => form.isDirty());

  // A message about a field goes as soon as that field is changed: it must
  // never stay next to a problem that is already fixed.
  const clearFieldError = (e) => {
    for (const { slot, control } of slots.values()) {
      if (slot.textContent && (control === e.target || control.contains(e.target) ||
          (slot.parentElement && slot.parentElement.contains(e.target)))) {
        slot.textContent = '';
        control.removeAttribute('aria-invalid');
      }
    }
    if (![...slots.values()].some(({ slot }) => slot.textContent)) showIn(formAlert, null);
    showIn(saved, null);
  };
  form.addEventListener('input', clearFieldError);
  form.addEventListener('change', clearFieldError);
  form.addEventListener('click', (e) => { if (e.target.closest('.chip__remove, .combo__option')) clearFieldError(e); });

  function readNumber(input, label, max) {
    const v = input.value.trim();
    if (!/^\d+$/.test(v) || (max !== undefined && Number(v) > max)) {
      return { error: max !== undefined ? `${label} must be a whole number from 0 to ${max}.` : `${label} must be a whole number, 0 or more.` };
    }
    return { value: Number(v) };
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    busy(save, async () => {
      clearErrors();
      // What the browser can tell at once; the rest is the API's to say.
      const p = readNumber(percent, 'The percentage', 100);
      const m = readNumber(minimum, 'The minimum', undefined);
      const local = [];
      if (p.error) local.push(['deactivation_threshold.percent', p.error]);
      if (m.error) local.push(['deactivation_threshold.minimum', m.error]);
      if (state.mode === 'groups' && state.groupIds.length === 0) {
        local.push(['members.group_ids', 'Choose at least one Slack group, or import everyone.']);
      }
      if (state.mappingEnabled) {
        state.rows.forEach((r, i) => {
          if (!r.groupId) local.push([`team_mapping.mappings.${i}.slack_group_id`, `Choose a Slack group for mapping ${i + 1} from the list.`]);
          else if (!r.teamId) local.push([`team_mapping.mappings.${i}.team_id`, `Choose a team for mapping ${i + 1}.`]);
        });
      }
      if (local.length) {
        let first = null;
        for (const [f, msg] of local) first = first || placeError(f, msg);
        showIn(formAlert, notice('error', `The configuration was not saved: ${local[0][1]}`));
        if (first) first.focus();
        return;
      }
      const body = current();
      const was = savedCfg.deactivation_threshold;
      if (p.value > was.percent || m.value > was.minimum) {
        const ok = await confirmDialog({
          title: 'Lower the deactivation safety?',
          body: [
            h('p', {}, `Today a sync is held for approval when it would deactivate more than ${was.percent}% `,
              `of provisioned users and at least ${was.minimum} ${was.minimum === 1 ? 'person' : 'people'}.`),
            h('p', {}, h('strong', {}, `With the new values, up to ${p.value}% of provisioned users `,
              `(and always up to ${m.value} ${m.value === 1 ? 'person' : 'people'}) are deactivated without asking anyone.`)),
          ],
          confirmLabel: 'Lower the safety and save',
          danger: true,
        });
        if (!ok) {
          percent.focus();
          return;
        }
      }
      try {
        const res = await api.put(CONFIG_PATH, body);
        savedCfg = normalise(body);
        showIn(saved, notice('success', 'Configuration saved. Your sync is pending: it applies at the next sync.'));
        if (onSaved) onSaved(res || { config: body, pending: true });
      } catch (err) {
        if (err.status === 401) {
          // The session ended during Save: keep the edit for after sign-in.
          try { sessionStorage.setItem(DRAFT_KEY, JSON.stringify(body)); } catch { /* storage off */ }
          return;
        }
        if (isMissingRoute(err)) {
          showIn(formAlert, notice('error', 'Saving the configuration is not available on this server yet (its API has no configuration endpoint). Your changes are not saved.'));
          save.focus();
          return;
        }
        const control = err.field ? placeError(err.field, err.message) : null;
        showIn(formAlert, notice('error', `The configuration was not saved: ${err.message}`));
        (control || save).focus();
      }
    });
  });

  renderChips();
  renderRows(null);
  syncMode();
  syncMapping();
  if (draft) {
    showIn(formAlert, notice('warning', 'Your changes from before signing in again are back on this form. They are not saved yet: review them and Save.'));
  }
  return form;
}

function normalise(c) {
  const cfg = c || {};
  const members = cfg.members || {};
  const tm = cfg.team_mapping || {};
  const th = cfg.deactivation_threshold || {};
  return {
    members: { mode: members.mode === 'groups' ? 'groups' : 'everyone', group_ids: members.group_ids || [] },
    team_mapping: { enabled: !!tm.enabled, mappings: tm.mappings || [] },
    deactivation_threshold: { percent: th.percent ?? 10, minimum: th.minimum ?? 10 },
  };
}
