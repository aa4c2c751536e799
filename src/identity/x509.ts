/**
 * The one place that loads `@peculiar/x509`. Every identity module that touches certificates imports
 * `x509` from here, never from the package directly: v2 of the library needs `reflect-metadata` to be
 * evaluated before it (ESM evaluates imports in order), and it must use Node's WebCrypto.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
/** A parsed X.509 certificate (from `@peculiar/x509`). */
export type X509Certificate = x509.X509Certificate;
