import { randomUUID } from 'node:crypto';
import { EXIT, usageError } from './cli-error.ts';
import { uploadWithProgress } from './file-commands.ts';
import type { CliContext } from './cli-context.ts';
import { INBOUND_ONLY_TYPES, inboundPayloadText, type InboundOnlyPayload } from '../core/domain/inbound-payload.ts';

export const SEND_USAGE = `usage: chat4all send <conversation_id> <text…> [--channels all|internal,whatsapp,instagram] [--id UUID]
       chat4all send <conversation_id> --file FILE [--caption TEXT] [--type CONTENT_TYPE] [--channels …]
  text '-' reads it from standard input; --conversation ID may stand for the first argument.
  --file uploads the file (resumable, as 'chat4all upload') and sends it as a file message.`;
export const MESSAGES_USAGE = `usage: chat4all messages <conversation_id> [--after SEQ] [--limit N] [--all]
       chat4all message <message_id>     one message with its full status history
       chat4all read <message_id>        mark it read (you are a recipient)`;

interface Delivery {
  recipient_id: string;
  channel: string;
  status: string;
  error?: { code?: string; message?: string };
}

/** A message as the API shows it. */
export interface MessageView {
  message_id: string;
  conversation_id: string;
  seq: number | null;
  sender_id: string;
  payload: { type: string; text?: string; file_id?: string; caption?: string };
  created_at: string;
  status: string;
  deliveries: Delivery[];
  history?: { status: string; at: string; recipient_id?: string; channel?: string }[];
}

/** What a message says, on one line. */
export function payloadText(p: MessageView['payload']): string {
  if (p.type === 'text') return p.text ?? '';
  if (p.type === 'file') return `[file ${p.file_id ?? '?'}]${p.caption ? ` ${p.caption}` : ''}`;
  // What someone wrote on WhatsApp or Instagram that is not a text (docs/api.md).
  return (INBOUND_ONLY_TYPES as readonly string[]).includes(p.type) ? inboundPayloadText(p as unknown as InboundOnlyPayload) : `[${p.type}]`;
}

/** One message and, under it, the status it has for each recipient on each channel. */
function messageLines(m: MessageView, me: string): string[] {
  const who = m.sender_id === me ? 'you' : m.sender_id;
  const lines = [`#${m.seq ?? '-'}  ${m.created_at}  ${who}: ${payloadText(m.payload)}`];
  const byRecipient = new Map<string, string[]>();
  for (const d of m.deliveries) {
    const list = byRecipient.get(d.recipient_id) ?? [];
    list.push(`${d.channel} ${d.status}${d.error?.code ? ` (${d.error.code})` : ''}`);
    byRecipient.set(d.recipient_id, list);
  }
  for (const [r, list] of byRecipient) lines.push(`      → ${r === me ? 'you' : r}: ${list.join(', ')}`);
  return lines;
}

export async function sendCommand(
  ctx: CliContext,
  positionals: string[],
  flags: { channels?: string; file?: string; id?: string; conversation?: string; caption?: string; type?: string },
): Promise<number> {
  const [conversationId, ...words] = flags.conversation ? [flags.conversation, ...positionals] : positionals;
  if (!conversationId) throw usageError('send needs a conversation id', SEND_USAGE);
  if (flags.file === undefined && words.length === 0) throw usageError('send needs the text (or --file FILE)', SEND_USAGE);
  if (flags.file !== undefined && words.length && flags.caption !== undefined) throw usageError('with --file, give the caption either as text or with --caption, not both', SEND_USAGE);
  if (flags.file === undefined && (flags.caption !== undefined || flags.type !== undefined)) throw usageError('--caption and --type go with --file', SEND_USAGE);
  const text = words.length === 1 && words[0] === '-' ? (await ctx.io.readStdin()).replace(/\r?\n$/, '') : words.join(' ');
  const channels = (flags.channels ?? 'all').split(',').map((c) => c.trim()).filter(Boolean);
  let payload: { type: 'text'; text: string } | { type: 'file'; file_id: string; caption?: string };
  if (flags.file !== undefined) {
    const uploaded = await uploadWithProgress(ctx, flags.file, conversationId, { type: flags.type });
    const caption = flags.caption ?? text;
    payload = { type: 'file', file_id: uploaded.file_id, ...(caption ? { caption } : {}) };
  } else {
    payload = { type: 'text', text };
  }
  const sent = await ctx.client().request<{ message_id: string; accepted_at: string; status: string }>('POST', '/v1/messages', {
    // Our own id: sending the same command again with --id is answered as the same message, not a second one.
    message_id: flags.id ?? randomUUID(),
    conversation_id: conversationId,
    channels,
    payload,
  });
  ctx.print(sent, `${sent.status} ${sent.message_id} at ${sent.accepted_at}`);
  return EXIT.ok;
}

export async function messagesCommand(ctx: CliContext, positionals: string[], flags: { after?: string; limit?: string; all?: boolean }): Promise<number> {
  const [conversationId] = positionals;
  if (!conversationId) throw usageError('messages needs a conversation id', MESSAGES_USAGE);
  const limit = flags.limit ?? '50';
  let after = flags.after ?? '0';
  for (const [name, v] of [['--limit', limit], ['--after', after]] as const) {
    if (!/^\d+$/.test(v)) throw usageError(`${name} takes a whole number, got ${v}`, MESSAGES_USAGE);
  }
  const me = ctx.session().user_id;
  const api = ctx.client();
  const messages: MessageView[] = [];
  let page: { messages: MessageView[]; next_after_seq: number; has_more: boolean };
  do {
    page = await api.request('GET', `/v1/conversations/${encodeURIComponent(conversationId)}/messages?limit=${limit}&after_seq=${after}`);
    messages.push(...page.messages);
    after = String(page.next_after_seq);
  } while (flags.all && page.has_more);
  ctx.print(
    { messages, next_after_seq: page.next_after_seq, has_more: page.has_more },
    messages.length === 0
      ? 'no messages'
      : [...messages.flatMap((m) => messageLines(m, me)), ...(page.has_more ? [`(more: --after ${page.next_after_seq}, or --all)`] : [])],
  );
  return EXIT.ok;
}

export async function messageCommand(ctx: CliContext, positionals: string[]): Promise<number> {
  if (!positionals[0]) throw usageError('message needs a message id', MESSAGES_USAGE);
  const me = ctx.session().user_id;
  const m = await ctx.client().request<MessageView>('GET', `/v1/messages/${encodeURIComponent(positionals[0])}`);
  ctx.print(m, [
    ...messageLines(m, me),
    `status ${m.status}`,
    ...(m.history ?? []).map((h) => `  ${h.at}  ${h.status.padEnd(9)} ${h.recipient_id ? `${h.recipient_id === me ? 'you' : h.recipient_id} ` : ''}${h.channel ?? ''}`),
  ]);
  return EXIT.ok;
}

export async function readCommand(ctx: CliContext, positionals: string[]): Promise<number> {
  if (!positionals[0]) throw usageError('read needs a message id', MESSAGES_USAGE);
  await ctx.client().request('POST', `/v1/messages/${encodeURIComponent(positionals[0])}/read`);
  ctx.print({ message_id: positionals[0], read: true }, `marked ${positionals[0]} read`);
  return EXIT.ok;
}
