/**
 * What an external user can write to us that a client of our API cannot send: media still held
 * by the provider, a location, shared contacts, a reaction, an edit or an unsend of an earlier
 * message, and a message the provider itself could not show us. These payloads only ever come
 * in through a connector; the API's send validation (`services/api/schemas.ts`) keeps accepting
 * `text` and `file` alone. Records carry them validated by `core/inbound-payload-schema.ts`.
 * Channels that cannot show one of them get its text rendering ({@link inboundPayloadText}).
 */

/** The kinds of provider media: WhatsApp `image|video|audio|document|sticker`, Instagram `image|video|audio|file|share`. */
export const PROVIDER_MEDIA_KINDS = ['image', 'video', 'audio', 'document', 'sticker', 'file', 'share'] as const;
export type ProviderMediaKind = (typeof PROVIDER_MEDIA_KINDS)[number];

/** A message of the provider named by its provider message id, and ours when the platform knows it. */
export interface MessageRef {
  /** `wamid…` / `mid…` of the message this one is about. */
  provider_message_id: string;
  /** Our id of that message, when it is one the platform sent or received. */
  message_id?: string;
}

/** A file that stays at the provider: fetch it with the provider's media API (WhatsApp) or its URL (Instagram). */
export interface MediaPayload {
  type: 'media';
  media: {
    kind: ProviderMediaKind;
    /** WhatsApp media id: `GET /{version}/{media_id}` answers a short-lived download URL. */
    provider_media_id?: string;
    /** Instagram attachment URL (the CDN URL, or the shared post's URL). */
    url?: string;
    mime_type?: string;
    /** SHA-256 of the bytes as the provider reports it. */
    sha256?: string;
    filename?: string;
    /** WhatsApp audio recorded as a voice note. */
    voice?: boolean;
  };
  caption?: string;
}

export interface LocationPayload {
  type: 'location';
  latitude: number;
  longitude: number;
  name?: string;
  address?: string;
  url?: string;
}

/** Shared contact cards: the formatted name and phone numbers of each. */
export interface ContactsPayload {
  type: 'contacts';
  contacts: { name: string; phones: string[] }[];
}

export interface ReactionPayload {
  type: 'reaction';
  reacts_to: MessageRef;
  /** The emoji; null when the reaction was removed. */
  emoji: string | null;
}

export interface EditPayload {
  type: 'edit';
  edits: MessageRef;
  /** The new text. */
  text: string;
}

export interface DeletionPayload {
  type: 'deletion';
  deletes: MessageRef;
}

/** A message the provider itself could not show us (WhatsApp `type: "unsupported"`, Instagram `is_unsupported`). */
export interface UnsupportedPayload {
  type: 'unsupported';
  /** The provider's own type name when it gave one. */
  provider_type?: string;
  /** What the provider said (WhatsApp `errors[0]`: "Message type unknown"). */
  reason: string;
}

/** A payload only an external user can send (see the module's doc). */
export type InboundOnlyPayload =
  | MediaPayload
  | LocationPayload
  | ContactsPayload
  | ReactionPayload
  | EditPayload
  | DeletionPayload
  | UnsupportedPayload;

/** The `type` of every inbound-only payload. */
export const INBOUND_ONLY_TYPES = ['media', 'location', 'contacts', 'reaction', 'edit', 'deletion', 'unsupported'] as const satisfies readonly InboundOnlyPayload['type'][];

const MEDIA_WORDS: Record<ProviderMediaKind, string> = {
  image: 'an image',
  video: 'a video',
  audio: 'an audio message',
  document: 'a document',
  sticker: 'a sticker',
  file: 'a file',
  share: 'a shared post',
};

/**
 * The payload as one line of text, for a channel that cannot show it as it is (the connectors
 * send this text) and for terminal output. Plain words, so it reads right on any channel.
 */
export function inboundPayloadText(p: InboundOnlyPayload): string {
  switch (p.type) {
    case 'media': {
      const what = `[${MEDIA_WORDS[p.media.kind]}${p.media.filename ? `: ${p.media.filename}` : ''}]`;
      return p.caption ? `${what} ${p.caption}` : what;
    }
    case 'location':
      return `[location${p.name ? `: ${p.name}` : ''}${p.address ? `, ${p.address}` : ''}] ${p.latitude}, ${p.longitude}`;
    case 'contacts':
      return `[contacts] ${p.contacts.map((c) => [c.name, ...c.phones].join(' ')).join('; ')}`;
    case 'reaction':
      return p.emoji ? `[reacted ${p.emoji} to a message]` : '[removed a reaction]';
    case 'edit':
      return `[edited a message] ${p.text}`;
    case 'deletion':
      return '[deleted a message]';
    case 'unsupported':
      return `[a message this channel cannot show: ${p.reason}]`;
  }
}
