import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { runOpenLoad } from '../loadtest/generator.ts';
const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-http-server.ts'], { stdio: ['pipe', 'pipe', 'inherit'] });
const port = await new Promise<number>((r) => createInterface({ input: child.stdout! }).on('line', (l) => r(Number(l.split(' ')[1]))));
const fake = { conversations: Array.from({ length: 10 }, (_, i) => ({ conversationId: `c${i}`, token: 'x', to: '+5500000000000', channel: 'whatsapp' as const })) };
for (const [rate, mif] of [[5000, 2000], [20000, 2000], [100000, 2000], [100000, 200], [100000, 64]] as const) {
  const c0 = process.cpuUsage();
  const t = performance.now();
  const r = await runOpenLoad({ target: { apiUrl: `http://127.0.0.1:${port}`, simUrl: '' }, prepared: fake, rate, durationMs: 3000, maxInFlight: mif, connections: 64, trackDelivery: false });
  const cu = process.cpuUsage(c0);
  console.log(rate, mif, 'accepted/s', r.accepted_per_s, 'dropped', r.dropped_by_client, 'p50', r.http_ms.p50, 'lag', r.max_schedule_lag_ms, 'gen cpu%', Math.round((cu.user + cu.system) / 10 / (performance.now() - t)));
}
child.kill('SIGTERM');
