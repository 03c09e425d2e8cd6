import type { z } from 'zod';
import { badRequest } from '../core/errors.ts';

/** `payload.text`, `channels[0]`: a zod issue path as a client would write it. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(body)';
}

/** Parses `value` with `schema`, or throws a 400 naming every bad field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what = 'request body'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({ field: fieldName(i.path), message: i.message }));
  const fields = [...new Set(errors.map((e) => e.field))].join(', ');
  throw badRequest(`invalid ${what}: ${fields}`, errors);
}
