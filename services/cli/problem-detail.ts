import type { Problem } from '../core/problem.ts';

/** The answer's body as a problem+json, when it is one. */
export function parseProblem(text: string): Partial<Problem> | null {
  try {
    const p = JSON.parse(text) as unknown;
    return p && typeof p === 'object' && !Array.isArray(p) ? (p as Partial<Problem>) : null;
  } catch {
    return null;
  }
}

/** The `detail` of a problem+json answer, or the answer's text when it is not one. */
export function problemDetail(text: string): string {
  return parseProblem(text)?.detail ?? text;
}

/** A problem as one or more lines for a person: its detail, then each bad field. */
export function describeProblem(p: Partial<Problem>, fallback: string): string {
  const lines = [p.detail ?? p.title ?? fallback];
  for (const e of p.errors ?? []) lines.push(`  ${e.field}: ${e.message}`);
  return lines.join('\n');
}
