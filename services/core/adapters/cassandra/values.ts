/** A bigint, int or count from the driver (a `Long`, a `bigint` or a number) as a number. */
export function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof (v as { toNumber?: unknown }).toNumber === 'function') return (v as { toNumber(): number }).toNumber();
  return Number(v);
}

/** A text column as a string; null stays null. */
export const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
/** A value for a JSON text column; null stays null. */
export const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));
/** A JSON text column as a value; null (or empty) stays null. */
export const parse = <T>(v: unknown): T | null => (v === null || v === undefined || v === '' ? null : (JSON.parse(String(v)) as T));

/** Text order by code unit, for sorting rows that come from several partitions. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
