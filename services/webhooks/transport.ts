import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { classifyAddress, kindAllowed } from './url-policy.ts';

/** One callback to send. */
export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

/** How a callback is sent: resolves with the receiver's HTTP status, rejects when there was none. */
export type WebhookTransport = (request: WebhookRequest) => Promise<{ status: number }>;

/** Thrown when the target address is not allowed (the URL now resolves somewhere it may not go). */
export class BlockedAddressError extends Error {
  constructor(readonly address: string) {
    super(`refused to connect to ${address}: ${classifyAddress(address)} address`);
    this.name = 'BlockedAddressError';
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The HTTP transport. Every attempt (first send and each retry) checks the target three times:
 * a literal IP before connecting; a host name inside the socket's own DNS lookup, so a host that
 * re-resolves to a private address after the webhook was created (DNS rebinding) is refused before
 * any packet goes to it; and the socket's remote address once connected, before the request is
 * written, so nothing is sent to an address the policy refuses whatever resolved it. Redirects are
 * not followed (a 3xx is the receiver's answer); the answer's body is read and dropped.
 */
export function httpTransport(policy: { allowPrivateTargets: boolean }): WebhookTransport {
  const checkedLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as LookupAddress[];
      const blocked = list.find((a) => !kindAllowed(classifyAddress(a.address), policy.allowPrivateTargets));
      if (blocked) return callback(new BlockedAddressError(blocked.address), '');
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
      callback(null, first.address, first.family);
    });
  };

  return (req) =>
    new Promise((resolve, reject) => {
      const url = new URL(req.url);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      // A literal IP skips the lookup, so check it here.
      if (isIP(host) && !kindAllowed(classifyAddress(host), policy.allowPrivateTargets)) {
        return reject(new BlockedAddressError(host));
      }
      const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : null;
      if (!send) return reject(new Error(`unsupported protocol ${url.protocol}`));
      const r = send(
        url,
        {
          method: 'POST',
          headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
          lookup: checkedLookup as never,
          agent: false,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0 });
          });
          res.on('error', (err) => {
            clearTimeout(timer);
            reject(err);
          });
        },
      );
      const timer = setTimeout(() => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
      r.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      r.once('socket', (socket) => {
        const verify = () => {
          const address = socket.remoteAddress;
          if (!address || !kindAllowed(classifyAddress(address), policy.allowPrivateTargets)) r.destroy(new BlockedAddressError(address ?? 'an unknown address'));
          else r.end(req.body);
        };
        if (socket.connecting) socket.once('connect', verify);
        else verify();
      });
    });
}
