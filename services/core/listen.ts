import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLimitedServer, type HttpLimits } from './http-limits.ts';

/**
 * Listens and resolves with the server and its actual port (port 0 picks a free one). Servers
 * that face the internet pass `limits` (timeouts, keep-alive, connection cap).
 */
export function listen(app: RequestListener, host: string, port: number, limits?: HttpLimits): Promise<{ server: Server; port: number; url: string }> {
  return new Promise((resolve, reject) => {
    const server = (limits ? createLimitedServer(app, limits) : createServer(app)).listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      const actual = (server.address() as AddressInfo).port;
      resolve({ server, port: actual, url: `http://${host}:${actual}` });
    });
  });
}

/** Closes a server, ending idle keep-alive connections so it does not linger. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  });
}
