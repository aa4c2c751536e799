// Fuzz: the frame decoder (src/wire/framing.ts) against a one-line model, for arbitrary bytes cut into arbitrary
// chunks, with small frame limits so that overflows happen. Chunk memory is scribbled over after each push: the
// decoder must have copied whatever it keeps.
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineDecoder } from '../../src/wire/framing.js';
import { fcOptions, onlyExpectedErrors } from '../helpers/property.js';

/** Bytes biased towards the framing characters, in runs (so that long lines and big inputs are cheap to describe). */
const byte = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(0x0a, 0x0d) },
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const run = fc.record({
  byte,
  count: fc.oneof({ weight: 20, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 100 }) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 200_000 }) }),
});
const input = fc.record({
  data: fc.array(run, { maxLength: 40 }).map((runs) => Buffer.concat(runs.map((r) => Buffer.alloc(r.count, r.byte))).subarray(0, 2 * 1024 * 1024)),
  cuts: fc.array(fc.nat(), { maxLength: 12 }),
  maxFrameBytes: fc.oneof(fc.integer({ min: 16, max: 64 }), fc.integer({ min: 16, max: 300_000 })),
});

/** What the decoder must deliver: every complete line (minus one trailing CR) until the first one over the limit. */
function model(data: Buffer, max: number): { lines: Buffer[]; overflow: boolean; tail: number } {
  const lines: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, start);
    if (nl === -1) break;
    let frame = data.subarray(start, nl);
    start = nl + 1;
    if (frame.length > 0 && frame[frame.length - 1] === 0x0d) frame = frame.subarray(0, -1);
    if (frame.length > max) return { lines, overflow: true, tail: 0 };
    lines.push(frame);
  }
  const tail = data.length - start;
  return tail > max + 1 ? { lines, overflow: true, tail: 0 } : { lines, overflow: false, tail };
}

function chunksOf(data: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => (data.length === 0 ? 0 : c % (data.length + 1))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, data.length]) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  return out;
}

describe('fuzz: LineDecoder', () => {
  it('arbitrary bytes in arbitrary chunks: the model lines, one overflow at most, nothing thrown, bounded time', () => {
    fc.assert(
      fc.property(input, ({ data, cuts, maxFrameBytes }) => {
        const want = model(data, maxFrameBytes);
        let got = 0;
        let overflows = 0;
        const line = (f: Buffer) => {
          assert.ok(got < want.lines.length && f.equals(want.lines[got]!), `line ${got} differs from the model`);
          assert.ok(f.length <= maxFrameBytes);
          got++;
        };
        const d = new LineDecoder({ line, overflow: () => { overflows++; } }, maxFrameBytes);
        for (const chunk of chunksOf(data, cuts)) {
          // A private copy per push, scribbled over afterwards (as a socket may reuse its buffer).
          const mine = Buffer.from(chunk);
          onlyExpectedErrors('LineDecoder.push', () => d.push(mine), (_e): _e is never => false);
          mine.fill(0xee);
        }
        assert.equal(got, want.lines.length);
        assert.equal(overflows, want.overflow ? 1 : 0);
        assert.equal(d.overflowed, want.overflow);
        assert.equal(d.buffered, want.tail);
      }),
      fcOptions(),
    );
  });
});
