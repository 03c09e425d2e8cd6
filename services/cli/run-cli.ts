import { runDemo } from './demo.ts';
import { runCrossChannelDemo } from './cross-channel-demo.ts';
import { control, platformCommand } from './platform-command.ts';
import { dlqCommand } from './dlq-command.ts';
import { adminCommand } from './admin-command.ts';
import { loadtestCommand } from './loadtest-command.ts';
import { experimentCommand } from './experiment-command.ts';
import { CliError, EXIT, usageError } from './cli-error.ts';
import { CliContext, parseFlags, type CliIo } from './cli-context.ts';
import { LOGIN_USAGE, REGISTER_USAGE, loginCommand, logoutCommand, registerCommand, whoamiCommand } from './account-commands.ts';
import { CONVERSATIONS_USAGE, conversationsCommand } from './conversations-command.ts';
import { MESSAGES_USAGE, SEND_USAGE, messageCommand, messagesCommand, readCommand, sendCommand } from './message-commands.ts';
import { IDENTITIES_USAGE, identitiesCommand } from './identities-command.ts';
import { USERS_USAGE, usersCommand } from './users-command.ts';
import { TAIL_USAGE, tailCommand } from './tail-command.ts';
import { statusCommand } from './status-command.ts';
import { DOWNLOAD_USAGE, UPLOAD_USAGE, downloadCommand, uploadCommand } from './file-commands.ts';

export const USAGE = `usage: chat4all <command> [--api URL] [--gateway URL] [--json]

for people (docs/cli.md):
  register | login | logout | whoami      your account; the token is kept in ~/.config/chat4all (0600)
  users find <username>                   find someone to talk to (exact username)
  conversations [list|show|create|add|remove|leave]
  send <conversation_id> <text…>          send a text; --file FILE [--caption TEXT] sends a file
  upload <file> --conversation ID         a file up to 2 GiB, with progress; run it again to resume
  download <file_id> [-o PATH]            with progress and sha256 check; resumes a partial download
  messages <conversation_id>              history, with the status for each recipient
  message <message_id> | read <message_id>
  identities [list|link|verify|remove]    your WhatsApp numbers and Instagram accounts
  tail                                    live events over the gateway, with reconnect and catch-up
  status                                  is the platform up: the API (store, bus) and the gateway
  --api URL      the API (CHAT4ALL_API; default http://127.0.0.1:8080)
  --gateway URL  the push gateway (CHAT4ALL_GATEWAY; default ws://127.0.0.1:8081/v1/stream)
  --json         machine-readable output: one JSON document per answer (tail: one per event)
  exit codes: 0 ok, 1 refused or failed, 2 usage, 3 auth, 4 not found, 5 unreachable or not ready, 6 not available yet

for operators:
  demo [--api URL]     send a message from Alice to Bob on every channel and show its statuses
  demo cross-channel [--api URL] [--sim URL]   Maria on WhatsApp and Bob on Instagram talk; prints each message's path
  platform ps                          list the local platform's processes
  platform kill <name> [--signal KILL|TERM]   stop one (it stays down until start)
  platform start <name>                start a stopped process again
  platform scale router=<n>            run n routers
  platform broker down|up              take the dev Kafka broker off the network and back
  platform down                        stop everything
  loadtest <scenario> [--rate N] [--duration S] [--target URL]   open-model load (warmup, baseline, spike, soak, steady)
  experiment list | run <name|all> [--platform local] [--out DIR] [--dry-run] [--duration S] [--rate N]
  dlq list | show <id> | replay <id|--all> [--value-file F] | purge   dead letters (admin)
  admin grant|revoke <username>        make or unmake an admin, in the store the environment names (STORE_DRIVER, SQLITE_PATH…)
`;

/** Reads `--name value` from the arguments. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

const PEOPLE_USAGE: Record<string, string> = {
  login: LOGIN_USAGE,
  register: REGISTER_USAGE,
  logout: 'usage: chat4all logout',
  whoami: 'usage: chat4all whoami',
  users: USERS_USAGE,
  conversations: CONVERSATIONS_USAGE,
  send: SEND_USAGE,
  messages: MESSAGES_USAGE,
  message: MESSAGES_USAGE,
  read: MESSAGES_USAGE,
  identities: IDENTITIES_USAGE,
  tail: TAIL_USAGE,
  upload: UPLOAD_USAGE,
  download: DOWNLOAD_USAGE,
  status: 'usage: chat4all status   the API (alive, ready: store, bus) and the gateway (with a session: a stream that reaches ready)',
};

/** The flags each command for people takes (besides --api, --gateway, --json, --help). */
const FLAGS = {
  login: { username: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
  register: { username: { type: 'string' }, email: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
  conversations: { private: { type: 'boolean' }, group: { type: 'boolean' }, name: { type: 'string' } },
  send: { channels: { type: 'string' }, file: { type: 'string' }, id: { type: 'string' }, conversation: { type: 'string' }, caption: { type: 'string' }, type: { type: 'string' } },
  upload: { conversation: { type: 'string' }, type: { type: 'string' }, concurrency: { type: 'string' } },
  download: { output: { type: 'string', short: 'o' } },
  messages: { after: { type: 'string' }, limit: { type: 'string' }, all: { type: 'boolean' } },
  tail: { conversation: { type: 'string', multiple: true }, count: { type: 'string' }, timeout: { type: 'string' }, 'no-ack': { type: 'boolean' } },
} as const;

async function peopleCommand(command: string, args: string[], io: CliIo): Promise<number> {
  const usage = PEOPLE_USAGE[command]!;
  const { values, positionals } = parseFlags(args, FLAGS[command as keyof typeof FLAGS] ?? {}, usage);
  if (values.help) {
    io.stdout(usage);
    return EXIT.ok;
  }
  const ctx = new CliContext(io, values as { api?: string; gateway?: string; json?: boolean });
  const v = values as Record<string, never>;
  const noPositionals = () => {
    if (positionals.length) throw usageError(`${command} takes no arguments, got "${positionals.join(' ')}"`, usage);
  };
  switch (command) {
    case 'login':
      noPositionals();
      return loginCommand(ctx, v);
    case 'register':
      noPositionals();
      return registerCommand(ctx, v);
    case 'logout':
      noPositionals();
      return logoutCommand(ctx);
    case 'whoami':
      noPositionals();
      return whoamiCommand(ctx);
    case 'users':
      return usersCommand(ctx, positionals);
    case 'conversations':
      return conversationsCommand(ctx, positionals, v);
    case 'send':
      return sendCommand(ctx, positionals, v);
    case 'messages':
      return messagesCommand(ctx, positionals, v);
    case 'message':
      return messageCommand(ctx, positionals);
    case 'read':
      return readCommand(ctx, positionals);
    case 'identities':
      return identitiesCommand(ctx, positionals);
    case 'tail':
      noPositionals();
      return tailCommand(ctx, v);
    case 'upload':
      return uploadCommand(ctx, positionals, v);
    case 'download':
      return downloadCommand(ctx, positionals, v);
    default:
      noPositionals();
      return statusCommand(ctx);
  }
}

/** Prints a failure for a person (or as JSON with --json) and gives its exit code. */
function report(err: unknown, args: string[], io: CliIo): number {
  const known = err instanceof CliError ? err : null;
  const code = known?.exitCode ?? EXIT.error;
  const message = err instanceof Error ? err.message : String(err);
  if (args.includes('--json')) {
    io.stderr(JSON.stringify({ error: { message, exit_code: code, hint: known?.extra.hint, problem: known?.extra.problem } }));
  } else {
    io.stderr(`chat4all: ${message}`);
    if (known?.extra.hint) io.stderr(known.extra.hint);
  }
  return code;
}

/** The whole `chat4all` command line; returns the exit code (docs/cli.md lists them). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv;
  const out = (s: string) => io.stdout(s);
  try {
    if (command && command in PEOPLE_USAGE) return await peopleCommand(command, args, io);
    switch (command) {
      case 'demo': {
        const apiUrl = flag(args, 'api') ?? io.env.CHAT4ALL_API ?? 'http://127.0.0.1:8080';
        if (args[0] === 'cross-channel') {
          const simUrl = flag(args, 'sim') ?? io.env.CHAT4ALL_SIM ?? (await platformSimUrl());
          await runCrossChannelDemo({ apiUrl, simUrl }, out);
        } else await runDemo(apiUrl, out);
        return EXIT.ok;
      }
      case 'platform':
        return await platformCommand(args, out);
      case 'loadtest':
        return await loadtestCommand(args, out, (s) => io.stderr(s));
      case 'experiment':
        return await experimentCommand(args, out);
      case 'dlq':
        return await dlqCommand(args, out);
      case 'admin':
        return await adminCommand(args, io.env, out);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        (command ? io.stdout : io.stderr)(USAGE.trimEnd());
        return command ? EXIT.ok : EXIT.usage;
      default:
        throw usageError(`unknown command "${command}"`, USAGE.trimEnd());
    }
  } catch (err) {
    return report(err, args, io);
  }
}

/** The provider simulator of the platform `make up` runs (its control API names it). */
async function platformSimUrl(): Promise<string> {
  try {
    const procs = await control<{ sim_url?: string }>('GET', '/processes');
    if (procs.sim_url) return procs.sim_url;
  } catch {
    // No local platform to ask: say what to pass instead.
  }
  throw usageError('demo cross-channel needs the provider simulator: pass --sim URL or set CHAT4ALL_SIM (or start the platform with make up)');
}
