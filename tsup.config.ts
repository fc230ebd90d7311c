import { defineConfig, type Options } from 'tsup'

const shared: Options = {
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  target: 'node20',
  // Keep `node:crypto` spelled as written: the verify entry promises to need
  // nothing but Node's own modules, and the prefix makes that unambiguous.
  removeNodeProtocol: false,
}

export default defineConfig([
  // The host-side entries share chunks, so no class or module state is
  // duplicated between them (the http entry's routes check `instanceof` against
  // the dispatcher's errors). Only the sqlite entry imports better-sqlite3, only
  // the postgres entry imports pg.
  { ...shared, entry: { index: 'src/index.ts', sqlite: 'src/store/sqlite.ts', postgres: 'src/store/postgres.ts', http: 'src/http/index.ts' }, splitting: true },
  // The consumer-side entry is self-contained: the built file imports only
  // node:crypto, never a chunk that could drag in zod or eventemitter3.
  { ...shared, entry: { verify: 'src/signing/verify.ts' }, splitting: false },
])
