import WebSocket from 'ws';
import { CliError, EXIT } from './cli-error.ts';
import type { CliContext } from './cli-context.ts';
import { HttpClient } from './http-client.ts';
import { parseProblem } from './problem-detail.ts';

interface Check {
  url: string;
  up: boolean;
  detail: string;
}

async function apiHealth(api: string): Promise<Check & { ready: boolean; checks?: Record<string, boolean> }> {
  const http = new HttpClient(api, undefined, 5000);
  try {
    const alive = await http.send('GET', '/healthz');
    const ready = await http.send('GET', '/readyz');
    const body = (parseProblem(await ready.text()) ?? {}) as { status?: string; checks?: Record<string, boolean>; detail?: string };
    const checks = body.checks ? Object.entries(body.checks).map(([k, v]) => `${k} ${v ? 'ok' : 'DOWN'}`).join(', ') : '';
    return {
      url: api,
      up: alive.ok,
      ready: ready.ok,
      checks: body.checks,
      detail: ready.ok ? `ready (${body.status ?? 'ok'}${checks ? `: ${checks}` : ''})` : `not ready: ${body.detail ?? ready.status}`,
    };
  } catch (err) {
    return { url: api, up: false, ready: false, detail: err instanceof CliError ? err.message : String(err) };
  }
}

/** Opens a stream with the session's token and waits for `ready`: the gateway, its auth and its store, end to end. */
function gatewayReady(url: string, token: string, timeoutMs = 5000): Promise<Check> {
  const started = Date.now();
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, handshakeTimeout: timeoutMs });
    const done = (up: boolean, detail: string) => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
      resolve({ url, up, detail });
    };
    const timer = setTimeout(() => done(false, `no ready frame within ${timeoutMs} ms`), timeoutMs);
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { type?: string };
      if (f.type === 'ready') done(true, `ready in ${Date.now() - started} ms`);
    });
    ws.on('unexpected-response', (_req, res) => done(false, `upgrade refused: HTTP ${res.statusCode}`));
    ws.on('close', (code, reason) => done(false, `closed ${code} ${reason.toString()}`.trim()));
    ws.on('error', (err) => done(false, err.message));
  });
}

/** The gateway's own readiness (`/readyz` on its HTTP port: the bus and the store it reads). */
async function gatewayReadyz(url: string): Promise<Check> {
  const http = new URL('/readyz', url);
  http.protocol = http.protocol === 'wss:' ? 'https:' : 'http:';
  try {
    const res = await fetch(http, { signal: AbortSignal.timeout(5000) });
    const body = parseProblem(await res.text()) as { detail?: string } | null;
    return { url, up: res.ok, detail: res.ok ? 'ready' : `not ready: ${body?.detail ?? res.status}` };
  } catch (err) {
    return { url, up: false, detail: `unreachable (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message})` };
  }
}

/** Ready, and (with a session) a stream reaches `ready`. */
async function gatewayHealth(url: string, token: string | null): Promise<Check> {
  const own = await gatewayReadyz(url);
  if (!own.up || !token) return token ? own : { ...own, detail: `${own.detail}; log in for an end-to-end check` };
  const stream = await gatewayReady(url, token);
  return { url, up: stream.up, detail: `ready; stream ${stream.detail}` };
}

/** `chat4all status`: the API's liveness and readiness (store, bus) and the gateway; exit 5 when something is down. */
export async function statusCommand(ctx: CliContext): Promise<number> {
  let token: string | null = null;
  try {
    token = ctx.session().access_token;
  } catch {
    token = null;
  }
  const [api, gateway] = await Promise.all([apiHealth(ctx.api), gatewayHealth(ctx.gateway, token)]);
  const healthy = api.up && api.ready && gateway.up;
  ctx.print({ healthy, api, gateway }, [
    `api      ${api.url}  ${api.up ? 'up' : 'DOWN'}  ${api.detail}`,
    `gateway  ${gateway.url}  ${gateway.up ? 'up' : 'DOWN'}  ${gateway.detail}`,
  ]);
  return healthy ? EXIT.ok : EXIT.unavailable;
}
