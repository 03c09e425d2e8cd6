import { CliError, EXIT, notYet, usageError } from './cli-error.ts';
import type { CliContext } from './cli-context.ts';
import { isMissingRoute } from './http-client.ts';

export const USERS_USAGE = `usage: chat4all users find <username>   (exact match; needs GET /v1/users?username=, issue #13)`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface FoundUser {
  user_id: string;
  username: string;
}

/** Looks a user up by exact username (issue #13's `GET /v1/users?username=`); null when nobody has it. */
export async function findUser(ctx: CliContext, username: string): Promise<FoundUser | null> {
  let found: { users?: FoundUser[] } | FoundUser;
  try {
    found = await ctx.client().request('GET', `/v1/users?username=${encodeURIComponent(username)}`);
  } catch (err) {
    if (isMissingRoute(err)) throw notYet('finding users by username', 13);
    if (err instanceof CliError && err.exitCode === EXIT.notFound) return null;
    throw err;
  }
  // The issue names the route, not the answer's shape: accept a list or a single user.
  const users = 'users' in found && Array.isArray(found.users) ? found.users : [found as FoundUser];
  return users.find((u) => u.username === username) ?? null;
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
