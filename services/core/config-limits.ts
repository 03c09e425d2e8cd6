import { z } from 'zod';

/**
 * How connectors call providers: the call timeout, the circuit breaker, retries with backoff,
 * the providers' pacing and sends left in doubt. Part of `configFields` in config.ts.
 */
export const providerCallFields = {
  /** Provider call timeout. @default 10000 */
  providerTimeoutMs: z.coerce.number().int().min(10).default(10000).describe('PROVIDER_TIMEOUT_MS'),
  /** Share of failed provider calls (percent) in the window that opens a breaker. @default 50 */
  breakerErrorPercent: z.coerce.number().min(1).max(100).default(50).describe('BREAKER_ERROR_PERCENT'),
  /** Provider calls in the window before a breaker may open. @default 5 */
  breakerVolumeThreshold: z.coerce.number().int().min(1).default(5).describe('BREAKER_VOLUME_THRESHOLD'),
  /** How long an open breaker waits before letting one probe through. @default 5000 */
  breakerResetMs: z.coerce.number().int().min(100).default(5000).describe('BREAKER_RESET_MS'),
  /** The breaker's rolling window. @default 10000 */
  breakerWindowMs: z.coerce.number().int().min(1000).default(10000).describe('BREAKER_WINDOW_MS'),
  /** First retry delay of a retriable provider failure. @default 200 */
  retryBaseMs: z.coerce.number().int().min(1).default(200).describe('RETRY_BASE_MS'),
  /** Longest retry delay. @default 5000 */
  retryMaxMs: z.coerce.number().int().min(1).default(5000).describe('RETRY_MAX_MS'),
  /** How long a delivery may wait for its provider before it is FAILED (store-and-forward bound). @default 14400000 (4 h) */
  maxDeliveryAgeMs: z.coerce.number().int().min(1).default(4 * 3600 * 1000).describe('MAX_DELIVERY_AGE_MS'),
  /** WhatsApp messages per second per sender number. @default 80 */
  whatsappRatePerSender: z.coerce.number().min(0).default(80).describe('WHATSAPP_RATE_PER_SENDER'),
  /** Instagram text calls per second per account. @default 300 */
  instagramTextRate: z.coerce.number().min(0).default(300).describe('INSTAGRAM_TEXT_RATE'),
  /** Instagram media calls per second per account. @default 10 */
  instagramMediaRate: z.coerce.number().min(0).default(10).describe('INSTAGRAM_MEDIA_RATE'),
  /**
   * How long a connector waits for a provider's echo of a send left in doubt by an earlier
   * process (a crash) before sending it again. @default 15000
   */
  inDoubtGraceMs: z.coerce.number().int().min(0).default(15000).describe('IN_DOUBT_GRACE_MS'),
  /** The same, for a send left in doubt by this process (a timeout): its webhook receiver was up all along. @default 2000 */
  inDoubtShortGraceMs: z.coerce.number().int().min(0).default(2000).describe('IN_DOUBT_SHORT_GRACE_MS'),
};

/**
 * Limits of the HTTP servers that face the internet: the API and the provider webhook endpoint
 * (issue #16). Part of `configFields` in config.ts.
 */
export const httpLimitFields = {
  /** How long a client may take to send a request's headers before the connection is closed (408). @default 10000 */
  httpHeadersTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(10_000).describe('HTTP_HEADERS_TIMEOUT_MS'),
  /** How long a client may take to send a whole request, body included (408). @default 30000 */
  httpRequestTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(30_000).describe('HTTP_REQUEST_TIMEOUT_MS'),
  /** How long an idle keep-alive connection stays open. @default 5000 */
  httpKeepAliveTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(5_000).describe('HTTP_KEEP_ALIVE_TIMEOUT_MS'),
  /** Requests one keep-alive connection may carry before the server closes it (0: no limit). @default 1000 */
  httpMaxRequestsPerSocket: z.coerce.number().int().min(0).default(1000).describe('HTTP_MAX_REQUESTS_PER_SOCKET'),
  /** Connections one server holds at once; further ones are closed as they arrive. @default 4096 */
  httpMaxConnections: z.coerce.number().int().min(1).max(1_000_000).default(4096).describe('HTTP_MAX_CONNECTIONS'),
  /** Deepest nesting of arrays and objects a JSON body may have (refused with 400 before parsing). @default 32 */
  maxJsonDepth: z.coerce.number().int().min(2).max(1000).default(32).describe('MAX_JSON_DEPTH'),
  /** Largest provider webhook body the connectors read; a bigger one answers 413. @default 1048576 (1 MiB) */
  providerWebhookMaxBytes: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024).describe('PROVIDER_WEBHOOK_MAX_BYTES'),
};
