/** Identity sources (re-exports only). See docs/identity.md "Identity sources". */
export type { X509Svid, X509Material, BundleSource, X509Source } from './types.js';
export { checkMaterial, HolderX509Source, type MaterialCheck } from './holder.js';
export { filesX509Source, certsDirSource, certsDirFiles, defaultCertsDir, loadX509Files, type X509Files, type FilesSourceOptions } from './files.js';
export { StaticX509Source } from './static.js';
