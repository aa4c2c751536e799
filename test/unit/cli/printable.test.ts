// Human CLI output never passes a peer's control characters to the operator's terminal: a path, file name,
// alert message or audit record with a newline cannot print a forged line of its own, nor send escape codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAlert, formatList, printable } from '../../../src/cli/format.js';

const FORGED = 'x\n{"seq":1,"kind":"unlock"}\r\u001b[31mred\u0007\u009b2J\u2028\u202eevil';

test('printable: controls, DEL, C1, separators and bidi overrides escaped; ordinary text (UTF-8 included) kept', () => {
  assert.equal(printable(FORGED), 'x\\n{"seq":1,"kind":"unlock"}\\r\\u001b[31mred\\u0007\\u009b2J\\u2028\\u202eevil');
  assert.equal(printable('tab\there\u007f'), 'tab\\there\\u007f');
  const plain = 'ordinary path /srv/données/日本 (a-z, 0-9, spaces)';
  assert.equal(printable(plain), plain, 'control: nothing else changes');
});

test('formatAlert and formatList: one line per alert / entry whatever the peer put in them', () => {
  const alert = formatAlert({ time: 't', severity: 'warning', kind: 'denied', message: `list ${FORGED}`, principal: { peer: { uid: 65534 } } });
  assert.equal(alert.split('\n').length, 1);
  assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(alert), alert);
  const list = formatList({ results: [
    { path: `/srv/${FORGED}`, realPath: `/srv/${FORGED}`, entries: [{ mode: '0644', type: 'file', size: 1, mtime: 'm', name: FORGED }, { mode: '0644', type: 'file', size: 1, mtime: 'm', name: 'plain' }], truncated: false },
  ] });
  assert.equal(list.split('\n').length, 3, 'the header and two entries: three lines');
  assert.ok(list.split('\n')[2]!.endsWith(' plain'), 'control: an ordinary name prints as is');
  for (const line of list.split('\n')) assert.ok(!/[\u0000-\u001f\u007f-\u009f]/.test(line), line);
});
