import { AppError } from './errors.ts';

/** An RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: { field: string; message: string }[];
  /** Extension members (RFC 9457 §3.2): what the client needs to act on the problem. */
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Renders any error as a problem; unknown errors become a 500 without internals. */
export function toProblem(err: unknown, instance?: string): { problem: Problem; headers: Record<string, string> } {
  if (err instanceof AppError) {
    const problem: Problem = {
      ...err.extensions,
      type: `https://chat4all.dev/problems/${err.code.replace(/_/g, '-')}`,
      title: TITLES[err.status] ?? 'Error',
      status: err.status,
      detail: err.message,
    };
    if (instance) problem.instance = instance;
    if (err.errors) problem.errors = err.errors;
    return { problem, headers: err.headers ?? {} };
  }
  return {
    problem: { type: 'about:blank', title: TITLES[500]!, status: 500, detail: 'an unexpected error occurred', instance },
    headers: {},
  };
}
