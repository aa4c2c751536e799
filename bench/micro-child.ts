/**
 * `node micro-child.js MS`: bench/micro.ts's in-process rates in a child process, one JSON line on stdout. The
 * runner uses it with `--before REV`, where today's and the old build's micro benchmarks alternate, each in its
 * own pinned process.
 */
import { micro } from './micro.js';

process.stdout.write(JSON.stringify(await micro(Number(process.argv[2]))) + '\n');
