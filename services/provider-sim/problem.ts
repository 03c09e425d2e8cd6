import type { Response } from 'express';
import type { z } from 'zod';

/** One invalid field of a request. */
export interface FieldError {
  field: string;
  message: string;
}

/** Answers an RFC 9457 `application/problem+json` error. */
export function sendProblem(res: Response, status: number, title: string, detail: string, errors?: FieldError[]): void {
  const slug = title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: `urn:chat4all:provider-sim:${slug}`, title, status, detail, ...(errors ? { errors } : {}) }));
}

/** Every issue of a failed zod parse, as field errors. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    // zod reports unknown keys on the parent object; name each key so the typo is visible.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: [...path, key].join('.'), message: 'unknown field' }));
    }
    return [{ field: path.join('.') || '(body)', message: issue.message }];
  });
}

/** Answers 400 for a request that failed validation, naming every bad field at once. */
export function sendValidationProblem(res: Response, error: z.ZodError): void {
  const errors = fieldErrors(error);
  sendProblem(res, 400, 'Invalid request', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
}
