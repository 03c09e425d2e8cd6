import { createServer, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Config } from './config.ts';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';

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
  server.on('clientError', answerClientError);
  return server;
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/**
 * A request Node refused before any route saw it (a URL or headers over Node's 16 KiB, a request
 * that timed out, bytes that are not HTTP) still gets a problem+json answer, as every other
 * refusal does; Node's own answer has no body.
 */
function answerClientError(err: Error & { code?: string }, socket: Duplex) {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const [status, title] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'Bad Request'];
  const detail = status === 431 ? 'the URL or the headers are too large (at most 16 KiB together)' : status === 408 ? 'the request took too long to arrive' : 'the request is not valid HTTP';
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  socket.end(`HTTP/1.1 ${status} ${title}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
