/** Shared by the JWT verifier tests with a fixed clock: the epoch they count from and a FlyMeError code matcher. */
import * as assert from 'node:assert/strict';
import { FlyMeError } from '../../../src/errors.js';

export const T0 = new Date('2030-01-01T00:00:00Z');
/** T0 plus `s` seconds. */
export const at = (s: number) => new Date(T0.getTime() + s * 1000);
/** For assert.throws / assert.rejects: a FlyMeError with code `c`. */
export const code = (c: string) => (e: unknown) => {
  assert.ok(e instanceof FlyMeError, String(e));
  assert.equal(e.code, c, e.message);
  return true;
};
