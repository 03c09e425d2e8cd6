import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What `chat4all login` keeps: the token and where it is valid. */
export interface Session {
  /** The API the token was issued by. */
  api: string;
  username: string;
  user_id: string;
  access_token: string;
  /** RFC 3339; after it the CLI asks for a new login instead of sending a dead token. */
  expires_at: string;
}

/** Resume cursors of `chat4all tail`: the last `seq` seen per conversation. */
export type Cursors = Record<string, number>;

/** `$XDG_CONFIG_HOME/chat4all`, else `~/.config/chat4all`. */
export function configDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'chat4all');
}

/**
 * Writes a file only its owner can read (0600, in a 0700 folder), atomically: the token never
 * sits in a file with wider permissions, not even for a moment, whatever the umask.
 */
export function writePrivate(dir: string, name: string, data: unknown) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, join(dir, name));
}

/** A JSON file's content; null when it is missing or not JSON. */
export function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

export const sessionFile = (dir: string) => join(dir, 'session.json');

export function readSession(dir: string): Session | null {
  const s = readJson<Session>(sessionFile(dir));
  return s && typeof s.access_token === 'string' && typeof s.user_id === 'string' ? s : null;
}

export function writeSession(dir: string, session: Session): void {
  writePrivate(dir, 'session.json', session);
}

/** Removes the session; true when there was one. */
export function clearSession(dir: string): boolean {
  const had = readSession(dir) !== null;
  rmSync(sessionFile(dir), { force: true });
  return had;
}

/** Cursors are per user: two people sharing a machine account do not resume from each other. */
export const cursorsFile = (dir: string, userId: string) => join(dir, `cursors-${userId.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);

export function readCursors(dir: string, userId: string): Cursors {
  const c = readJson<Cursors>(cursorsFile(dir, userId)) ?? {};
  return Object.fromEntries(Object.entries(c).filter(([, v]) => Number.isInteger(v) && v >= 0));
}

export function writeCursors(dir: string, userId: string, cursors: Cursors): void {
  writePrivate(dir, cursorsFile(dir, userId).slice(dir.length + 1), cursors);
}
