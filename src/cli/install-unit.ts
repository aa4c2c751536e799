/** `flyme install-unit`: print flymed's systemd unit, or write it (atomically, 0644, never over a file without --force). */
import { Command } from '@commander-js/extra-typings';
import { flymeError } from '../errors.js';
import { writeFileAtomic } from '../files/atomic-write.js';
import { checkUnitPath, installedFlymedPath, renderUnit, UNIT_CONFIG_PATH, UNIT_PATH } from '../daemon/unit.js';

export function installUnitCommand(): Command {
  return new Command('install-unit')
    .description(`print flymed's hardened systemd unit (ExecStart: flymed --config ${UNIT_CONFIG_PATH}), or write it with --write; docs/operations.md explains it`)
    .option('--write', `write the unit file instead of printing it (then: systemctl daemon-reload && systemctl enable --now flymed)`)
    .option('--path <file>', 'where --write puts the unit', UNIT_PATH)
    .option('--force', 'with --write: replace an existing unit file')
    .option('--exec <path>', 'absolute path of the flymed to run (default: the flymed of this installation)')
    .option('--node <path>', 'absolute path of the node binary that runs it (default: the node running this command)')
    .action(async (o) => {
      const paths = { node: o.node ?? process.execPath, flymed: o.exec ?? installedFlymedPath() };
      for (const [what, p] of [['--node', paths.node], ['--exec', paths.flymed]] as const) {
        const bad = checkUnitPath(what, p);
        if (bad) throw flymeError('FLYME_INVALID_CONFIG', bad, { option: what });
      }
      const unit = renderUnit(paths);
      if (!o.write) {
        if (o.force || o.path !== UNIT_PATH) throw flymeError('FLYME_INVALID_CONFIG', '--path and --force apply to --write only');
        process.stdout.write(unit);
        return;
      }
      await writeFileAtomic(o.path, unit, { mode: 0o644, overwrite: o.force === true, dirMode: 0o755 });
      process.stdout.write(`wrote ${o.path}; now: systemctl daemon-reload && systemctl enable --now flymed (settings in ${UNIT_CONFIG_PATH})\n`);
    });
}
