import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { registerCleanup } from './harness.js'

export const ROOT = join(import.meta.dirname, '..', '..')

/** A TypeScript file run with tsx in a child process, its output collected. */
export interface Child {
  process: ChildProcess
  /** stdout so far. */
  output(): string
  /** Resolves with the first stdout match of `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  /** Resolves with the exit code (signal: null). */
  exited: Promise<number | null>
}

export function runTs(file: string, args: string[] = [], env: Record<string, string> = {}): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, file), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  registerCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  return {
    process: child,
    output: () => stdout,
    exited,
    async waitFor(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const match = stdout.match(pattern)
        if (match) return match
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`${file}: no ${pattern} in output (exit ${child.exitCode})\nstdout:\n${stdout}\nstderr:\n${stderr}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
  }
}
