import { CliError, EXIT, usageError } from './cli-error.ts';
import { type CliContext, decodeClaims } from './cli-context.ts';
import { clearSession, sessionFile, writeSession, type Session } from './config-dir.ts';

export const LOGIN_USAGE = `usage: chat4all login [--username U] [--password-stdin]
  the username from --username, CHAT4ALL_USERNAME or a prompt; the password from standard input
  (--password-stdin), CHAT4ALL_PASSWORD or a prompt that does not echo`;
export const REGISTER_USAGE = `usage: chat4all register [--username U] [--email E] [--password-stdin]
  creates the account, then logs in as it (as 'chat4all login')`;

interface Credentials {
  username: string;
  password: string;
}

async function credentials(ctx: CliContext, flags: { username?: string; 'password-stdin'?: boolean }, usage: string): Promise<Credentials> {
  const { io } = ctx;
  let username = flags.username ?? io.env.CHAT4ALL_USERNAME;
  if (!username && io.prompt) username = (await io.prompt('username: ', false)).trim();
  if (!username) throw usageError('a username is needed: --username U or CHAT4ALL_USERNAME', usage);
  let password: string | undefined;
  if (flags['password-stdin']) password = (await io.readStdin()).replace(/\r?\n$/, '');
  else password = io.env.CHAT4ALL_PASSWORD;
  if (!password && io.prompt) password = await io.prompt('password: ', true);
  if (!password) throw usageError('a password is needed: --password-stdin, CHAT4ALL_PASSWORD or a terminal to ask on', usage);
  return { username, password };
}

/** Exchanges credentials for a token and keeps it in the config dir (0600). */
async function logIn(ctx: CliContext, creds: Credentials): Promise<Session> {
  let token: { access_token: string; expires_in: number };
  try {
    token = await ctx.client(true).request('POST', '/auth/token', creds);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.auth) {
      throw new CliError(`wrong username or password for ${creds.username}`, EXIT.auth, { hint: "check both, or create the account: 'chat4all register'", problem: err.extra.problem });
    }
    throw err;
  }
  const session: Session = {
    api: ctx.api,
    username: creds.username,
    user_id: decodeClaims(token.access_token).sub ?? '',
    access_token: token.access_token,
    expires_at: new Date(Date.now() + token.expires_in * 1000).toISOString(),
  };
  writeSession(ctx.dir, session);
  return session;
}

const sessionView = (s: Session) => ({ username: s.username, user_id: s.user_id, api: s.api, expires_at: s.expires_at });

export async function loginCommand(ctx: CliContext, flags: { username?: string; 'password-stdin'?: boolean }): Promise<number> {
  const s = await logIn(ctx, await credentials(ctx, flags, LOGIN_USAGE));
  ctx.print(sessionView(s), `logged in as ${s.username} (${s.user_id}) on ${s.api}; the token is kept in ${sessionFile(ctx.dir)} until ${s.expires_at}`);
  return EXIT.ok;
}

export async function registerCommand(ctx: CliContext, flags: { username?: string; email?: string; 'password-stdin'?: boolean }): Promise<number> {
  const creds = await credentials(ctx, flags, REGISTER_USAGE);
  const created = await ctx.client(true).request<{ user_id: string; username: string }>('POST', '/auth/register', {
    ...creds,
    ...(flags.email ? { email: flags.email } : {}),
  });
  const s = await logIn(ctx, creds);
  ctx.print({ ...sessionView(s), user_id: created.user_id }, [`registered ${created.username} (${created.user_id})`, `logged in on ${s.api}`]);
  return EXIT.ok;
}

export function logoutCommand(ctx: CliContext): number {
  const had = clearSession(ctx.dir);
  // The API's tokens are stateless JWTs: forgetting the token here is what logging out can do.
  ctx.print({ logged_out: had }, had ? 'logged out: the token is removed from this machine' : 'you were not logged in');
  return EXIT.ok;
}

export function whoamiCommand(ctx: CliContext): number {
  const s = ctx.session();
  ctx.print(sessionView(s), `${s.username || '(token from CHAT4ALL_TOKEN)'} ${s.user_id} on ${s.api}, until ${s.expires_at}`);
  return EXIT.ok;
}
