/** `flyme agent`: a SPIFFE Workload API for this host (docs/workload-identity.md). */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command } from '@commander-js/extra-typings';
import { pino } from 'pino';
import { AuditLog } from '../audit/log.js';
import { runAgent } from '../spiffe/agent/run.js';
import { limitSecurityEvents } from '../auth/events.js';
import { coalesceSecurityEvents } from '../auth/coalesce-events.js';
import { ANONYMOUS_NOISE, defaultCaSocket } from './ca.js';
import { onStdoutClosed } from './stdout.js';
import { onStopSignals } from './signals.js';

const root = () => process.getuid?.() === 0;
export const DEFAULT_AGENT_SOCKET = 'unix:///run/flyme/agent.sock';
const defaultAgentDir = () => (root() ? '/var/lib/flyme/agent' : join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'flyme', 'agent'));

export function agentCommand(): Command {
  return new Command('agent')
    .description('serve the SPIFFE Workload API: attest local callers by kernel credentials, hand out their X.509- and JWT-SVIDs (prints SPIFFE_ENDPOINT_SOCKET)')
    .option('--socket <url>', 'Workload API socket (mode 0666; callers are attested, not trusted)', DEFAULT_AGENT_SOCKET)
    .option('--ca <where>', 'local (a CA in this process) or the CA service: tls://host:port, unix+tls:///path', 'local')
    .option('--data-dir <dir>', 'agent state: its SVID (remote CA) or the local CA', defaultAgentDir())
    .option('--join-token <token>', 'first start with a remote CA: the single-use token from flyme ca join-token')
    .option('--trust-bundle <file>', 'first start with a remote CA: its root certificate (root-ca.pem)')
    .option('--trust-domain <td>', '--ca local: create the CA for this trust domain on first start')
    .option('--agent-id <spiffe-id>', '--ca local: this agent\'s ID, the parent of its entries (default spiffe://TD/agent/local)')
    .option('--ca-socket <url>', '--ca local: the CA admin socket for flyme ca join-token/entry', defaultCaSocket())
    .option('--audit-log <file>', 'signed audit log (default DATA_DIR/audit.log)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug', 'info')
    .action(async (o) => {
      const log = pino({ name: 'flyme-agent', level: o.logLevel, base: { pid: process.pid } }, pino.destination({ dest: 2, sync: true }));
      const auditPath = o.auditLog ?? join(o.dataDir, 'audit.log');
      const audit = await AuditLog.open({ path: auditPath, keyPath: join(o.dataDir, 'audit-key.pem') });
      const running = await runAgent({
        socket: o.socket, ca: o.ca, dataDir: o.dataDir,
        ...(o.joinToken ? { joinToken: o.joinToken } : {}), ...(o.trustBundle ? { trustBundlePath: o.trustBundle } : {}),
        ...(o.trustDomain ? { trustDomain: o.trustDomain } : {}), ...(o.agentId ? { agentId: o.agentId } : {}),
        ...(o.ca === 'local' ? { caAdminSocket: o.caSocket } : {}),
        events: coalesceSecurityEvents(limitSecurityEvents(audit, ANONYMOUS_NOISE)), warn: (m) => log.warn({ event: 'agent_warning' }, m),
      }).catch(async (e: Error) => { await audit.close(); throw e; });
      // Nobody may be reading stdout any more: that must never stop the Workload API.
      onStdoutClosed(() => log.warn({ event: 'stdout_closed' }, 'stdout is closed; the SPIFFE_ENDPOINT_SOCKET line was not printed'));
      // The stop handlers are in place before the ready line: a SIGTERM sent the moment it appears must find them.
      onStopSignals('flyme agent', async () => { await running.close(); await audit.close(); });
      process.stdout.write(`SPIFFE_ENDPOINT_SOCKET=${running.endpoint}\n`);
      log.info({ socket: running.endpoint, agentId: running.agentId, ca: o.ca, ...(o.ca === 'local' ? { caSocket: o.caSocket } : {}) }, 'flyme agent ready');
    });
}
