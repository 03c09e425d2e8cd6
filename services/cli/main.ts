import { runDemo } from './demo.ts';
import { platformCommand } from './platform-command.ts';
import { dlqCommand } from './dlq-command.ts';
import { loadtestCommand } from './loadtest-command.ts';
import { experimentCommand } from './experiment-command.ts';

const USAGE = `usage: chat4all <command>

commands:
  demo [--api URL]     send a message from Alice to Bob on every channel and show its statuses
  platform ps                          list the local platform's processes
  platform kill <name> [--signal KILL|TERM]   stop one (it stays down until start)
  platform start <name>                start a stopped process again
  platform scale router=<n>            run n routers
  platform broker down|up              take the dev Kafka broker off the network and back
  platform down                        stop everything
  loadtest <scenario> [--rate N] [--duration S] [--target URL]   open-model load (warmup, baseline, spike, soak, steady)
  experiment list | run <name|all> [--platform local] [--out DIR] [--dry-run] [--duration S] [--rate N]
  dlq list | show <id> | replay <id|--all> [--value-file F] | purge   dead letters (admin)
`;

/** Reads `--name value` from the arguments. */
export function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'demo':
      await runDemo(flag(args, 'api') ?? process.env.CHAT4ALL_API ?? 'http://127.0.0.1:8080');
      return 0;
    case 'platform':
      return platformCommand(args, (s) => process.stdout.write(`${s}\n`));
    case 'loadtest':
      return loadtestCommand(args, (s) => process.stdout.write(`${s}\n`), (s) => process.stderr.write(`${s}\n`));
    case 'experiment':
      return experimentCommand(args, (s) => process.stdout.write(`${s}\n`));
    case 'dlq':
      return dlqCommand(args, (s) => process.stdout.write(`${s}\n`));
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(USAGE);
      return command ? 0 : 2;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chat4all: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
