import { createHash, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback, pipeline } from 'node:stream';
import type { MediaPayload } from '../core/domain/inbound-payload.ts';
import type { ExternalChannel, Payload } from '../core/domain/types.ts';
import { AppError } from '../core/errors.ts';
import type { InboundMessage } from '../core/inbound/accept-inbound.ts';
import { derivedId } from '../core/inbound/derived-id.ts';
import type { Logger } from '../core/logger.ts';
import { isoAt, type Clock } from '../core/ports/clock.ts';
import type { FileRecord, FileStore } from '../core/ports/file-store.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { MediaFetchError, type MediaFetchLimits } from './media-download.ts';
import type { ConnectorMetrics } from './metrics.ts';

/** What storing inbound media needs. */
export interface InboundMediaDeps {
  files: Pick<FileStore, 'getFile' | 'createFile'>;
  objects: Pick<ObjectStore, 'putObject' | 'removeObject'>;
  /** The plug-ins by channel: their `fetchMedia` reads the provider's media. */
  connectors: ReadonlyMap<string, Pick<ChannelConnector, 'fetchMedia'>>;
  metrics: Pick<ConnectorMetrics, 'inboundMedia' | 'inboundMediaBytes'>;
  logger: Logger;
  clock: Clock;
  /** Size and time bounds of one fetch (`INBOUND_MEDIA_MAX_BYTES`, `INBOUND_MEDIA_TIMEOUT_MS`). */
  limits: MediaFetchLimits;
  /**
   * Deliveries of one webhook that may fail to fetch or store its media (each answered 503, so
   * the provider delivers it again) before the message is accepted with the provider reference
   * kept (`INBOUND_MEDIA_ATTEMPTS`). Counted per process.
   */
  maxAttempts: number;
}

/** The file id of an inbound media: the same provider media always makes the same file. */
export function inboundFileId(channel: ExternalChannel, m: Pick<InboundMessage, 'provider_message_id' | 'payload'>): string {
  const media = m.payload.type === 'media' ? m.payload.media : undefined;
  // A WhatsApp media id names the bytes; an Instagram CDN URL is signed anew on each delivery, so the message names them.
  const key = media?.provider_media_id ?? m.provider_message_id;
  return `fil_${derivedId('inbound-file', channel, key).replaceAll('-', '')}`;
}

/** Attempts remembered at most: the count of one media is forgotten once it was stored or given up. */
const MAX_REMEMBERED = 10_000;

/** A name for a file that came without one: the kind and the provider's type (`image.jpeg`). */
function filenameOf(media: MediaPayload['media'], contentType: string): string {
  if (media.filename?.trim()) return media.filename.trim().slice(0, 255);
  const sub = contentType.split('/')[1]?.replace(/[^a-z0-9.+-]/gi, '') || 'bin';
  return `${media.kind}.${sub}`;
}

/**
 * The `storeMedia` of `acceptInbound`: fetches the media of an inbound message from its provider
 * as a stream, hashes it while it is uploaded to the object store, and records a `ready` file
 * of the sender in the message's conversation; the message becomes `{type: "file", file_id,
 * caption?}`. Idempotent: the file id is derived from the provider's media, so a retried
 * webhook finds the file. A failure a retry may cure (the provider or the object store
 * unavailable) rejects with a 503 so the provider delivers the webhook again, up to
 * `maxAttempts`; after that, or for a failure no retry cures (too large, unknown media, a sha256
 * other than the provider's), the message keeps the provider reference: it is never lost.
 */
export function inboundMediaStorer(deps: InboundMediaDeps) {
  const attempts = new Map<string, number>();
  const inflight = new Map<string, Promise<FileRecord>>();
  const keep = (m: InboundMessage, file_id: string, result: string, err?: unknown): Payload => {
    attempts.delete(file_id);
    deps.metrics.inboundMedia.inc({ channel: m.channel, result });
    deps.logger.warn({ err, channel: m.channel, provider_message_id: m.provider_message_id, file_id, result }, 'inbound media not stored; the message keeps the provider reference');
    return m.payload;
  };

  return async (m: InboundMessage, owner: { sender_id: string; conversation_id: string }): Promise<Payload> => {
    if (m.payload.type !== 'media') return m.payload;
    const connector = deps.connectors.get(m.channel);
    if (!connector?.fetchMedia) return m.payload;
    const { media, caption } = m.payload;
    const file_id = inboundFileId(m.channel, m);
    const asFile = (): Payload => ({ type: 'file', file_id, ...(caption !== undefined ? { caption } : {}) });

    const known = await deps.files.getFile(file_id);
    if (known?.state === 'ready') {
      deps.metrics.inboundMedia.inc({ channel: m.channel, result: 'reused' });
      return asFile();
    }
    try {
      // A provider that times out a slow webhook delivers it again while the first fetch runs: join it.
      const running = inflight.get(file_id);
      if (running) {
        await running;
        deps.metrics.inboundMedia.inc({ channel: m.channel, result: 'reused' });
        return asFile();
      }
      const pending = fetchAndStore(deps, connector.fetchMedia.bind(connector), m.channel, media, { file_id, ...owner }).finally(() => inflight.delete(file_id));
      inflight.set(file_id, pending);
      const file = await pending;
      attempts.delete(file_id);
      deps.metrics.inboundMedia.inc({ channel: m.channel, result: 'stored' });
      deps.metrics.inboundMediaBytes.inc({ channel: m.channel }, file.size);
      deps.logger.info({ channel: m.channel, file_id, size: file.size, conversation_id: owner.conversation_id }, 'inbound media stored');
      return asFile();
    } catch (err) {
      if (err instanceof MediaFetchError && !err.retriable) return keep(m, file_id, err.reason, err);
      if (err instanceof Sha256Mismatch) return keep(m, file_id, 'sha256_mismatch', err);
      const n = (attempts.get(file_id) ?? 0) + 1;
      if (n >= deps.maxAttempts) return keep(m, file_id, 'gave_up', err);
      attempts.delete(file_id);
      attempts.set(file_id, n);
      if (attempts.size > MAX_REMEMBERED) attempts.delete(attempts.keys().next().value!);
      deps.metrics.inboundMedia.inc({ channel: m.channel, result: 'retry' });
      throw new AppError('media_unavailable', `${m.channel} media of ${m.provider_message_id} could not be fetched or stored (attempt ${n} of ${deps.maxAttempts}); retry later`, {
        status: 503,
        retriable: true,
        cause: err,
      });
    }
  };
}

/** The bytes read were not what the provider said they are. */
class Sha256Mismatch extends Error {}

/** Fetches, streams to the object store while hashing and counting, and records the ready file. */
async function fetchAndStore(
  deps: InboundMediaDeps,
  fetchMedia: NonNullable<ChannelConnector['fetchMedia']>,
  channel: ExternalChannel,
  media: MediaPayload['media'],
  ids: { file_id: string; sender_id: string; conversation_id: string },
): Promise<FileRecord> {
  const fetched = await fetchMedia(media, deps.limits);
  const content_type = fetched.content_type ?? media.mime_type ?? 'application/octet-stream';
  // A key per attempt: a failed or losing attempt removes its own object, never another replica's.
  const object_key = `inbound/${ids.file_id}/${randomBytes(6).toString('hex')}`;
  const meter = new HashMeter(channel, deps.limits.maxBytes, fetched.size);
  // pipeline: the provider's stream failing (or hanging past the timeout) fails the upload too.
  const counted = pipeline(fetched.body, meter, () => undefined);
  await deps.objects.putObject(object_key, counted, fetched.size, content_type);
  const sha256 = meter.digest();
  if (fetched.sha256 && !sameSha256(fetched.sha256, sha256)) {
    await deps.objects.removeObject(object_key).catch(() => undefined);
    throw new Sha256Mismatch(`${channel} media: read sha256 ${sha256}, the provider says ${fetched.sha256}`);
  }
  const now = isoAt(deps.clock.now());
  const file: FileRecord = {
    file_id: ids.file_id,
    uploader_id: ids.sender_id,
    conversation_id: ids.conversation_id,
    filename: filenameOf(media, content_type),
    content_type,
    size: meter.bytes,
    sha256,
    part_size: Math.max(1, meter.bytes),
    part_count: 1,
    object_key,
    upload_id: 'inbound',
    state: 'ready',
    created_at: now,
    expires_at: now,
    completed_at: now,
    verified_at: now,
  };
  try {
    return await deps.files.createFile(file);
  } catch (err) {
    // Another replica took the other copy of the webhook and recorded the same file first.
    const other = await deps.files.getFile(ids.file_id);
    await deps.objects.removeObject(object_key).catch(() => undefined);
    if (other?.state === 'ready') return other;
    throw err;
  }
}

/** Meta reports WhatsApp media sha256 in hex; accept base64 too, as some payloads carry it so. */
function sameSha256(reported: string, hex: string): boolean {
  const r = reported.trim();
  if (/^[0-9a-f]{64}$/i.test(r)) return r.toLowerCase() === hex;
  return Buffer.from(hex, 'hex').toString('base64') === r;
}

/**
 * Passes bytes through while hashing (sha256) and counting them; fails `too_large` once more than
 * `maxBytes` came, or more than the size announced (a PUT with that `Content-Length` would be
 * cut), and at the end when fewer than announced came.
 */
class HashMeter extends Transform {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private hex: string | undefined;

  constructor(
    private readonly channel: ExternalChannel,
    private readonly maxBytes: number,
    private readonly announced: number | undefined,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return done(new MediaFetchError(this.channel, 'too_large', `more than ${this.maxBytes} bytes`));
    if (this.announced !== undefined && this.bytes > this.announced) return done(new MediaFetchError(this.channel, 'bad_response', `more bytes than the ${this.announced} announced`));
    this.hash.update(chunk);
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.announced !== undefined && this.bytes !== this.announced) {
      return done(new MediaFetchError(this.channel, 'unavailable', `${this.bytes} bytes of the ${this.announced} announced: cut short`));
    }
    this.hex = this.hash.digest('hex');
    done();
  }

  digest(): string {
    if (this.hex === undefined) throw new Error('the media stream did not end');
    return this.hex;
  }
}
