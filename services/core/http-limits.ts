import { createServer, type RequestListener, type Server } from 'node:http';
import type { Config } from './config.ts';

/** Time and connection limits of a server that faces the internet (see docs/api.md, "Limits"). */
export interface HttpLimits {
  /** A client that has not sent every header by then gets 408 and loses the connection. */
  headersTimeoutMs: number;
  /** The same for the whole request, body included. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Requests one connection may carry (0: no limit). */
  maxRequestsPerSocket: number;
  /** Connections held at once; the server drops further ones as they arrive. */
  maxConnections: number;
}

/** The limits from the config (HTTP_* settings). */
export function httpLimits(config: Config): HttpLimits {
  return {
    headersTimeoutMs: config.httpHeadersTimeoutMs,
    requestTimeoutMs: config.httpRequestTimeoutMs,
    keepAliveTimeoutMs: config.httpKeepAliveTimeoutMs,
    maxRequestsPerSocket: config.httpMaxRequestsPerSocket,
    maxConnections: config.httpMaxConnections,
  };
}

/**
 * An HTTP server for `handler` with `limits` applied, so a slow client (headers or body a byte at
 * a time) or a flood of idle connections cannot hold the process's sockets and memory.
 */
export function createLimitedServer(handler: RequestListener, limits: HttpLimits): Server {
  // Node checks the header and request timeouts on this interval (30 s by default, which would
  // let a slow client hold a connection far past a shorter timeout).
  const checkEveryMs = Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4)));
  const server = createServer(
    {
      // Node requires headersTimeout ≤ requestTimeout.
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: checkEveryMs,
    },
    handler,
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.maxConnections = limits.maxConnections;
  return server;
}
