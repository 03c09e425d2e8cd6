import { problemDetail } from './problem-detail.ts';
import { readFileSync } from 'node:fs';

export const DLQ_USAGE = `usage: chat4all dlq <list [--status open|replayed|purged] | show <id> | replay <id> [--value-file F] | replay --all | purge>
  [--api URL]  the API (default: CHAT4ALL_API or http://127.0.0.1:8080)
  an admin token from CHAT4ALL_TOKEN, or CHAT4ALL_USERNAME and CHAT4ALL_PASSWORD of an admin (chat4all admin grant <username>)`;

interface Letter {
  id: string;
  reason: string;
  topic: string;
  partition: number;
  offset: string;
  first_seen: string;
  status: string;
  value: string;
}

function opt(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function token(api: string): Promise<string> {
  if (process.env.CHAT4ALL_TOKEN) return process.env.CHAT4ALL_TOKEN;
  const username = process.env.CHAT4ALL_USERNAME;
  const password = process.env.CHAT4ALL_PASSWORD;
  if (!username || !password) throw new Error(`dlq needs an admin: set CHAT4ALL_TOKEN, or CHAT4ALL_USERNAME and CHAT4ALL_PASSWORD\n${DLQ_USAGE}`);
  const res = await fetch(`${api}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!res.ok) throw new Error(`could not log in as ${username}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** `chat4all dlq …`: the admin API's dead-letter endpoints from the command line. */
export async function dlqCommand(args: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  const api = (opt(rest, 'api') ?? process.env.CHAT4ALL_API ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${await token(api)}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) {
      throw new Error(`${method} ${path}: ${res.status} ${problemDetail(text)}`);
    }
    return JSON.parse(text) as T;
  };
  switch (sub) {
    case 'list': {
      const status = opt(rest, 'status');
      const r = await call<{ dead_letters: Letter[] }>('GET', `/v1/admin/dead-letters${status ? `?status=${encodeURIComponent(status)}` : ''}`);
      if (r.dead_letters.length === 0) out('no dead letters');
      for (const l of r.dead_letters) out(`${l.id}  ${l.status.padEnd(8)} ${l.first_seen}  ${l.topic}[${l.partition}]@${l.offset}  ${l.reason}`);
      return 0;
    }
    case 'show': {
      if (!rest[0]) throw new Error(`show needs a dead letter id\n${DLQ_USAGE}`);
      out(JSON.stringify(await call('GET', `/v1/admin/dead-letters/${encodeURIComponent(rest[0])}`), null, 2));
      return 0;
    }
    case 'replay': {
      if (rest.includes('--all')) {
        const r = await call<{ replayed: number }>('POST', '/v1/admin/dead-letters/replay');
        out(`replayed ${r.replayed} dead letter(s)`);
        return 0;
      }
      const id = rest[0];
      if (!id || id.startsWith('--')) throw new Error(`replay needs a dead letter id or --all\n${DLQ_USAGE}`);
      const file = opt(rest, 'value-file');
      const value = file ? readFileSync(file, 'utf8') : undefined;
      const l = await call<Letter>('POST', `/v1/admin/dead-letters/${encodeURIComponent(id)}/replay`, value ? { value } : {});
      out(`${l.id} replayed onto ${l.topic}`);
      return 0;
    }
    case 'purge': {
      const r = await call<{ purged: number }>('DELETE', '/v1/admin/dead-letters');
      out(`purged ${r.purged} dead letter(s)`);
      return 0;
    }
    default:
      throw new Error(DLQ_USAGE);
  }
}
