import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { FlyMeError, type FlyMeErrorCode } from '../../../src/errors.js';

/** A fresh unix:// URL in its own temp dir, plus a cleanup. */
export function tempSocket(): { url: string; path: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'flyme-rpc-'));
  const path = join(dir, 's.sock');
  return { url: `unix://${path}`, path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Assert that a promise rejects with a FlyMeError of the given code; returns the error. */
export async function rejectsWith(p: Promise<unknown>, code: FlyMeErrorCode): Promise<FlyMeError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught !== undefined, `expected rejection with ${code}, but it resolved`);
  assert.ok(caught instanceof FlyMeError, `expected FlyMeError, got ${String(caught)}`);
  assert.equal(caught.code, code, `expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

/** A logger that records calls. */
export function recordingLogger(): {
  logger: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void; debug(o: object, m?: string): void };
  warns: Array<{ obj: object; msg: string | undefined }>;
  errors: Array<{ obj: object; msg: string | undefined }>;
} {
  const warns: Array<{ obj: object; msg: string | undefined }> = [];
  const errors: Array<{ obj: object; msg: string | undefined }> = [];
  return {
    warns,
    errors,
    logger: {
      info() {},
      debug() {},
      warn(obj, msg) { warns.push({ obj, msg }); },
      error(obj, msg) { errors.push({ obj, msg }); },
    },
  };
}
