// A modal confirmation dialog. The native <dialog> with showModal() makes the
// rest of the page inert and closes on Escape; on top of that Tab and
// Shift+Tab are kept inside it (browsers let focus leave to their own UI), and
// focus goes back to the control that opened it.
import { h, uid, notice, showIn, busy } from './dom.js';

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/**
 * confirmDialog({title, body, confirmLabel, danger, onConfirm}) → Promise<boolean>
 * onConfirm (async) runs with the dialog open; if it throws, its message shows
 * inside the dialog and the dialog stays open.
 */
export function confirmDialog({ title, body, confirmLabel, cancelLabel = 'Cancel', danger = false, onConfirm }) {
  const opener = document.activeElement;
  const titleId = uid('dialog-title');
  const descId = uid('dialog-desc');
  const slot = h('div', { class: 'slot' });
  const cancel = h('button', { type: 'button', class: 'button' }, cancelLabel);
  const confirm = h('button', { type: 'button', class: `button ${danger ? 'button--danger' : 'button--primary'}` },
    confirmLabel);
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'aria-describedby': descId },
    h('h2', { id: titleId, class: 'dialog__title' }, title),
    h('div', { id: descId, class: 'dialog__body' }, body),
    slot,
    h('div', { class: 'actions dialog__actions' }, cancel, confirm));
  document.body.append(dialog);

  return new Promise((resolve) => {
    let result = false;
    const close = () => dialog.close();
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
      resolve(result);
    });
    dialog.addEventListener('cancel', (e) => {
      // Escape: no closing while the action runs, so its answer is not lost.
      if (confirm.getAttribute('aria-busy') === 'true') e.preventDefault();
    });
    dialog.addEventListener('keydown', (e) => {
      if (e.key !== 'Tab') return;
      const items = [...dialog.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
      if (items.length === 0) return;
      const first = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey && document.activeElement === first) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        first.focus();
      }
    });
    cancel.addEventListener('click', close);
    confirm.addEventListener('click', () => busy(confirm, async () => {
      try {
        if (onConfirm) await onConfirm();
        result = true;
        close();
      } catch (err) {
        if (err.status === 401) {
          close();
          return;
        }
        showIn(slot, notice('error', err.message));
      }
    }));
    dialog.showModal();
    // The safe choice has focus first.
    cancel.focus();
  });
}
