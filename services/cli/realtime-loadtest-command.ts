import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { realtimeSummary, runRealtime, writeRealtimeReport, type RealtimePlan } from '../../loadtest/realtime.ts';

export const REALTIME_USAGE = `  realtime  N WebSocket clients on the push gateways, messages at a fixed rate into their conversations:
            push latency (accept → frame received), lost, duplicated, out of order, gateway memory per connection.
            chat4all loadtest realtime [--clients N (200; 10000 is the target)] [--users N (50)] [--rate MSG/S (20)]
              [--duration S (20)] [--deadline S (10)] [--target API_URL --gateways WS_URL,WS_URL] [--out DIR]`;

const FLAGS = ['clients', 'users', 'rate', 'duration', 'deadline', 'target', 'gateways', 'out'] as const;

/** `chat4all loadtest realtime …`; resolves with the exit code (0 nothing lost, duplicated or out of order; 1 otherwise; 2 usage; 3 the run failed). */
export async function realtimeCommand(args: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const flags: Partial<Record<(typeof FLAGS)[number], string>> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    const value = inline ?? args[++i];
    if (!a.startsWith('--') || !(FLAGS as readonly string[]).includes(name) || value === undefined) {
      err(`chat4all loadtest realtime: bad argument ${a}\n\n${REALTIME_USAGE}`);
      return 2;
    }
    flags[name as (typeof FLAGS)[number]] = value;
  }
  const num = (name: (typeof FLAGS)[number], def: number, max: number) => {
    const n = flags[name] === undefined ? def : Number(flags[name]);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new Error(`--${name} must be a number in (0, ${max}], got "${flags[name]}"`);
    return n;
  };
  let plan: RealtimePlan;
  try {
    const clients = Math.round(num('clients', 200, 20_000));
    const { apiUrl, streamUrls } = flags.target && flags.gateways ? { apiUrl: flags.target, streamUrls: flags.gateways.split(',') } : runningPlatform();
    plan = {
      clients,
      users: Math.round(num('users', Math.min(clients, 50), 5000)),
      rate: num('rate', 20, 5000),
      durationS: num('duration', 20, 600),
      deadlineS: num('deadline', 10, 120),
      apiUrl,
      streamUrls,
    };
  } catch (e) {
    err(`chat4all loadtest realtime: ${(e as Error).message}\n\n${REALTIME_USAGE}`);
    return 2;
  }
  try {
    const result = await runRealtime(plan, (line) => err(line));
    for (const line of realtimeSummary(result)) out(line);
    const files = writeRealtimeReport(flags.out ?? join('reports', 'loadtest', `realtime-${new Date().toISOString().replace(/[:.]/g, '-')}`), plan, result);
    out(`  reports: ${files.markdown}, ${files.json}`);
    return result.lost === 0 && result.duplicated === 0 && result.out_of_order === 0 && result.accepted > 0 ? 0 : 1;
  } catch (e) {
    err(`chat4all loadtest realtime: the run failed: ${(e as Error).message}`);
    return 3;
  }
}

/** The API and the gateways of the platform `make up` runs (.data/platform.json). */
function runningPlatform(): { apiUrl: string; streamUrls: string[] } {
  const file = join(resolve(process.env.DATA_DIR ?? '.data'), 'platform.json');
  let info: { api_url?: string; stream_urls?: string[] };
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as typeof info;
  } catch {
    throw new Error(`no running platform found (${file} is missing): start it with 'make up', or pass --target and --gateways`);
  }
  if (!info.api_url || !info.stream_urls?.length) throw new Error(`${file} names no api_url or stream_urls: restart 'make up'`);
  return { apiUrl: info.api_url, streamUrls: info.stream_urls };
}
