/**
 * The built-in development secrets, by the variable they stand in for. They are published (this
 * file), so the dev profile lists the ones in use at start and production refuses every one of them.
 */
export const DEV_SECRETS = {
  JWT_SECRET: 'dev-only-jwt-secret-change-me-0123456789',
  AUTH_CLIENTS: 'demo-client:demo-secret',
  META_APP_SECRET: 'dev-app-secret',
  WEBHOOK_VERIFY_TOKEN: 'dev-verify-token',
  WHATSAPP_TOKEN: 'dev-provider-token',
  INSTAGRAM_TOKEN: 'dev-provider-token',
  // s3rver's fixed keys: what the local platform's object store accepts.
  S3_ACCESS_KEY_ID: 'S3RVER',
  S3_SECRET_ACCESS_KEY: 'S3RVER',
} as const;

/** The secret settings, their variables and the shortest value production accepts. */
const SECRETS = [
  { key: 'jwtSecret', env: 'JWT_SECRET', min: 32 },
  { key: 'authClients', env: 'AUTH_CLIENTS', min: 0 },
  { key: 'metaAppSecret', env: 'META_APP_SECRET', min: 16 },
  { key: 'webhookVerifyToken', env: 'WEBHOOK_VERIFY_TOKEN', min: 16 },
  { key: 'whatsappToken', env: 'WHATSAPP_TOKEN', min: 16 },
  { key: 'instagramToken', env: 'INSTAGRAM_TOKEN', min: 16 },
  // MinIO's own minimums (3 and 8 characters).
  { key: 's3AccessKey', env: 'S3_ACCESS_KEY_ID', min: 3 },
  { key: 's3SecretKey', env: 'S3_SECRET_ACCESS_KEY', min: 8 },
  // Optional and without a dev default: only set while an install creates its first admin.
  { key: 'adminBootstrapToken', env: 'ADMIN_BOOTSTRAP_TOKEN', min: 32 },
] as const;
export type SecretKey = (typeof SECRETS)[number]['key'];

/** The shortest secret of a service client (`AUTH_CLIENTS`) production accepts. */
export const MIN_CLIENT_SECRET_LENGTH = 24;

/** Which process loads the config: each requires only the secrets it reads. */
export const SERVICE_KINDS = ['api', 'router', 'connectors', 'gateway', 'platform', 'admin'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

/**
 * The secrets a service reads. The connectors, which parse bodies from the internet, hold no JWT
 * secret and no client credentials; the router holds none of these; the one-process platform all.
 */
export function secretsOf(service: ServiceKind, connectorChannels: readonly string[]): SecretKey[] {
  switch (service) {
    case 'api':
      return ['jwtSecret', 'authClients', 'adminBootstrapToken', 's3AccessKey', 's3SecretKey'];
    case 'router':
      return [];
    case 'admin':
      // `chat4all admin`: an operator's command that reads only the store settings.
      return [];
    case 'gateway':
      // It verifies the API's access tokens.
      return ['jwtSecret'];
    case 'connectors':
      // The object store's keys: a file message's link is a URL presigned with them.
      return ['metaAppSecret', 'webhookVerifyToken', 's3AccessKey', 's3SecretKey', ...connectorChannels.map((c) => (c === 'whatsapp' ? 'whatsappToken' : 'instagramToken') as SecretKey)];
    case 'platform':
      return SECRETS.map((s) => s.key);
  }
}

/** The secrets of a loaded config, as `productionSecretProblems` and `devSecretsInUse` read them. */
type SecretValues = Partial<Record<SecretKey, string>> & { service: ServiceKind; connectorChannels: readonly string[] };

/**
 * What production refuses in the secrets of the service that loads the config: a secret it reads
 * that is missing, a published dev value, or one shorter than its minimum (each client's secret in
 * `AUTH_CLIENTS` too). Every problem names the variable and how to fix it.
 */
export function productionSecretProblems(c: SecretValues): { path: string[]; message: string }[] {
  const problems: { path: string[]; message: string }[] = [];
  const needed = secretsOf(c.service, c.connectorChannels);
  const devValues = new Set<string>(Object.values(DEV_SECRETS));
  for (const { key, env, min } of SECRETS) {
    const value = c[key];
    if (!value) {
      // AUTH_CLIENTS may be empty: then no service client can get a token. No bootstrap token:
      // no `POST /v1/admin/bootstrap`. No S3 keys: the object store is reached anonymously (a
      // bucket policy, or the pod's own credentials, must then allow it).
      const optional: SecretKey[] = ['authClients', 'adminBootstrapToken', 's3AccessKey', 's3SecretKey'];
      if (needed.includes(key) && !optional.includes(key)) {
        problems.push({ path: [key], message: `${env} is required when CHAT4ALL_PROFILE=production (service ${c.service}): set it from your secret store` });
      }
      continue;
    }
    if (key === 'authClients') {
      for (const part of value.split(',').map((x) => x.trim()).filter(Boolean)) {
        const i = part.indexOf(':');
        const [id, secret] = i > 0 ? [part.slice(0, i), part.slice(i + 1)] : [part, ''];
        if (secret === 'demo-secret' || devValues.has(part)) {
          problems.push({ path: [key], message: `AUTH_CLIENTS gives client ${id} the published dev secret: generate one (e.g. openssl rand -base64 32) for CHAT4ALL_PROFILE=production` });
        } else if (secret.length < MIN_CLIENT_SECRET_LENGTH) {
          problems.push({ path: [key], message: `AUTH_CLIENTS: the secret of client ${id} is ${secret.length} characters, production needs at least ${MIN_CLIENT_SECRET_LENGTH}: generate a longer one (openssl rand -base64 32)` });
        }
      }
    } else if (devValues.has(value)) {
      problems.push({ path: [key], message: `${env} is a published dev default, refused when CHAT4ALL_PROFILE=production: set a value of your own from your secret store` });
    } else if (value.length < min) {
      problems.push({ path: [key], message: `${env} is ${value.length} characters, production needs at least ${min}: generate a longer one (openssl rand -base64 ${Math.max(32, min)})` });
    }
  }
  return problems;
}

/** The variables among `keys` whose value is a published dev default, unset or set to it. */
export function devSecretsInUse(c: Partial<Record<SecretKey, string>>, keys: readonly SecretKey[]): (keyof typeof DEV_SECRETS)[] {
  const isDev = (env: string): env is keyof typeof DEV_SECRETS => env in DEV_SECRETS;
  return SECRETS.flatMap(({ key, env }) => {
    // A secret without a dev default (ADMIN_BOOTSTRAP_TOKEN) is never "a dev value in use".
    if (!keys.includes(key) || !isDev(env)) return [];
    const value = c[key];
    const inUse = value === undefined || (key === 'authClients' ? /(^|,)\s*[^:,]+:demo-secret\s*(,|$)/.test(value) : value === DEV_SECRETS[env]);
    return inUse ? [env] : [];
  });
}

