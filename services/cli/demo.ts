import { randomBytes } from 'node:crypto';

interface Step {
  status: number;
  body: Record<string, unknown>;
}

async function call(base: string, method: string, path: string, token?: string, body?: unknown): Promise<Step> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (res.status >= 400) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return { status: res.status, body: parsed };
}

/**
 * The demo: Alice writes to Bob, who is reached in our app, on WhatsApp and on Instagram;
 * prints each step and the statuses as they come back.
 */
export async function runDemo(apiUrl: string, out: (line: string) => void = console.log): Promise<void> {
  const tag = randomBytes(3).toString('hex');
  const users: Record<string, { id: string; token: string }> = {};
  for (const name of ['alice', 'bob']) {
    const username = `${name}-${tag}`;
    const password = 'demo-password-123';
    const reg = await call(apiUrl, 'POST', '/auth/register', undefined, { username, password });
    const tok = await call(apiUrl, 'POST', '/auth/token', undefined, { username, password });
    users[name] = { id: reg.body.user_id as string, token: tok.body.access_token as string };
    out(`registered ${username} (${users[name]!.id})`);
  }
  const alice = users.alice!;
  const bob = users.bob!;
  const phone = `+5511${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
  const igsid = `1784${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
  await call(apiUrl, 'POST', '/v1/users/me/identities', bob.token, { channel: 'whatsapp', address: phone });
  await call(apiUrl, 'POST', '/v1/users/me/identities', bob.token, { channel: 'instagram', address: igsid });
  out(`bob linked WhatsApp ${phone} and Instagram ${igsid}`);
  const conv = await call(apiUrl, 'POST', '/v1/conversations', alice.token, { type: 'private', members: [bob.id] });
  const conversationId = conv.body.conversation_id as string;
  const sent = await call(apiUrl, 'POST', '/v1/messages', alice.token, {
    conversation_id: conversationId,
    channels: ['all'],
    payload: { type: 'text', text: 'Olá Bob! 👋 from Chat4All' },
  });
  const messageId = sent.body.message_id as string;
  out(`alice sent ${messageId}: ${sent.status} ${sent.body.status as string}`);

  const seen = new Set<string>();
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const m = await call(apiUrl, 'GET', `/v1/messages/${messageId}`, alice.token);
    for (const d of m.body.deliveries as { channel: string; status: string }[]) {
      const key = `${d.channel}:${d.status}`;
      if (!seen.has(key)) {
        seen.add(key);
        out(`  ${d.channel.padEnd(9)} → ${d.status}`);
      }
    }
    const external = (m.body.deliveries as { channel: string; status: string }[]).filter((d) => d.channel !== 'internal');
    if (external.length > 0 && external.every((d) => d.status === 'READ' || d.status === 'FAILED')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  await call(apiUrl, 'GET', `/v1/conversations/${conversationId}/messages`, bob.token);
  await call(apiUrl, 'POST', `/v1/messages/${messageId}/read`, bob.token);
  const final = await call(apiUrl, 'GET', `/v1/messages/${messageId}`, alice.token);
  out(`final status: ${final.body.status as string}`);
  for (const h of final.body.history as { status: string; at: string; channel?: string }[]) {
    out(`  ${h.at}  ${(h.channel ?? 'message').padEnd(9)} ${h.status}`);
  }
}
