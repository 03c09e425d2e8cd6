import { CliError, EXIT, usageError } from './cli-error.ts';
import type { CliContext } from './cli-context.ts';

export const USERS_USAGE = `usage: chat4all users find <username>   (exact match)`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface FoundUser {
  user_id: string;
  username: string;
}

/** Looks a user up by exact username (`GET /v1/users?username=`); null when nobody has it. */
export async function findUser(ctx: CliContext, username: string): Promise<FoundUser | null> {
  try {
    const found = await ctx.client().request<FoundUser>('GET', `/v1/users?username=${encodeURIComponent(username)}`);
    return found.username === username ? found : null;
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.notFound) return null;
    throw err;
  }
}

/** A user id as given, or the id of the user with that exact username. */
export async function resolveUser(ctx: CliContext, nameOrId: string): Promise<string> {
  if (UUID.test(nameOrId)) return nameOrId;
  const u = await findUser(ctx, nameOrId);
  if (!u) throw new CliError(`no user is called ${nameOrId}`, EXIT.notFound, { hint: 'usernames match exactly; a user id works too' });
  return u.user_id;
}

export async function usersCommand(ctx: CliContext, positionals: string[]): Promise<number> {
  const [sub, username] = positionals;
  if (sub !== 'find' || !username) throw usageError(sub === 'find' ? 'find needs a username' : `unknown users command "${sub ?? ''}"`, USERS_USAGE);
  const u = await findUser(ctx, username);
  if (!u) throw new CliError(`no user is called ${username}`, EXIT.notFound);
  ctx.print(u, `${u.username}  ${u.user_id}`);
  return EXIT.ok;
}
