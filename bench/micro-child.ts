/**
 * `node micro-child.js MS`: bench/micro.ts's in-process rates in a child process, one JSON line on stdout. The
 * runner starts one per round, pinned to CPU 1 (with `--before REV`, today's and the old build's alternate).
 */
import { micro } from './micro.js';

process.stdout.write(JSON.stringify(await micro(Number(process.argv[2]))) + '\n');
