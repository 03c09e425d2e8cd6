import { buildStores } from '../core/build-adapters.ts';
import { loadConfig } from '../core/config.ts';
import { CliError, EXIT, usageError } from './cli-error.ts';

export const ADMIN_USAGE = `usage: chat4all admin grant|revoke <username>
  Gives or takes the admin role (dead letters), directly in the store: run it where the services'
  store settings are (STORE_DRIVER and SQLITE_PATH or DATA_DIR, or CASSANDRA_*), for example with
  \`kubectl exec deploy/<release>-api -- node dist/services/cli/main.js admin grant ops\`.
  Takes effect at the user's next request; no name is ever an admin by registering.`;

/**
 * `chat4all admin grant|revoke <username>`: the operator action that makes (or unmakes) an admin.
 * It opens the store the environment names, like the services do, so only someone who holds
 * the store's settings and credentials can run it.
 */
export async function adminCommand(args: string[], env: NodeJS.ProcessEnv, out: (line: string) => void): Promise<number> {
  const [verb, username, ...rest] = args;
  if (verb === '--help' || verb === 'help') {
    out(ADMIN_USAGE);
    return EXIT.ok;
  }
  if ((verb !== 'grant' && verb !== 'revoke') || !username || rest.length) throw usageError('admin takes grant|revoke and one username', ADMIN_USAGE);
  const config = loadConfig(env, { service: 'admin' });
  if (config.store === 'memory') {
    throw new CliError('STORE_DRIVER=memory: each process has its own store, there is nothing to change from here', EXIT.error, {
      hint: 'set STORE_DRIVER=sqlite with the SQLITE_PATH (or DATA_DIR) of the running platform, or STORE_DRIVER=cassandra with its CASSANDRA_* settings',
    });
  }
  const where = config.store === 'sqlite' ? `SQLite ${config.sqlitePath}` : `Cassandra keyspace ${config.cassandraKeyspace}`;
  const stores = await buildStores(config);
  try {
    const user = await stores.users.findUserByName(username);
    if (!user) throw new CliError(`no user "${username}" in ${where}`, EXIT.notFound, { hint: 'register the user first (chat4all register), then grant' });
    const role = verb === 'grant' ? 'admin' : 'user';
    await stores.users.setRole(user.user_id, role);
    out(`${username} (${user.user_id}) is now ${role === 'admin' ? 'an admin' : 'a user'} in ${where}; effective at its next request`);
    return EXIT.ok;
  } finally {
    await stores.close();
  }
}
