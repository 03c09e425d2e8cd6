import { ApiException } from '@kubernetes/client-node';
import { AppError } from '../services/core/errors.ts';

/**
 * A Kubernetes API call that failed, translated at the boundary: what was asked, the HTTP
 * status and the API server's own message. Conflicts, throttling and server errors are retriable.
 */
export class KubernetesApiError extends AppError {
  constructor(
    readonly what: string,
    readonly httpStatus: number | null,
    detail: string,
    cause?: unknown,
  ) {
    const retriable = httpStatus === null || httpStatus === 409 || httpStatus === 429 || httpStatus >= 500;
    super('kubernetes_api', `${what}: ${httpStatus === null ? '' : `${httpStatus} `}${detail}`, { retriable, cause });
    this.name = 'KubernetesApiError';
  }
}

/** Something the Kubernetes driver cannot do; the message says why and what to use instead. */
export class NotSupportedError extends AppError {
  constructor(message: string) {
    super('not_supported', `not supported by the kubernetes driver: ${message}`, { retriable: false });
    this.name = 'NotSupportedError';
  }
}

/** The HTTP status of a failed client-node call (null when it never got an answer). */
export function statusOf(err: unknown): number | null {
  if (err instanceof KubernetesApiError) return err.httpStatus;
  if (err instanceof ApiException) return err.code;
  return null;
}

/** Runs one API call; a failure becomes a `KubernetesApiError` naming `what`. */
export async function kube<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ApiException) {
      const body: unknown = err.body;
      let detail: string;
      if (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string') detail = (body as { message: string }).message;
      else if (typeof body === 'string' && body) {
        try {
          detail = String((JSON.parse(body) as { message?: unknown }).message ?? body);
        } catch {
          detail = body;
        }
      } else detail = err.code === 401 ? 'Unauthorized' : err.code === 403 ? 'Forbidden' : 'no detail';
      throw new KubernetesApiError(what, err.code, detail.slice(0, 500), err);
    }
    throw new KubernetesApiError(what, null, err instanceof Error ? err.message : String(err), err);
  }
}
