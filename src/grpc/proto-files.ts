/**
 * The `.proto` files FlyMe ships (package `proto/`), loaded with @grpc/proto-loader: snake_case field names
 * as on the wire, int64 as numbers, bytes as Buffers, defaults filled in. The same package definition feeds
 * gRPC server reflection.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

/** Absolute path of a file under the package's `proto/` directory (from dist/src/grpc). */
export function protoPath(name: string): string {
  return fileURLToPath(new URL(`../../../proto/${name}`, import.meta.url));
}

const loaded = new Map<string, PackageDefinition>();

/** Loads `proto/<name>` once per process. */
export function loadProto(name: string): PackageDefinition {
  let def = loaded.get(name);
  if (!def) {
    def = loadSync(protoPath(name), { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [protoPath('')] });
    loaded.set(name, def);
  }
  return def;
}

/** The service definition of `fullName` (e.g. `flyme.ca.v1.AgentCA`, or `SpiffeWorkloadAPI`) in `proto/<name>`. */
export function serviceOf(name: string, fullName: string): grpc.ServiceClientConstructor {
  const root = grpc.loadPackageDefinition(loadProto(name)) as unknown as Record<string, unknown>;
  let node: unknown = root;
  for (const part of fullName.split('.')) node = (node as Record<string, unknown>)[part];
  if (typeof node !== 'function') throw new TypeError(`no service ${fullName} in ${name}`);
  return node as grpc.ServiceClientConstructor;
}
