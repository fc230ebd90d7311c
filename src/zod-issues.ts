import type { z } from 'zod'
import type { ValidationIssue } from './errors.js'

/**
 * Turns zod's issues into ours: a dotted path under `root` (`payload.input`,
 * `events[2]`, `headers.X-Team`) and a message. A missing field reads "is
 * required"; an unknown key is reported at its own path.
 */
export function collectIssues(root: string, input: unknown, error: z.ZodError | undefined): ValidationIssue[] {
  if (!error) return []
  const issues: ValidationIssue[] = []
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) issues.push({ path: formatPath(root, [...issue.path, key]), message: 'is not a known field' })
      continue
    }
    const missing = issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined
    issues.push({ path: formatPath(root, issue.path), message: missing ? 'is required' : issue.message })
  }
  return issues
}

function formatPath(root: string, path: readonly PropertyKey[]): string {
  let out = root
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`
    else out += out === '' ? String(key) : `.${String(key)}`
  }
  return out
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}
