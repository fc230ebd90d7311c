import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerCleanup } from './harness.js'

/** A fresh database path in a temp dir removed after the test. */
export function tempDatabase(name = 'webhooks.db'): string {
  const dir = mkdtempSync(join(tmpdir(), 'agno-sqlite-'))
  registerCleanup(async () => rmSync(dir, { recursive: true, force: true }))
  return join(dir, name)
}
