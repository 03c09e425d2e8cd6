import { randomBytes } from 'node:crypto';
import { inboundMessageId } from '../core/inbound/accept-inbound.ts';

/* The demo reads JSON answers by name; their shapes are docs/api.md's and docs/provider-sim.md's. */
type Json = Record<string, unknown>;
interface HistoryItem {
  status: string;
  at: string;
  recipient_id?: string;
  channel?: string;
}
interface Received {
  channel: string;
  to: string;
  text?: string;
  at: string;
}

async function call(base: string, method: string, path: string, token?: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (res.status >= 400) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return text ? (JSON.parse(text) as Json) : {};
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Where the demo finds the platform. */
export interface CrossChannelTargets {
  apiUrl: string;
  /** The provider simulator: Maria's phone and Bob's Instagram app. */
  simUrl: string;
  /** How long to wait for each step. @default 20000 */
  stepTimeoutMs?: number;
}

/**
 * `chat4all demo cross-channel`: Maria (a WhatsApp number) and Bob (an Instagram account) are
 * Chat4All users with those identities verified. Bob says hello in the app; Maria writes on
 * WhatsApp (a signed inbound webhook from the simulator); Bob reads it on Instagram and answers
 * there; Maria receives the answer on WhatsApp. For each message it prints the path it took: every
 * hop with its time after the message was written.
 */
export async function runCrossChannelDemo(targets: CrossChannelTargets, out: (line: string) => void = console.log): Promise<void> {
  const { apiUrl, simUrl } = targets;
  const timeout = targets.stepTimeoutMs ?? 20_000;
  const tag = randomBytes(3).toString('hex');
  const phone = `+5511${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
  const igsid = `1784${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
  const received = async (channel: string, to: string) =>
    ((await call(simUrl, 'GET', `/_sim/received?channel=${channel}&to=${encodeURIComponent(to)}`)).received as Received[]);

  const person = async (name: string, channel: 'whatsapp' | 'instagram', address: string) => {
    const username = `${name}-${tag}`;
    const password = 'demo-password-123';
    const reg = await call(apiUrl, 'POST', '/auth/register', undefined, { username, password });
    const token = (await call(apiUrl, 'POST', '/auth/token', undefined, { username, password })).access_token as string;
    const link = await call(apiUrl, 'POST', '/v1/users/me/identities', token, { channel, address });
    if (link.verified !== true) {
      // The one-time code goes out on that channel: read it where the simulator received it.
      const code = await until(`the ${channel} code for ${address}`, timeout, async () =>
        (await received(channel, address)).map((r) => /code is (\d{6})/.exec(r.text ?? '')?.[1]).find(Boolean),
      );
      await call(apiUrl, 'POST', `/v1/users/me/identities/${channel}/${encodeURIComponent(address)}/verify`, token, { code });
    }
    out(`${username} (${reg.user_id as string}) verified ${channel} ${address}`);
    return { id: reg.user_id as string, token, username };
  };
  const maria = await person('maria', 'whatsapp', phone);
  const bob = await person('bob', 'instagram', igsid);
  const names = new Map([
    [maria.id, 'Maria'],
    [bob.id, 'Bob'],
  ]);
  const conversationId = (await call(apiUrl, 'POST', '/v1/conversations', bob.token, { type: 'private', members: [maria.id] })).conversation_id as string;

  /** Waits until the message is at the far end, then prints its hops. */
  const trace = async (title: string, messageId: string, writtenAt: number, farEnd: { channel: string; to: string; text: string }) => {
    const seenAt = await until(`"${farEnd.text}" at ${farEnd.channel} ${farEnd.to}`, timeout, async () =>
      (await received(farEnd.channel, farEnd.to)).find((r) => r.text === farEnd.text)?.at,
    );
    const read = async () => {
      const v = await call(apiUrl, 'GET', `/v1/messages/${messageId}`, bob.token).catch(() => undefined);
      return v && v.seq !== null && v;
    };
    let m = await until(`${messageId} to have its statuses`, timeout, read);
    // The simulator reads what it receives: give the far end's READ a moment to come back.
    const isRead = (v: Json) => (v.deliveries as { channel: string; status: string }[]).some((d) => d.channel === farEnd.channel && d.status === 'READ');
    m = await until('READ', 3000, async () => {
      const v = await read();
      return v && isRead(v) && v;
    }).catch(() => m);
    const hops: { at: number; where: string; what: string }[] = [{ at: Date.parse(m.created_at as string), where: 'chat4all', what: `accepted (seq ${String(m.seq)})` }];
    for (const h of (m.history as HistoryItem[]) ?? []) {
      if (!h.channel) continue;
      hops.push({ at: Date.parse(h.at), where: h.channel === 'internal' ? 'app' : h.channel, what: `${h.status} for ${names.get(h.recipient_id ?? '') ?? h.recipient_id ?? '?'}` });
    }
    hops.push({ at: Date.parse(seenAt), where: farEnd.channel, what: `at ${farEnd.to} (provider)` });
    hops.sort((a, b) => a.at - b.at);
    out('');
    out(`${title}  [${messageId}]`);
    out(`  ${'+0 ms'.padStart(9)}  ${'origin'.padEnd(9)}  written`);
    for (const h of hops) out(`  ${`+${Math.max(0, h.at - writtenAt)} ms`.padStart(9)}  ${h.where.padEnd(9)}  ${h.what}`);
  };

  // 1. Bob opens the conversation in the app; Maria gets it on WhatsApp.
  const hello = `Oi Maria, aqui é o Bob. Como posso ajudar? (${tag})`;
  let t = Date.now();
  const helloId = (await call(apiUrl, 'POST', '/v1/messages', bob.token, { conversation_id: conversationId, channels: ['all'], payload: { type: 'text', text: hello } })).message_id as string;
  await trace(`1. Bob → Maria, from the app: "${hello}"`, helloId, t, { channel: 'whatsapp', to: phone, text: hello });

  // 2. Maria writes on WhatsApp; Bob reads it on Instagram.
  const question = `Oi Bob! Meu pedido chega amanhã? (${tag})`;
  t = Date.now();
  const wamid = (await call(simUrl, 'POST', '/_sim/inbound', undefined, { channel: 'whatsapp', from: phone, name: 'Maria', text: question })).id as string;
  await trace(`2. Maria → Bob, on WhatsApp: "${question}"`, inboundMessageId('whatsapp', wamid), t, { channel: 'instagram', to: igsid, text: question });

  // 3. Bob answers on Instagram; Maria receives it on WhatsApp.
  const answer = `Chega sim, Maria — amanhã até as 18h. (${tag})`;
  t = Date.now();
  const mid = (await call(simUrl, 'POST', '/_sim/inbound', undefined, { channel: 'instagram', from: igsid, text: answer })).id as string;
  await trace(`3. Bob → Maria, on Instagram: "${answer}"`, inboundMessageId('instagram', mid), t, { channel: 'whatsapp', to: phone, text: answer });

  const history = (await call(apiUrl, 'GET', `/v1/conversations/${conversationId}/messages`, maria.token)).messages as { seq: number; sender_id: string; payload: { text?: string } }[];
  out('');
  out('An inbound message waits up to INBOUND_REORDER_WINDOW_MS (default 2 s) before its seq, so that');
  out('webhooks Meta delivers out of order still take their seqs in the order they were written.');
  out('');
  out(`conversation ${conversationId}, as the app shows it:`);
  for (const h of history) out(`  #${h.seq}  ${names.get(h.sender_id) ?? h.sender_id}: ${h.payload.text ?? ''}`);
}
