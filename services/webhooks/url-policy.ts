import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** What kind of address a webhook URL points at; only `public` is allowed by default. */
export type AddressKind = 'public' | 'private' | 'loopback' | 'link-local' | 'unique-local' | 'metadata' | 'unspecified' | 'reserved';

/** Whether an address kind may receive webhooks. Metadata, unspecified and reserved never may. */
export function kindAllowed(kind: AddressKind, allowPrivateTargets: boolean): boolean {
  if (kind === 'public') return true;
  if (kind === 'private' || kind === 'loopback' || kind === 'link-local' || kind === 'unique-local') return allowPrivateTargets;
  return false;
}

const RANGES: [AddressKind, string, number, 'ipv4' | 'ipv6'][] = [
  // Most specific first: the metadata addresses sit inside link-local ranges.
  ['metadata', '169.254.169.254', 32, 'ipv4'],
  ['metadata', '169.254.170.2', 32, 'ipv4'],
  ['metadata', 'fd00:ec2::254', 128, 'ipv6'],
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['loopback', '::1', 128, 'ipv6'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['unique-local', 'fc00::', 7, 'ipv6'],
  ['reserved', '224.0.0.0', 3, 'ipv4'],
  ['reserved', 'ff00::', 8, 'ipv6'],
];
const LISTS = RANGES.map(([kind, net, prefix, family]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return { kind, list, family };
});

/** Classifies an IP address (IPv4-mapped IPv6 addresses count as their IPv4 address). */
export function classifyAddress(address: string): AddressKind {
  let ip = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1]!;
  const family = isIP(ip);
  if (family === 0) return 'reserved';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const r of LISTS) if (r.family === type && r.list.check(ip, type)) return r.kind;
  return 'public';
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
