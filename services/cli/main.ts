import { createInterface } from 'node:readline';
import { runCli } from './run-cli.ts';
import type { CliIo } from './cli-context.ts';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Asks on the terminal; a hidden answer is not echoed (a password). */
async function prompt(question: string, hidden: boolean): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  // In raw mode Ctrl-C reaches readline, not the process: treat it as the usual interrupt.
  rl.on('SIGINT', () => process.exit(130));
  if (hidden) {
    // readline echoes through _writeToOutput: print the question, then nothing of what is typed.
    const r = rl as unknown as { _writeToOutput: (s: string) => void };
    process.stderr.write(question);
    r._writeToOutput = (s: string) => {
      if (s.includes('\n') || s.includes('\r')) process.stderr.write('\n');
    };
  }
  const answer = new Promise<string>((resolve) => rl.question(hidden ? '' : question, resolve));
  try {
    return await answer;
  } finally {
    rl.close();
  }
}

let onInterrupt: (() => void) | null = null;
process.on('SIGINT', () => {
  // The first Ctrl-C lets a long-running command (tail) stop cleanly and save its cursors; the second, or one with nothing to stop, exits.
  const stop = onInterrupt;
  onInterrupt = null;
  if (stop) stop();
  else process.exit(130);
});

const io: CliIo = {
  env: process.env,
  stdout: (s) => process.stdout.write(`${s}\n`),
  stderr: (s) => process.stderr.write(`${s}\n`),
  readStdin,
  prompt: process.stdin.isTTY ? prompt : undefined,
  onInterrupt: (stop) => {
    onInterrupt = stop;
  },
  progress: process.stderr,
};

runCli(process.argv.slice(2), io).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`chat4all: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
