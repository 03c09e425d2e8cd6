import { z } from 'zod';
import { isHttpUrl } from './json-body.ts';

const DEV_APP_SECRET = 'dev-app-secret';
const DEV_ACCESS_TOKEN = 'dev-provider-token';

const optionalUrl = (env: string) =>
  z
    .string()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || isHttpUrl(v), `${env} must be an absolute http(s) URL`)
    .describe(env);

/** Environment of the standalone simulator (`main.ts`). */
export const simConfigSchema = z.object({
  /** @default 9300 */
  SIM_PORT: z.coerce.number().int().min(0).max(65535).default(9300).describe('SIM_PORT: port to listen on'),
  /** @default "127.0.0.1" */
  SIM_HOST: z.string().min(1).default('127.0.0.1').describe('SIM_HOST: address to listen on'),
  /** @default "dev-app-secret" (dev only) */
  SIM_APP_SECRET: z.string().min(1).default(DEV_APP_SECRET).describe('SIM_APP_SECRET: HMAC key of X-Hub-Signature-256'),
  /** @default "dev-provider-token" (dev only) */
  SIM_ACCESS_TOKEN: z.string().min(1).default(DEV_ACCESS_TOKEN).describe('SIM_ACCESS_TOKEN: bearer token provider calls must carry'),
  /** @default none */
  SIM_WEBHOOK_WHATSAPP_URL: optionalUrl('SIM_WEBHOOK_WHATSAPP_URL'),
  /** @default none */
  SIM_WEBHOOK_INSTAGRAM_URL: optionalUrl('SIM_WEBHOOK_INSTAGRAM_URL'),
  /** @default 8000 */
  SIM_MEDIA_FETCH_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .max(600_000)
    .default(8000)
    .describe('SIM_MEDIA_FETCH_TIMEOUT_MS: how long fetching one media link may take, body included'),
  /** @default "info" */
  SIM_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('SIM_LOG_LEVEL: pino log level'),
});

/** The parsed environment, plus which secrets fell back to their dev defaults. */
export type SimEnvConfig = z.infer<typeof simConfigSchema> & { devSecrets: string[] };

/** Reads the simulator's environment; throws one error naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): SimEnvConfig {
  const parsed = simConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ');
    throw new Error(`invalid provider simulator configuration:\n  ${problems}`);
  }
  const devSecrets = [
    ...(parsed.data.SIM_APP_SECRET === DEV_APP_SECRET ? ['SIM_APP_SECRET'] : []),
    ...(parsed.data.SIM_ACCESS_TOKEN === DEV_ACCESS_TOKEN ? ['SIM_ACCESS_TOKEN'] : []),
  ];
  return { ...parsed.data, devSecrets };
}
