import { problemDetail } from './problem-detail.ts';
import { resolve } from 'node:path';
import { readPlatformState } from '../platform/platform-state.ts';
import type { ProcessInfo } from '../platform/supervisor.ts';
import { processTable } from '../platform/status-view.ts';

export const PLATFORM_USAGE = `usage: chat4all platform <ps | kill <name> [--signal KILL|TERM] | start <name> | scale router=<n> | broker down|up | down>`;

/**
 * Where the running supervisor listens and the token its control API requires: from
 * `.data/platform.json`, or CHAT4ALL_CONTROL and CHAT4ALL_CONTROL_TOKEN.
 */
export function controlTarget(): { url: string; token: string } {
  if (process.env.CHAT4ALL_CONTROL) return { url: process.env.CHAT4ALL_CONTROL, token: process.env.CHAT4ALL_CONTROL_TOKEN ?? '' };
  const state = readPlatformState(resolve(process.env.DATA_DIR ?? '.data'));
  return { url: state.control_url, token: state.control_token ?? '' };
}

/** Calls the control API with its token; a problem answer becomes an error with its detail. */
export async function control<T>(method: string, path: string, body?: unknown): Promise<T> {
  const { url, token } = controlTarget();
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new Error(`the platform at ${url} does not answer: is 'make up' still running?`);
  }
  const text = await res.text();
  if (!res.ok) {
    throw new Error(problemDetail(text));
  }
  return JSON.parse(text) as T;
}

export async function platformCommand(args: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'ps': {
      const r = await control<{ processes: ProcessInfo[] }>('GET', '/processes');
      out(processTable(r.processes));
      return 0;
    }
    case 'kill': {
      const name = rest[0];
      if (!name) throw new Error(`kill needs a process name\n${PLATFORM_USAGE}`);
      const i = rest.indexOf('--signal');
      const signal = (i >= 0 ? rest[i + 1] : 'KILL')?.toUpperCase().replace(/^SIG/, '');
      if (signal !== 'KILL' && signal !== 'TERM') throw new Error(`--signal must be KILL or TERM, got ${rest[i + 1]}`);
      const p = await control<ProcessInfo>('POST', `/processes/${encodeURIComponent(name)}/kill`, { signal });
      out(`${p.name}: ${p.state} (signal ${p.signal ?? signal}); it stays down until 'chat4all platform start ${p.name}'`);
      return 0;
    }
    case 'start': {
      const name = rest[0];
      if (!name) throw new Error(`start needs a process name\n${PLATFORM_USAGE}`);
      const p = await control<ProcessInfo>('POST', `/processes/${encodeURIComponent(name)}/start`);
      out(`${p.name}: ${p.state}, pid ${p.pid}`);
      return 0;
    }
    case 'scale': {
      const m = /^router=(\d+)$/.exec(rest[0] ?? '');
      if (!m) throw new Error(`scale takes router=<n>, e.g. 'chat4all platform scale router=3'`);
      const r = await control<{ processes: ProcessInfo[] }>('POST', '/scale', { role: 'router', replicas: Number(m[1]) });
      out(processTable(r.processes));
      return 0;
    }
    case 'broker': {
      const action = rest[0];
      if (action !== 'down' && action !== 'up') throw new Error(`broker takes down or up`);
      await control('POST', '/broker', { action });
      out(`broker ${action}`);
      return 0;
    }
    case 'down':
      await control('POST', '/down');
      out('the platform is stopping');
      return 0;
    default:
      throw new Error(PLATFORM_USAGE);
  }
}
