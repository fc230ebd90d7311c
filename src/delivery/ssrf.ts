import { isIP } from 'node:net'

// The SSRF guard: which addresses a webhook may never reach by default. It is
// applied to the address actually connected to (the sender's lookup), so a
// name that resolves to a private address, at registration or only later
// (DNS rebinding), is refused all the same.

/** Why an address is refused, e.g. `loopback` or `private`. */
export type BlockedRange =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'carrier-grade NAT'
  | 'unique-local'
  | 'multicast'
  | 'reserved'
  | 'documentation'

type Rule = readonly [prefix: readonly number[], bits: number, range: BlockedRange]

// Prefixes as byte arrays; `bits` of them must match.
const IPV4_RULES: readonly Rule[] = [
  [[0], 8, 'unspecified'],
  [[10], 8, 'private'],
  [[100, 64], 10, 'carrier-grade NAT'],
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'link-local'],
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'reserved'],
  [[192, 0, 2], 24, 'documentation'],
  [[192, 88, 99], 24, 'reserved'],
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'reserved'],
  [[198, 51, 100], 24, 'documentation'],
  [[203, 0, 113], 24, 'documentation'],
  [[224], 4, 'multicast'],
  [[240], 4, 'reserved'],
]

const IPV6_RULES: readonly Rule[] = [
  [[0x01, 0x00, 0, 0, 0, 0, 0, 0], 64, 'reserved'], // discard-only
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, 'reserved'], // local-use NAT64
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'documentation'],
  [[0x20, 0x01, 0x00], 23, 'reserved'], // IETF protocol assignments (Teredo, ORCHID...)
  [[0x3f, 0xff], 20, 'documentation'],
  [[0xfc], 7, 'unique-local'],
  [[0xfe, 0x80], 10, 'link-local'],
  [[0xfe, 0xc0], 10, 'private'], // deprecated site-local
  [[0xff], 8, 'multicast'],
]

function matches(bytes: Uint8Array, offset: number, prefix: readonly number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const take = Math.min(8, bits - bit)
    const mask = (0xff << (8 - take)) & 0xff
    if (((bytes[offset + bit / 8] ?? 0) & mask) !== ((prefix[bit / 8] ?? 0) & mask)) return false
  }
  return true
}

function ipv4Range(bytes: Uint8Array, offset = 0): BlockedRange | null {
  for (const [prefix, bits, range] of IPV4_RULES) if (matches(bytes, offset, prefix, bits)) return range
  return null
}

function parseIPv4(text: string): Uint8Array | null {
  const parts = text.split('.')
  if (parts.length !== 4) return null
  const bytes = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? ''
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null
    bytes[i] = Number(part)
  }
  return bytes
}

function parseIPv6(text: string): Uint8Array | null {
  let address = text.replace(/%.*$/, '') // zone id
  const bytes = new Uint8Array(16)
  // An embedded dotted quad (::ffff:1.2.3.4) fills the last four bytes.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)
  if (quad?.[1]) {
    const v4 = parseIPv4(quad[1])
    if (!v4) return null
    bytes.set(v4, 12)
    address = `${address.slice(0, -quad[1].length)}0:0`
  }
  const halves = address.split('::')
  if (halves.length > 2) return null
  const head = halves[0] ? halves[0].split(':') : []
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : []
  if (halves.length === 1 && head.length !== 8) return null
  const groups = [...head, ...new Array<string>(Math.max(0, 8 - head.length - tail.length)).fill('0'), ...tail]
  if (groups.length !== 8) return null
  for (let i = 0; i < 8; i++) {
    const group = groups[i] ?? ''
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return null
    const value = parseInt(group, 16)
    if (quad && i >= 6) continue
    bytes[i * 2] = value >> 8
    bytes[i * 2 + 1] = value & 0xff
  }
  return bytes
}

function ipv6Range(bytes: Uint8Array): BlockedRange | null {
  const zeroPrefix = (n: number) => bytes.subarray(0, n).every((b) => b === 0)
  // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, deprecated)
  // reach the embedded IPv4 address, so they are judged by it.
  if (zeroPrefix(10) && bytes[10] === 0xff && bytes[11] === 0xff) return ipv4Range(bytes, 12)
  if (zeroPrefix(15)) return bytes[15] === 1 ? 'loopback' : bytes[15] === 0 ? 'unspecified' : 'reserved'
  if (zeroPrefix(12)) return ipv4Range(bytes, 12) ?? 'reserved'
  // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address too.
  if (matches(bytes, 0, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96)) return ipv4Range(bytes, 12)
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return ipv4Range(bytes, 2)
  for (const [prefix, bits, range] of IPV6_RULES) if (matches(bytes, 0, prefix, bits)) return range
  return null
}

/**
 * The range that makes `address` (an IP address, v4 or v6, brackets allowed)
 * off limits by default, or null for a public address. A string that is not
 * an IP address gives null.
 *
 * @example
 * ```ts
 * blockedRange('169.254.169.254') // 'link-local'
 * blockedRange('::ffff:127.0.0.1') // 'loopback'
 * blockedRange('93.184.216.34')   // null
 * ```
 */
export function blockedRange(address: string): BlockedRange | null {
  const ip = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address
  const version = isIP(ip.replace(/%.*$/, ''))
  if (version === 4) {
    const bytes = parseIPv4(ip)
    return bytes ? ipv4Range(bytes) : 'reserved'
  }
  if (version === 6) {
    const bytes = parseIPv6(ip)
    return bytes ? ipv6Range(bytes) : 'reserved'
  }
  return null
}

/** Options that open the guard, for development and tests. */
export interface AddressPolicy {
  /** Allow every address (loopback, private, link-local...). Default false. */
  allowPrivateNetworks?: boolean
  /** Host names or IP addresses exempt from the guard, e.g. `['localhost', 'hooks.internal']`. */
  allowedHosts?: readonly string[]
}

function normalizeHost(host: string): string {
  let h = host.toLowerCase()
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1)
  return h.endsWith('.') ? h.slice(0, -1) : h
}

/** Whether the policy exempts `host` (a URL hostname) from the guard. */
export function isHostExempt(host: string, policy: AddressPolicy): boolean {
  if (policy.allowPrivateNetworks) return true
  const h = normalizeHost(host)
  return (policy.allowedHosts ?? []).some((allowed) => normalizeHost(allowed) === h)
}

/**
 * The range that makes a URL host refused before any lookup: a private IP
 * literal, or a `localhost` name (`loopback`). Null when the host may be
 * tried; its resolved addresses are still checked at connect time.
 */
export function literalHostRange(host: string, policy: AddressPolicy): BlockedRange | null {
  if (isHostExempt(host, policy)) return null
  const h = normalizeHost(host)
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback'
  return blockedRange(h)
}

/** Raised (and recorded on the attempt) when the guard refuses an address. */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_BLOCKED_ADDRESS'

  constructor(host: string, address: string, range: BlockedRange) {
    super(
      address === host
        ? `address ${address} is blocked (${range})`
        : `address ${address} of ${host} is blocked (${range})`,
    )
    this.name = 'BlockedAddressError'
  }
}

/** One resolved address. */
export interface ResolvedAddress {
  address: string
  family: 4 | 6
}

/** Resolves a host name to its addresses (default: `dns.lookup` with `all: true`). */
export type ResolveHost = (hostname: string) => Promise<ResolvedAddress[]>

/**
 * Resolves `hostname` and keeps only the addresses the policy allows. Throws
 * {@link BlockedAddressError} when none is left, so nothing is connected to.
 */
export async function resolveAllowed(
  hostname: string,
  policy: AddressPolicy,
  resolve: ResolveHost,
): Promise<ResolvedAddress[]> {
  const h = normalizeHost(hostname)
  const version = isIP(h)
  const addresses = version === 0 ? await resolve(h) : [{ address: h, family: version as 4 | 6 }]
  if (isHostExempt(h, policy)) return addresses
  const allowed = addresses.filter((a) => blockedRange(a.address) === null)
  if (allowed.length === 0) {
    const first = addresses[0]
    if (!first) throw new Error(`${h} resolved to no address`)
    throw new BlockedAddressError(h, first.address, blockedRange(first.address) ?? 'reserved')
  }
  return allowed
}
