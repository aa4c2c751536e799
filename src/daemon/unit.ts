/**
 * The systemd unit of flymed, from one place: `flyme install-unit` prints or writes it, docs/flymed.service
 * is this text rendered with the default paths (test/unit/daemon/unit.test.ts keeps them equal), and
 * docs/operations.md explains the sandbox, its `systemd-analyze security` score and every relaxed setting.
 */
import { fileURLToPath } from 'node:url';

/** Where `flymed --config` is read from under systemd. */
export const UNIT_CONFIG_PATH = '/etc/flyme/flymed.yaml';
/** Where `flyme install-unit --write` puts the unit by default. */
export const UNIT_PATH = '/etc/systemd/system/flymed.service';
/** The paths docs/flymed.service is rendered with: Debian's node and an `npm install -g` (prefix /usr). */
export const DOCS_UNIT_PATHS = { node: '/usr/bin/node', flymed: '/usr/lib/node_modules/flyme/dist/src/daemon/flymed.js' } as const;

export interface UnitPaths {
  /** Absolute path of the node binary that runs flymed (systemd's PATH need not contain it). */
  node: string;
  /** Absolute path of flymed (dist/src/daemon/flymed.js of the installed package). */
  flymed: string;
}

/** The flymed of this package (the file beside this module once built). */
export function installedFlymedPath(): string {
  return fileURLToPath(new URL('./flymed.js', import.meta.url));
}

/** systemd splits ExecStart on spaces and treats `%`, `$`, `\`, quotes specially: such paths are refused, not escaped. */
export function checkUnitPath(what: string, path: string): string | undefined {
  if (!path.startsWith('/')) return `${what} must be an absolute path (got "${path}")`;
  if (/[\s%$\\"';]/.test(path) || /[\u0000-\u001f\u007f]/.test(path)) return `${what} "${path}" contains a character a unit's ExecStart cannot hold (space, %, $, \\, quote, ;, control)`;
  return undefined;
}

export function renderUnit(paths: UnitPaths): string {
  for (const [what, p] of [['--node', paths.node], ['--exec', paths.flymed]] as const) {
    const bad = checkUnitPath(what, p);
    if (bad) throw new TypeError(bad);
  }
  return `# flymed: the FlyMe daemon as a hardened systemd service.
# Rendered by \`flyme install-unit\`; docs/operations.md explains each setting and the
# \`systemd-analyze security\` score. Settings: ${UNIT_CONFIG_PATH} (flymed --config); reload with
# \`systemctl reload flymed\` (SIGHUP: config, policy and TLS credentials are re-read).
[Unit]
Description=FlyMe daemon (scoped JSON-RPC over Unix sockets and mutual TLS)
After=network.target

[Service]
Type=simple
ExecStart=${paths.node} ${paths.flymed} --config ${UNIT_CONFIG_PATH}
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2s
# SIGTERM lets in-flight requests finish (shutdown-grace) before flymed exits.
TimeoutStopSec=30s

# Runs as root: it reads any peer's kernel credentials and lists directories with root's rights.
# /run/flyme (sockets) and /var/lib/flyme (audit log, audit key, kill-switch state) are the only
# writable paths: ProtectSystem=strict makes everything else read-only, /etc/flyme included.
RuntimeDirectory=flyme
RuntimeDirectoryMode=0750
StateDirectory=flyme
StateDirectoryMode=0700
# New files are private; flymed chmods its sockets to socket-mode (0660) explicitly after bind.
UMask=0077

# Capabilities: only
#   CAP_DAC_READ_SEARCH  the \`list\` method reads directories root may read (e.g. /home/alice 0700)
#   CAP_CHOWN            socket-group: chown of the socket files to a group the daemon is not in
# Not: CAP_DAC_OVERRIDE (its files are root's), CAP_KILL (liveness checks treat EPERM as alive),
# CAP_SYS_PTRACE (/proc/PID/exe of other users' peers is then not shown; never used to authorize),
# CAP_NET_BIND_SERVICE (add it for a tls:// listener on a port below 1024).
CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_CHOWN
AmbientCapabilities=
NoNewPrivileges=yes

ProtectSystem=strict
ProtectHome=read-only
PrivateTmp=yes
PrivateMounts=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
# unix:// and unix+tls:// listeners, tcp:// (loopback) and tls:// listeners; nothing else.
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
SystemCallArchitectures=native
SystemCallFilter=@system-service
# A call outside the filter fails with EPERM instead of killing the daemon (libuv and V8 probe for some).
SystemCallErrorNumber=EPERM
# Not set: MemoryDenyWriteExecute (V8's JIT writes machine code and makes it executable: node aborts),
# ProtectProc=invisible (hides peers' /proc/PID/stat, which pins the peer process), PrivateNetwork and
# IPAddressDeny (tls:// listeners serve other hosts), PrivateUsers (capabilities would not apply to
# host files). docs/operations.md lists every exposure that systemd-analyze security reports.

[Install]
WantedBy=multi-user.target
`;
}
