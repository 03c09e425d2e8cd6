import { CliError, EXIT, usageError } from './cli-error.ts';
import type { CliContext } from './cli-context.ts';
import { downloadFile } from './file-download.ts';
import { uploadFile, type Progress, type UploadResult } from './file-upload.ts';
import { ProgressBar, formatBytes, type ProgressSink } from './progress-bar.ts';
import { basename } from 'node:path';

export const UPLOAD_USAGE = `usage: chat4all upload <file> --conversation <id> [--type CONTENT_TYPE] [--concurrency N] [--json]
  sends the file to object storage in parts, with a progress bar on stderr; Ctrl-C (or a lost
  connection) is safe: run the same command again and only the missing parts are sent.
  --json prints {"file_id","sha256","state"} when it is ready. Files up to 2 GiB.`;
export const DOWNLOAD_USAGE = `usage: chat4all download <file_id> [-o PATH] [--json]
  downloads a file of one of your conversations, checks its sha256, and resumes a partial
  download (PATH.part) when run again. Default PATH: the file's name in the current folder.`;

/** The progress sink of the CLI: the terminal's stderr, or plain lines through `stderr` (tests, pipes). */
function sinkOf(ctx: CliContext): ProgressSink {
  return ctx.io.progress ?? { isTTY: false, write: (s: string) => ctx.io.stderr(s.replace(/\n$/, '')) };
}

/** Ctrl-C aborts the transfer cleanly (the resume state is already on disk) instead of killing the process mid-write. */
function interruptible(ctx: CliContext): AbortController {
  const abort = new AbortController();
  ctx.io.onInterrupt?.(() => abort.abort(new CliError('interrupted', EXIT.error, { hint: 'run the same command again to resume' })));
  return abort;
}

/** Explains the API's refusals of a new upload in the words of the command. */
function explainRefusal(err: unknown): never {
  if (err instanceof CliError) {
    const status = err.extra.problem?.status;
    const hint =
      status === 413
        ? 'files are limited to 2 GiB (2,147,483,648 bytes)'
        : status === 415
          ? 'that content type is not allowed here; name another with --type if the guess from the extension was wrong (docs/files.md lists the allowed ones)'
          : status === 429 && /too-many-uploads$/.test(err.extra.problem?.type ?? '')
            ? 'you have too many uploads open: finish them (run their upload again) or wait until they expire'
            : err.extra.hint;
    throw new CliError(err.message, err.exitCode, { ...err.extra, hint });
  }
  throw err;
}

/** Uploads with progress bars for the hashing and the sending; shared by `upload` and `send --file`. */
export async function uploadWithProgress(ctx: CliContext, path: string, conversationId: string, flags: { type?: string; concurrency?: string }): Promise<UploadResult> {
  const concurrency = flags.concurrency === undefined ? 4 : Number(flags.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) throw usageError(`--concurrency takes a whole number from 1 to 32, got ${flags.concurrency}`, UPLOAD_USAGE);
  const session = ctx.session();
  const abort = interruptible(ctx);
  const sink = sinkOf(ctx);
  const name = basename(path);
  try {
    return await uploadFile({
      api: ctx.client(),
      userId: session.user_id,
      stateDir: ctx.dir,
      path,
      conversationId,
      contentType: flags.type,
      concurrency,
      signal: abort.signal,
      log: (line) => ctx.io.stderr(line),
      progress: (phase, total): Progress => new ProgressBar({ label: `${phase === 'hashing' ? 'hashing' : 'uploading'} ${name}`, total, sink }),
    });
  } catch (err) {
    if (abort.signal.aborted) throw abort.signal.reason;
    return explainRefusal(err);
  }
}

export async function uploadCommand(ctx: CliContext, positionals: string[], flags: { conversation?: string; type?: string; concurrency?: string }): Promise<number> {
  if (positionals.length !== 1) throw usageError('upload takes one file', UPLOAD_USAGE);
  if (!flags.conversation) throw usageError('upload needs --conversation <id>: a file belongs to the conversation it is sent in', UPLOAD_USAGE);
  const r = await uploadWithProgress(ctx, positionals[0]!, flags.conversation, flags);
  ctx.print(
    { file_id: r.file_id, sha256: r.sha256, state: r.state },
    `${r.state} ${r.file_id} (${formatBytes(r.size)}, sha256 ${r.sha256}${!r.resumed ? '' : r.parts_sent ? `, resumed: ${r.parts_sent} of ${r.part_count} parts sent by this run` : ', uploaded before: nothing sent'})`,
  );
  return EXIT.ok;
}

export async function downloadCommand(ctx: CliContext, positionals: string[], flags: { output?: string }): Promise<number> {
  if (positionals.length !== 1) throw usageError('download takes one file id', DOWNLOAD_USAGE);
  const abort = interruptible(ctx);
  const sink = sinkOf(ctx);
  try {
    const r = await downloadFile({
      api: ctx.client(),
      fileId: positionals[0]!,
      out: flags.output,
      overwrite: flags.output !== undefined,
      signal: abort.signal,
      log: (line) => ctx.io.stderr(line),
      progress: (total) => new ProgressBar({ label: `downloading ${positionals[0]}`, total, sink }),
    });
    ctx.print(
      { file_id: r.file.file_id, path: r.path, size: r.file.size, sha256: r.file.sha256 },
      `saved ${r.path} (${formatBytes(r.file.size)}, sha256 ${r.file.sha256} checked${r.resumed_from ? `, resumed from ${formatBytes(r.resumed_from)}` : ''})`,
    );
    return EXIT.ok;
  } catch (err) {
    if (abort.signal.aborted) throw abort.signal.reason;
    throw err;
  }
}
