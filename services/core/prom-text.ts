/** One sample line of the Prometheus text format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the Prometheus text exposition format (what prom-client serves); comments and malformed lines are skipped. */
export function parsePromText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The finite values of `name` over the label sets matching `labels`. */
function valuesOf(samples: PromSample[], name: string, labels: Record<string, string>): number[] {
  return samples
    .filter((s) => s.name === name && Number.isFinite(s.value) && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .map((s) => s.value);
}

/** Sums `name` over the label sets matching `labels`; null when none matches. */
export function sumOf(samples: PromSample[] | null, name: string, labels: Record<string, string> = {}): number | null {
  const vs = samples ? valuesOf(samples, name, labels) : [];
  return vs.length ? vs.reduce((a, b) => a + b, 0) : null;
}

/** The largest value of `name` over the label sets matching `labels`; null when none matches. */
export function maxOf(samples: PromSample[] | null, name: string, labels: Record<string, string> = {}): number | null {
  const vs = samples ? valuesOf(samples, name, labels) : [];
  return vs.length ? Math.max(...vs) : null;
}

/** A process's `/metrics` text, or null when it does not answer (well) within `timeoutMs`. */
export async function fetchMetrics(baseUrl: string, timeoutMs: number): Promise<string | null> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}
