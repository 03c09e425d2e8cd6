import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** What kind of address a webhook URL points at; only `public` is allowed by default. */
export type AddressKind = 'public' | 'private' | 'loopback' | 'link-local' | 'unique-local' | 'metadata' | 'unspecified' | 'reserved';

/** Whether an address kind may receive webhooks. Metadata, unspecified and reserved never may. */
export function kindAllowed(kind: AddressKind, allowPrivateTargets: boolean): boolean {
  if (kind === 'public') return true;
  if (kind === 'private' || kind === 'loopback' || kind === 'link-local' || kind === 'unique-local') return allowPrivateTargets;
  return false;
}

// Cloud metadata endpoints: AWS/GCP/Azure (169.254.169.254), ECS task metadata (169.254.170.2), AWS IPv6.
const METADATA = ['169.254.169.254', '169.254.170.2', 'fd00:ec2::254'].map((a) => ipaddr.parse(a).toNormalizedString());

// The documentation ranges (RFC 5737, RFC 3849) are routed nowhere, so allowing them reaches nothing;
// tests and docs use them as the stand-in for "some public host".
const DOCUMENTATION = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'].map((c) => ipaddr.parseCIDR(c));

const V4_KINDS: Partial<Record<string, AddressKind>> = {
  unicast: 'public',
  private: 'private',
  carrierGradeNat: 'private',
  loopback: 'loopback',
  linkLocal: 'link-local',
  unspecified: 'unspecified',
};
const V6_KINDS: Partial<Record<string, AddressKind>> = {
  unicast: 'public',
  loopback: 'loopback',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  unspecified: 'unspecified',
};

/**
 * The IPv4 address an IPv6 address carries, and whether that embedding reaches the IPv4 host
 * (IPv4-mapped `::ffff:a.b.c.d` and NAT64 `64:ff9b::/96` do; the SIIT, IPv4-compatible `::a.b.c.d`
 * and 6to4 `2002::/16` forms are tunnels or deprecated, so a public address in them is still refused).
 */
function embeddedIPv4(ip: ipaddr.IPv6): { v4: ipaddr.IPv4; reachesHost: boolean } | null {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  switch (ip.range()) {
    case 'ipv4Mapped':
      return { v4: ip.toIPv4Address(), reachesHost: true };
    case 'rfc6145':
      return { v4: v4(p[6]!, p[7]!), reachesHost: false };
    case 'rfc6052':
      return { v4: v4(p[6]!, p[7]!), reachesHost: p[2] === 0 };
    case '6to4':
      return { v4: v4(p[1]!, p[2]!), reachesHost: false };
    default:
      // IPv4-compatible (::/96, deprecated by RFC 4291) other than :: and ::1; `ipaddr.js` calls it unicast.
      if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return { v4: v4(p[6]!, p[7]!), reachesHost: false };
      return null;
  }
}

function classifyParsed(ip: ipaddr.IPv4 | ipaddr.IPv6): AddressKind {
  if (METADATA.includes(ip.toNormalizedString())) return 'metadata';
  if (DOCUMENTATION.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits))) return 'public';
  if (ip.kind() === 'ipv4') return V4_KINDS[ip.range()] ?? 'reserved';
  const v6 = ip as ipaddr.IPv6;
  const embedded = embeddedIPv4(v6);
  if (embedded) {
    const kind = classifyParsed(embedded.v4);
    return kind === 'public' && !embedded.reachesHost ? 'reserved' : kind;
  }
  return V6_KINDS[v6.range()] ?? 'reserved';
}

/**
 * Classifies an IP address. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4,
 * SIIT) count as that IPv4 address, so `[::ffff:7f00:1]` is loopback and `[64:ff9b::a9fe:a9fe]` is
 * metadata. Anything that is not an address, and every special-purpose range not named here
 * (multicast, broadcast, benchmarking, Teredo, …), is `reserved`.
 */
export function classifyAddress(address: string): AddressKind {
  const text = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  // Only the strict forms: `ipaddr.parse` also accepts "0x7f.1" and friends, which `new URL` has already normalised.
  if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !ipaddr.IPv6.isValid(text)) return 'reserved';
  return classifyParsed(ipaddr.parse(text));
}

export type LookupAll = (host: string) => Promise<{ address: string; family: number }[]>;
const lookupAll: LookupAll = (host) => dnsLookup(host, { all: true, verbatim: true });

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * Whether a webhook may be sent to `raw`: an http(s) URL without credentials whose host resolves
 * only to allowed addresses (every address, so a host cannot hide a private one among public ones).
 * Called when a webhook is created, and again at send time (see `transport.ts`) against DNS rebinding.
 */
export async function checkWebhookUrl(raw: string, options: { allowPrivateTargets: boolean; lookup?: LookupAll }): Promise<UrlCheck> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'must be an absolute URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: 'must be an http or https URL' };
  if (url.username || url.password) return { ok: false, reason: 'must not contain credentials' };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await (options.lookup ?? lookupAll)(host)).map((a) => a.address);
    } catch {
      return { ok: false, reason: `host ${host} does not resolve` };
    }
    if (addresses.length === 0) return { ok: false, reason: `host ${host} does not resolve` };
  }
  for (const a of addresses) {
    const kind = classifyAddress(a);
    if (!kindAllowed(kind, options.allowPrivateTargets)) {
      return { ok: false, reason: `resolves to a ${kind} address (${a}), which is not allowed` };
    }
  }
  return { ok: true, url };
}
