import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineDecoder, DEFAULT_MAX_FRAME_BYTES } from '../../../src/wire/framing.js';

interface Recorder {
  lines: string[];
  overflows: number[];
  decoder: LineDecoder;
}

function make(max?: number): Recorder {
  const lines: string[] = [];
  const overflows: number[] = [];
  const decoder = new LineDecoder(
    {
      line: (frame) => lines.push(frame.toString('utf8')),
      overflow: (n) => overflows.push(n),
    },
    max,
  );
  return { lines, overflows, decoder };
}

test('default limit is 1 MiB', () => {
  const r = make();
  assert.equal(r.decoder.maxFrameBytes, DEFAULT_MAX_FRAME_BYTES);
  assert.equal(DEFAULT_MAX_FRAME_BYTES, 1024 * 1024);
});

test('rejects a limit below 16 or non-integer', () => {
  assert.throws(() => make(15), TypeError);
  assert.throws(() => make(16.5), TypeError);
  assert.doesNotThrow(() => make(16));
});

test('a line split across chunks is reassembled', () => {
  const r = make();
  r.decoder.push(Buffer.from('{"a":'));
  assert.deepEqual(r.lines, []);
  assert.equal(r.decoder.buffered, 5);
  r.decoder.push(Buffer.from('1'));
  r.decoder.push(Buffer.from('}\n'));
  assert.deepEqual(r.lines, ['{"a":1}']);
  assert.equal(r.decoder.buffered, 0);
});

test('a line split byte by byte is reassembled', () => {
  const r = make();
  for (const b of Buffer.from('hello\nworld\n')) r.decoder.push(Buffer.from([b]));
  assert.deepEqual(r.lines, ['hello', 'world']);
  assert.equal(r.decoder.buffered, 0);
});

test('several lines in one chunk, with a tail carried over', () => {
  const r = make();
  r.decoder.push(Buffer.from('one\ntwo\nthree\nfo'));
  assert.deepEqual(r.lines, ['one', 'two', 'three']);
  assert.equal(r.decoder.buffered, 2);
  r.decoder.push(Buffer.from('ur\n'));
  assert.deepEqual(r.lines, ['one', 'two', 'three', 'four']);
});

test('CRLF is stripped, including a CR that arrives in a separate chunk', () => {
  const r = make();
  r.decoder.push(Buffer.from('a\r\nb\r'));
  r.decoder.push(Buffer.from('\n'));
  assert.deepEqual(r.lines, ['a', 'b']);
});

test('only one trailing CR is stripped; inner CR is kept', () => {
  const r = make();
  r.decoder.push(Buffer.from('x\ry\r\r\n'));
  assert.deepEqual(r.lines, ['x\ry\r']);
});

test('empty lines are delivered as empty frames', () => {
  const r = make();
  r.decoder.push(Buffer.from('\n\r\nz\n\n'));
  assert.deepEqual(r.lines, ['', '', 'z', '']);
});

test('the chunk memory may be reused after push (tail is copied)', () => {
  const r = make();
  const chunk = Buffer.from('abc');
  r.decoder.push(chunk);
  chunk.fill(0x58); // 'X'
  r.decoder.push(Buffer.from('\n'));
  assert.deepEqual(r.lines, ['abc']);
});

test('a frame exactly at the limit passes (single chunk)', () => {
  const r = make(16);
  r.decoder.push(Buffer.from('a'.repeat(16) + '\n'));
  assert.deepEqual(r.lines, ['a'.repeat(16)]);
  assert.deepEqual(r.overflows, []);
  assert.equal(r.decoder.overflowed, false);
});

test('a frame exactly at the limit passes (split, with CRLF)', () => {
  const r = make(16);
  r.decoder.push(Buffer.from('a'.repeat(10)));
  r.decoder.push(Buffer.from('a'.repeat(6) + '\r'));
  assert.equal(r.decoder.buffered, 17);
  r.decoder.push(Buffer.from('\n'));
  assert.deepEqual(r.lines, ['a'.repeat(16)]);
  assert.deepEqual(r.overflows, []);
});

test('limit+1 overflows once and nothing further is delivered', () => {
  const r = make(16);
  r.decoder.push(Buffer.from('ok\n' + 'b'.repeat(17) + '\nafter\n'));
  assert.deepEqual(r.lines, ['ok']);
  assert.deepEqual(r.overflows, [17]);
  assert.equal(r.decoder.overflowed, true);
  assert.equal(r.decoder.buffered, 0);
  r.decoder.push(Buffer.from('more\n'));
  r.decoder.push(Buffer.from('c'.repeat(100) + '\n'));
  assert.deepEqual(r.lines, ['ok']);
  assert.equal(r.overflows.length, 1);
  assert.equal(r.decoder.buffered, 0);
});

test('limit+1 split across chunks overflows once', () => {
  const r = make(16);
  r.decoder.push(Buffer.from('b'.repeat(17)));
  assert.equal(r.decoder.overflowed, false);
  assert.equal(r.decoder.buffered, 17);
  r.decoder.push(Buffer.from('\nnext\n'));
  assert.deepEqual(r.lines, []);
  assert.deepEqual(r.overflows, [17]);
  assert.equal(r.decoder.buffered, 0);
});

test('an unterminated tail over the limit overflows without buffering more than limit+1 bytes', () => {
  const r = make(16);
  let maxBuffered = 0;
  for (let i = 0; i < 40; i++) {
    r.decoder.push(Buffer.from('x'));
    maxBuffered = Math.max(maxBuffered, r.decoder.buffered);
    assert.ok(r.decoder.buffered <= 17, `buffered ${r.decoder.buffered} > limit+1`);
  }
  assert.equal(maxBuffered, 17);
  assert.deepEqual(r.overflows, [18]);
  assert.equal(r.decoder.overflowed, true);
  assert.equal(r.decoder.buffered, 0);
  assert.deepEqual(r.lines, []);
});

test('one huge unterminated chunk overflows immediately and buffers nothing', () => {
  const r = make(16);
  r.decoder.push(Buffer.alloc(10_000, 0x61));
  assert.deepEqual(r.overflows, [10_000]);
  assert.equal(r.decoder.buffered, 0);
  r.decoder.push(Buffer.from('\n'));
  assert.deepEqual(r.lines, []);
});

test('lines are delivered in order', () => {
  const order: string[] = [];
  const d = new LineDecoder({ line: (f) => order.push(f.toString()), overflow: () => order.push('!') }, 16);
  d.push(Buffer.from('1\n2\n3\n'));
  assert.deepEqual(order, ['1', '2', '3']);
});
