/**
 * `flyme token keygen | issue | verify`: key files, signed tokens, and the exact reason a
 * token is refused. Thin wrappers over src/auth/jwt.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { Command, Option } from '@commander-js/extra-typings';
import { FlyMeError, flymeError } from '../errors.js';
import {
  JwksFileSource,
  TokenIssuer,
  TokenVerifier,
  checkAlgorithms,
  generateSigningKey,
  readJsonFile,
  writeKeyFiles,
  type JwtAlgorithm,
} from '../auth/jwt/index.js';
import { firstCertificateDer } from '../auth/thumbprint.js';
import { parseDurationSeconds } from '../duration.js';

/** Where the token commands write (tests capture it). */
export interface TokenCliIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: TokenCliIo = {
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
};

/**
 * The `token` command group. On a FlyMeError it prints `flyme: <message>` to stderr and sets
 * `process.exitCode = 1`.
 *
 * @example
 * program.addCommand(tokenCommand())
 * // flyme token keygen --alg ES256 --kid k1 --out ./keys
 * // flyme token issue --key ./keys/k1.private.jwk.json --sub billing --aud flymed --roles reader --ttl 15m
 * // flyme token verify "$TOKEN" --jwks ./keys/jwks.json --aud flymed --json
 */
/** `json()` reads flyme's global --json (which commander gives the program even after the subcommand). */
export function tokenCommand(io: TokenCliIo = processIo, json: () => boolean = () => false): Command {
  const token = new Command('token').description('create signing keys, issue and verify FlyMe tokens (JWT)');

  token
    .command('keygen')
    .description('generate a signing key: DIR/<kid>.private.jwk.json (0600) and merge its public key into DIR/jwks.json')
    .addOption(new Option('--alg <alg>', 'algorithm').choices(['ES256', 'EdDSA', 'HS256'] as const).default('ES256' as const))
    .requiredOption('--kid <id>', 'key id (1-128 chars of A-Z a-z 0-9 _ . -)')
    .requiredOption('--out <dir>', 'output directory (created 0700 if missing)')
    .option('--force', 'overwrite an existing key file or kid', false)
    .action((opts) =>
      run(io, async () => {
        await mkdir(opts.out, { recursive: true, mode: 0o700 });
        const key = await generateSigningKey(opts.alg, opts.kid);
        const written = await writeKeyFiles(opts.out, key, { force: opts.force });
        io.out(`private key: ${written.privateKeyPath}\n`);
        if (written.jwksPath) io.out(`public JWKS: ${written.jwksPath}\n`);
      }),
    );

  token
    .command('issue')
    .description('print a signed compact JWT')
    .requiredOption('--key <file>', 'private (or HS256 secret) JWK file')
    .option('--iss <iss>', 'issuer', 'flyme')
    .requiredOption('--sub <sub>', 'subject (the service)')
    .requiredOption('--aud <aud>', 'audience (comma-separated for several)')
    .option('--roles <roles>', 'comma-separated roles to claim', '')
    .option('--ttl <duration>', 'lifetime: a number with a unit (s, m, h), e.g. 30s, 15m, 1h (at most 1h)', '15m')
    .option('--bind-cert <pem>', 'bind the token to this client certificate (RFC 8705 x5t#S256)')
    .option('--one-time', 'the token can be used once', false)
    .action((opts) =>
      run(io, async () => {
        const issuer = await TokenIssuer.create({ key: await readJsonFile(opts.key), issuer: opts.iss });
        const aud = splitList(opts.aud);
        const jwt = await issuer.issue({
          sub: opts.sub,
          aud: aud.length === 1 ? (aud[0] as string) : aud,
          roles: splitList(opts.roles),
          ttlSeconds: parseDurationSeconds(opts.ttl, { name: '--ttl' }),
          oneTime: opts.oneTime,
          ...(opts.bindCert ? { bindCertDer: firstCertificateDer(await readText(opts.bindCert)) } : {}),
        });
        io.out(`${jwt}\n`);
      }),
    );

  token
    .command('verify')
    .description('verify a token ("-" reads it from stdin); print its claims or why it is refused (exit 1)')
    .argument('<token>', 'compact JWT, or - for stdin')
    .requiredOption('--jwks <file>', 'JWKS file (or an HS256 secret JWK with --alg HS256)')
    .requiredOption('--aud <aud>', 'expected audience')
    .option('--iss <iss>', 'trusted issuer (any issuer when omitted)')
    .option('--alg <list>', 'allowed algorithms', 'ES256,EdDSA')
    .option('--cert <pem>', 'client certificate presented with the token (for bound tokens)')
    .option('--json', 'print JSON', false)
    .action((tokenArg, opts) =>
      run(io, async () => {
        try {
          await verify(tokenArg, opts);
        } catch (e) {
          // docs/tokens.md: a refusal in JSON is {"valid":false,"code":…} on stdout (and the exit code is 1).
          if ((opts.json || json()) && e instanceof FlyMeError) io.out(`${JSON.stringify({ valid: false, code: e.code, message: e.message, ...e.data })}\n`);
          throw e;
        }
      }),
    );

  async function verify(tokenArg: string, opts: { jwks: string; aud: string; iss?: string; alg: string; cert?: string; json: boolean }): Promise<void> {
    const algorithms = checkAlgorithms(splitList(opts.alg)) as JwtAlgorithm[];
    const jwt = (tokenArg === '-' ? await readStdin() : tokenArg).trim();
    const source = await JwksFileSource.open(opts.jwks, { algorithms, pollIntervalMs: 0 });
    try {
      const verifier = new TokenVerifier({ keys: source, audience: opts.aud, algorithms, ...(opts.iss ? { issuer: opts.iss } : {}) });
      const clientCertDer = opts.cert ? firstCertificateDer(await readText(opts.cert)) : undefined;
      const result = await verifier.verify(jwt, clientCertDer ? { clientCertDer } : {});
      if (opts.json || json()) {
        io.out(`${JSON.stringify({ valid: true, header: { alg: result.alg, kid: result.kid }, claims: result.claims }, null, 2)}\n`);
      } else {
        const id = result.identity;
        io.out(
          `valid token (alg ${result.alg}, kid ${result.kid})\n` +
            `iss: ${id.iss}\nsub: ${id.sub}\naud: ${id.aud.join(', ')}\nroles: ${id.claimedRoles.join(', ')}\n` +
            `jti: ${id.jti}\nexpires: ${new Date(id.exp * 1000).toISOString()}\n` +
            `one-time: ${result.oneTime}\ncertificate-bound: ${result.certThumbprint !== undefined}\n`,
        );
      }
    } finally {
      source.close();
    }
  }

  return token;
}

async function run(io: TokenCliIo, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (!(err instanceof FlyMeError)) throw err;
    io.err(`flyme: ${err.message}\n`);
    process.exitCode = 1;
  }
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw flymeError('FLYME_INVALID_CONFIG', `cannot read ${path}`, { path }, cause);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > 65536) throw flymeError('FLYME_TOKEN_INVALID', 'the token on stdin is longer than 64 KiB');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
