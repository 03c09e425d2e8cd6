import type { DeliveryFallback, ExternalChannel } from '../core/domain/types.ts';
import type { FileStore } from '../core/ports/file-store.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import type { OutgoingFile } from './channel-connector.ts';
import { fitsChannelText, humanSize, linkFallbackText, mediaFit } from './channel-media.ts';
import { rejectedLocally } from './provider-error.ts';

/** What a connector needs to send a file message: the file's record and links to its bytes. */
export interface FileDeliveryDeps {
  files: Pick<FileStore, 'getFile'>;
  objects: Pick<ObjectStore, 'presignGet'>;
  /** How long the media link given to the provider is valid, in seconds (`FILE_PROVIDER_URL_TTL`). */
  providerUrlTtlSeconds: number;
  /** How long the download link sent as text instead is valid, in seconds (`FILE_LINK_FALLBACK_TTL`). */
  linkFallbackTtlSeconds: number;
}

/** How one file message goes out on a channel. */
export type FileSend =
  /** As the channel's media, fetched by the provider from a presigned link. */
  | { as: 'media'; file: OutgoingFile }
  /** As a text with the caption and a download link: the file is over the channel's limit. */
  | { as: 'link'; text: string; fallback: DeliveryFallback; detail: string };

/**
 * Decides how a file message goes on `channel`: reads the file, checks it may be sent, and
 * presigns the link: as media when the channel takes a file of its kind and size, else as a text
 * with the caption and a longer-lived download link. A file that is missing, not `ready`, or of
 * another conversation is a permanent error (`file_not_found`, `file_not_ready`): no retry helps.
 */
export async function planFileSend(
  deps: FileDeliveryDeps,
  channel: ExternalChannel,
  conversationId: string,
  payload: { file_id: string; caption?: string },
): Promise<FileSend> {
  const file = await deps.files.getFile(payload.file_id);
  // Another conversation's file is refused by the API when the message is sent; a record that
  // says otherwise here is treated as absent, never sent.
  if (!file || file.conversation_id !== conversationId) {
    throw rejectedLocally(channel, 'file_not_found', `file ${payload.file_id} does not exist in this conversation`);
  }
  if (file.state !== 'ready') {
    throw rejectedLocally(channel, 'file_not_ready', `file ${payload.file_id} is ${file.state}, not ready: it cannot be sent`);
  }
  const fit = mediaFit(channel, file.content_type, file.size);
  if (fit.fits) {
    const url = await deps.objects.presignGet(file.object_key, deps.providerUrlTtlSeconds, { filename: file.filename, contentType: file.content_type });
    const outgoing: OutgoingFile = { url, filename: file.filename, mime_type: file.content_type };
    if (payload.caption !== undefined) outgoing.caption = payload.caption;
    return { as: 'media', file: outgoing };
  }
  const shown = { filename: file.filename, size: file.size, ...(payload.caption !== undefined ? { caption: payload.caption } : {}) };
  const url = await deps.objects.presignGet(file.object_key, deps.linkFallbackTtlSeconds, { filename: file.filename, contentType: file.content_type });
  let text = linkFallbackText(channel, shown, url);
  if (!fitsChannelText(channel, text)) {
    // The file name goes into the link twice (Content-Disposition); a long one can make the link
    // alone longer than Instagram's 1000 bytes. Without it the download is still the file.
    text = linkFallbackText(channel, shown, await deps.objects.presignGet(file.object_key, deps.linkFallbackTtlSeconds));
  }
  return {
    as: 'link',
    text,
    fallback: { fallback: 'link', reason: 'over_channel_limit' },
    detail: `${fit.kind} of ${file.size} bytes; ${channel} takes at most ${fit.limitBytes} (${humanSize(fit.limitBytes)})`,
  };
}
