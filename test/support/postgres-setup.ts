import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'

// Global setup: the PostgreSQL tests use AGNO_PG_URL when it is set (an
// existing server), and otherwise start the throwaway server of
// scripts/postgres.sh (installing Debian's package first on a fresh
// machine). If neither works they are skipped with a note, unless
// AGNO_PG_REQUIRED=1 (as in .ci/run), which makes that a failure.
declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string | null
  }
}

export default function setup(project: TestProject): void {
  let url = process.env.AGNO_PG_URL ?? null
  if (!url) {
    try {
      url = execFileSync('bash', [join(import.meta.dirname, '..', '..', 'scripts', 'postgres.sh')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 300_000,
      }).trim()
    } catch (error) {
      if (process.env.AGNO_PG_REQUIRED === '1') throw error
      console.warn(`PostgreSQL tests skipped: no AGNO_PG_URL and scripts/postgres.sh failed (${String(error).split('\n')[0]})`)
    }
  }
  project.provide('postgresUrl', url)
}
