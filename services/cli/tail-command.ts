import { CliError, EXIT, usageError } from './cli-error.ts';
import type { CliContext } from './cli-context.ts';
import { readCursors, writeCursors } from './config-dir.ts';
import { GatewayStream, type ServerFrame } from './gateway-stream.ts';
import { payloadText, type MessageView } from './message-commands.ts';

export const TAIL_USAGE = `usage: chat4all tail [--conversation ID]… [--count N] [--timeout S] [--no-ack]
  live events from the gateway (--gateway URL or CHAT4ALL_GATEWAY); after a disconnect it reconnects
  and catches up from the last seq it saw per conversation (kept in the config dir).
  --count N     exit 0 after N new messages      --timeout S   stop after S seconds (exit 1 if --count was not reached)
  --no-ack      do not acknowledge messages (they stay SENT instead of DELIVERED)`;

const short = (id: unknown) => String(id ?? '').slice(0, 8);

/** One line per event for a person. */
function describe(f: ServerFrame, me: string): string | null {
  const who = (id: unknown) => (id === me ? 'you' : short(id));
  switch (f.type) {
    case 'message.created':
      return `[${short(f.conversation_id)}] #${String(f.seq)} ${who(f.sender_id)}: ${payloadText(f.payload as MessageView['payload'])}`;
    case 'message.status':
      return `[${short(f.conversation_id)}] ${short(f.message_id)} → ${who(f.recipient_id)} ${String(f.channel)} ${String(f.status)}`;
    case 'presence':
      return `${who(f.user_id)} is ${f.online ? 'online' : `offline${f.last_seen ? ` (last seen ${String(f.last_seen)})` : ''}`}`;
    case 'typing':
      return `[${short(f.conversation_id)}] ${who(f.user_id)} is typing…`;
    case 'resumed': {
      const lost = Object.entries((f.conversations ?? {}) as Record<string, { recovered?: boolean }>)
        .filter(([, r]) => r.recovered === false)
        .map(([id]) => id);
      return lost.length ? `caught up; too far behind in ${lost.join(', ')}: read them with 'chat4all messages <id> --all'` : 'caught up';
    }
    case 'error':
      return `gateway error ${String(f.code)}: ${String(f.detail)}`;
    default:
      return null;
  }
}

export async function tailCommand(ctx: CliContext, flags: { conversation?: string[]; count?: string; timeout?: string; 'no-ack'?: boolean }): Promise<number> {
  for (const [name, v] of [['--count', flags.count], ['--timeout', flags.timeout]] as const) {
    if (v !== undefined && !/^\d+(\.\d+)?$/.test(v)) throw usageError(`${name} takes a number, got ${v}`, TAIL_USAGE);
  }
  const session = ctx.session();
  const only = new Set(flags.conversation ?? []);
  const want = flags.count === undefined ? Infinity : Number(flags.count);
  const cursors = readCursors(ctx.dir, session.user_id);
  let received = 0;
  const note = (s: string) => ctx.io.stderr(`tail: ${s}`);

  const stream = new GatewayStream({
    url: ctx.gateway,
    token: session.access_token,
    cursors,
    ack: !flags['no-ack'],
    onCursor: (c) => writeCursors(ctx.dir, session.user_id, c),
    onNote: (n) => {
      if (n.kind === 'connecting' && n.attempt === 1) note(`connecting to ${n.url}`);
      if (n.kind === 'ready') note('connected');
      if (n.kind === 'disconnected') note(`disconnected (${n.code}: ${n.detail}); reconnecting in ${(n.retry_in_ms / 1000).toFixed(1)} s`);
    },
    onFrame: (f) => {
      if (only.size && f.conversation_id !== undefined && !only.has(String(f.conversation_id))) return;
      if (ctx.json) ctx.io.stdout(JSON.stringify(f));
      else {
        const line = describe(f, session.user_id);
        if (line) (f.type === 'resumed' ? note : ctx.io.stdout)(line);
      }
      if (f.type === 'message.created' && ++received >= want) void stream.stop();
    },
  }).start();

  const timer = flags.timeout === undefined ? null : setTimeout(() => void stream.stop(), Number(flags.timeout) * 1000);
  ctx.io.onInterrupt?.(() => void stream.stop());
  const end = await stream.ended;
  if (timer) clearTimeout(timer);
  if (end.reason === 'auth') throw new CliError(`the gateway refused the token: ${end.detail}`, EXIT.auth, { hint: "log in again: 'chat4all login'" });
  if (end.reason === 'protocol') throw new CliError(`the gateway closed the stream: ${end.detail}`, EXIT.error);
  if (received < want && want !== Infinity) throw new CliError(`timed out after ${received} of ${want} messages`, EXIT.error);
  return EXIT.ok;
}
