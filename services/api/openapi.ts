import { z } from 'zod';
import {
  addMemberRequest,
  apiSchemas,
  conversationList,
  conversationView,
  createConversationRequest,
  healthView,
  identityList,
  identityRequest,
  identityView,
  listConversationsQuery,
  listMessagesQuery,
  messageAccepted,
  messagePage,
  messageView,
  registerRequest,
  sendMessageRequest,
  tokenRequest,
  tokenResponse,
  userCreated,
  findUserQuery,
  userFound,
  verifyIdentityRequest,
} from './schemas.ts';
import {
  createWebhookRequest,
  webhookAttemptList,
  webhookCreated,
  webhookDeliveriesQuery,
  webhookList,
} from './webhook-schemas.ts';
import {
  createFileRequest,
  downloadQuery,
  downloadUrl,
  fileCreated,
  fileState,
  fileView,
  partRecorded,
  partUrls,
  partUrlsRequest,
  recordPartRequest,
} from './file-schemas.ts';
import { bootstrapRequest, bootstrapResult } from './bootstrap-routes.ts';
import { deadLetterList, deadLetterQuery, deadLetterView, purgeResult, replayAllResult, replayRequest } from './dead-letter-routes.ts';

type Schema = z.ZodType;

/** One operation of the API, as the document describes it. */
interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  /** OpenAPI path template (`/v1/messages/{id}`). */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  /** Whether a bearer token is required. */
  secured: boolean;
  body?: Schema;
  query?: z.ZodObject;
  /** The success answer: status, description and body schema (none for 204). */
  ok: { status: number; description: string; schema?: Schema; contentType?: string };
  /** The error answers, all problem+json. */
  errors: number[];
}

const JSON_ERRORS = [400, 413, 415];

/** Every route of the API. A component test checks that this list and the Express routes agree. */
export const OPERATIONS: Operation[] = [
  {
    method: 'post', path: '/auth/register', tag: 'auth', secured: false, summary: 'Register a user',
    description: 'Every user registers with the role `user`; an operator grants admin (`chat4all admin grant <username>`).',
    body: registerRequest, ok: { status: 201, description: 'The user', schema: userCreated }, errors: [...JSON_ERRORS, 409, 429, 503],
  },
  {
    method: 'post', path: '/auth/token', tag: 'auth', secured: false, summary: 'Get an access token',
    description: 'With `username`/`password` (a user) or `client_id`/`client_secret` (a service client, subject `client:<id>`).',
    body: tokenRequest, ok: { status: 200, description: 'A bearer JWT', schema: tokenResponse }, errors: [...JSON_ERRORS, 401, 429, 503],
  },
  {
    method: 'get', path: '/v1/users', tag: 'users', secured: true, summary: 'Find a user by exact username',
    description: 'Exact match only: there is no listing of all users. Answers the id and the name, nothing else; 404 when nobody has that username.',
    query: findUserQuery, ok: { status: 200, description: 'The user', schema: userFound }, errors: [400, 401, 404],
  },
  {
    method: 'post', path: '/v1/users/me/identities', tag: 'identities', secured: true, summary: 'Link an external identity',
    description: 'The link is pending (`verified: false`) and a one-time 6-digit code is sent through that channel to the address; POST …/verify with it activates the link. A pending link receives nothing. Linking again sends a fresh code. An address held by another user gets the same answer (and no code). Linking an address you already hold answers it. With IDENTITY_VERIFICATION=off (tests only) the link is active at once and an address held by another user answers 409. A user has at most MAX_IDENTITIES_PER_CHANNEL (10) active identities per channel (409 `too-many-identities`, decided atomically with the link).',
    body: identityRequest, ok: { status: 201, description: 'The identity (pending, or active)', schema: identityView }, errors: [...JSON_ERRORS, 401, 403, 409, 429],
  },
  {
    method: 'post', path: '/v1/users/me/identities/{channel}/{address}/verify', tag: 'identities', secured: true, summary: 'Verify a pending identity with its one-time code',
    description: 'Codes expire (IDENTITY_CODE_TTL_MS, 10 min), are single-use, and a pending link allows IDENTITY_CODE_MAX_TRIES (5) wrong codes; after that, link again. Every refusal is the same 400 whoever holds the address.',
    body: verifyIdentityRequest, ok: { status: 200, description: 'The active identity', schema: identityView }, errors: [...JSON_ERRORS, 401, 403, 404, 409],
  },
  {
    method: 'get', path: '/v1/users/me/identities', tag: 'identities', secured: true, summary: 'List your identities',
    ok: { status: 200, description: 'Your identities', schema: identityList }, errors: [401, 403],
  },
  {
    method: 'delete', path: '/v1/users/me/identities/{channel}/{address}', tag: 'identities', secured: true,
    summary: 'Unlink an identity (active or pending)', ok: { status: 204, description: 'Unlinked' }, errors: [401, 403, 404],
  },
  {
    method: 'post', path: '/v1/conversations', tag: 'conversations', secured: true, summary: 'Create a conversation',
    description: 'The caller is added to `members`; a private conversation has exactly two members; every member must exist (400 names the unknown ones); a group has at most MAX_GROUP_MEMBERS (256) members (409 `too-many-members`).',
    body: createConversationRequest, ok: { status: 201, description: 'The conversation', schema: conversationView },
    errors: [...JSON_ERRORS, 401, 403, 409],
  },
  {
    method: 'get', path: '/v1/conversations', tag: 'conversations', secured: true, summary: 'List your conversations',
    description: 'One page of the conversations you are a member of, in conversation id order (`limit` 50 by default, at most 200). Follow `next_cursor` (pass it as `cursor`) until it is null.',
    query: listConversationsQuery, ok: { status: 200, description: 'A page of the conversations you are a member of', schema: conversationList }, errors: [400, 401, 403],
  },
  {
    method: 'get', path: '/v1/conversations/{id}', tag: 'conversations', secured: true, summary: 'Get a conversation',
    ok: { status: 200, description: 'The conversation', schema: conversationView }, errors: [401, 404],
  },
  {
    method: 'post', path: '/v1/conversations/{id}/members', tag: 'conversations', secured: true, summary: 'Add a member to a group',
    description: 'Groups only (400 for a private conversation); the caller must be a member and the user must exist; a group has at most MAX_GROUP_MEMBERS (256) members (409 `too-many-members`, decided atomically with the add).',
    body: addMemberRequest, ok: { status: 200, description: 'The conversation', schema: conversationView },
    errors: [...JSON_ERRORS, 401, 404, 409],
  },
  {
    method: 'delete', path: '/v1/conversations/{id}/members/{user_id}', tag: 'conversations', secured: true, summary: 'Remove a member from a group (or leave it)',
    description: 'Any member may remove any member; removing yourself is leaving. Groups only (400 for a private conversation); 404 when the conversation is not yours or the user is not a member. The history is kept; the removed user gets no new messages and can no longer read the conversation.',
    ok: { status: 204, description: 'Removed' }, errors: [400, 401, 403, 404],
  },
  {
    method: 'get', path: '/v1/conversations/{id}/messages', tag: 'conversations', secured: true, summary: 'Page through messages',
    description: 'Routed messages with `seq > after_seq`, in seq order. Your internal deliveries of the returned messages become DELIVERED.',
    query: listMessagesQuery, ok: { status: 200, description: 'A page of messages (without history)', schema: messagePage },
    errors: [400, 401, 404],
  },
  {
    method: 'post', path: '/v1/messages', tag: 'messages', secured: true, summary: 'Send a message',
    description: 'Answers 202 once the message is durable. The same `message_id` with the same body answers the same 202; with another body, 409. A `file` payload names a file you uploaded to this conversation (else 404, or 422 `file-wrong-conversation`) that is `ready` (else 422 `file-not-ready`).',
    body: sendMessageRequest, ok: { status: 202, description: 'Accepted', schema: messageAccepted },
    errors: [...JSON_ERRORS, 401, 404, 409, 422, 429],
  },
  {
    method: 'get', path: '/v1/messages/{id}', tag: 'messages', secured: true, summary: 'Get a message with status and history',
    ok: { status: 200, description: 'The message', schema: messageView }, errors: [401, 404],
  },
  {
    method: 'post', path: '/v1/messages/{id}/read', tag: 'messages', secured: true, summary: 'Mark a message read',
    description: 'Marks your deliveries of the message READ; repeating is harmless. The sender gets 409.',
    ok: { status: 200, description: 'The message', schema: messageView }, errors: [401, 404, 409],
  },
  {
    method: 'get', path: '/healthz', tag: 'health', secured: false, summary: 'Liveness',
    ok: { status: 200, description: 'Alive', schema: healthView }, errors: [],
  },
  {
    method: 'get', path: '/readyz', tag: 'health', secured: false, summary: 'Readiness (store and bus reachable)',
    ok: { status: 200, description: 'Ready', schema: healthView }, errors: [503],
  },
  {
    method: 'get', path: '/metrics', tag: 'health', secured: false, summary: 'Prometheus metrics',
    ok: { status: 200, description: 'Prometheus text format', contentType: 'text/plain; version=0.0.4' }, errors: [],
  },
  {
    method: 'get', path: '/openapi.json', tag: 'docs', secured: false, summary: 'This document',
    ok: { status: 200, description: 'OpenAPI 3.1', contentType: 'application/json' }, errors: [],
  },
  {
    method: 'get', path: '/docs', tag: 'docs', secured: false, summary: 'This document as a web page',
    ok: { status: 200, description: 'HTML', contentType: 'text/html' }, errors: [],
  },
  {
    method: 'get', path: '/app', tag: 'web client', secured: false, summary: 'The web client (docs/web-client.md)',
    description: 'A single page; it logs in with POST /auth/token and connects to the push gateway named in /app/config.json. Served with a strict Content-Security-Policy.',
    ok: { status: 200, description: 'HTML', contentType: 'text/html' }, errors: [],
  },
  {
    method: 'get', path: '/app/app.js', tag: 'web client', secured: false, summary: "The web client's script",
    ok: { status: 200, description: 'JavaScript module', contentType: 'text/javascript' }, errors: [],
  },
  {
    method: 'get', path: '/app/app.css', tag: 'web client', secured: false, summary: "The web client's style sheet",
    ok: { status: 200, description: 'CSS', contentType: 'text/css' }, errors: [],
  },
  {
    method: 'get', path: '/app/config.json', tag: 'web client', secured: false, summary: "The web client's settings",
    description: '`{"gateway_url"}`: the push gateway\'s WebSocket URL (GATEWAY_PUBLIC_URL).',
    ok: { status: 200, description: 'JSON', contentType: 'application/json' }, errors: [],
  },
  {
    method: 'post', path: '/v1/webhooks', tag: 'webhooks', secured: true, summary: 'Subscribe a webhook',
    description: 'Callbacks for the status changes of the messages you send, signed with the secret (see docs/webhooks.md). The secret is in this answer only. The URL must be http(s) and must not resolve to a private, loopback, link-local or metadata address. A user has at most 20 webhooks (409 `too-many-webhooks`, decided atomically with the write).',
    body: createWebhookRequest, ok: { status: 201, description: 'The webhook with its secret', schema: webhookCreated },
    errors: [...JSON_ERRORS, 401, 403, 409, 429],
  },
  {
    method: 'get', path: '/v1/webhooks', tag: 'webhooks', secured: true, summary: 'List your webhooks',
    description: 'Without secrets.', ok: { status: 200, description: 'Your webhooks', schema: webhookList }, errors: [401, 403],
  },
  {
    method: 'delete', path: '/v1/webhooks/{id}', tag: 'webhooks', secured: true, summary: 'Delete a webhook',
    description: 'Its pending events are dropped.', ok: { status: 204, description: 'Deleted' }, errors: [401, 403, 404],
  },
  {
    method: 'get', path: '/v1/webhooks/{id}/deliveries', tag: 'webhooks', secured: true, summary: 'Recent delivery attempts of a webhook',
    description: 'Every attempt with the receiver\'s HTTP status (or the error), newest first.',
    query: webhookDeliveriesQuery, ok: { status: 200, description: 'Attempts', schema: webhookAttemptList }, errors: [400, 401, 403, 404],
  },
  {
    method: 'post', path: '/v1/files', tag: 'files', secured: true, summary: 'Start a file upload',
    description: 'Opens a resumable upload session for a file of at most 2 GiB (2,147,483,648 bytes; more answers 413 `file-too-large` before anything is created) to a conversation you are a member of (else 404). The content type must be in FILE_CONTENT_TYPES (else 415); a user has at most FILE_MAX_OPEN_UPLOADS open sessions (429 `too-many-uploads`). The bytes go straight to object storage in `part_count` parts of `part_size` bytes (the last may be shorter) through presigned URLs (POST …/parts). See docs/files.md.',
    body: createFileRequest, ok: { status: 201, description: 'The upload session', schema: fileCreated }, errors: [...JSON_ERRORS, 401, 403, 404, 429],
  },
  {
    method: 'post', path: '/v1/files/{id}/parts', tag: 'files', secured: true, summary: 'Get presigned URLs for parts',
    description: 'Fresh presigned PUT URLs (valid FILE_PART_URL_TTL seconds) for the parts asked for, or for every part not yet recorded (at most 1,000 per call). Asking again is how an expired URL is renewed. Uploader only; 409 `file-not-uploading` once the session is closed.',
    body: partUrlsRequest, ok: { status: 200, description: 'One URL per part', schema: partUrls }, errors: [...JSON_ERRORS, 401, 403, 404, 409],
  },
  {
    method: 'put', path: '/v1/files/{id}/parts/{n}', tag: 'files', secured: true, summary: "Record a part's ETag",
    description: 'After the PUT of part n to its URL, report the `ETag` header S3 answered (quoted or not). Idempotent: the last report of a part wins.',
    body: recordPartRequest, ok: { status: 200, description: 'The part as recorded', schema: partRecorded }, errors: [...JSON_ERRORS, 401, 403, 404, 409],
  },
  {
    method: 'get', path: '/v1/files/{id}', tag: 'files', secured: true, summary: 'Show a file',
    description: 'The uploader sees the session in any state, with the recorded `parts` and the `missing` ones (what to send to resume). Other members of the conversation see `ready` files only; anyone else gets 404.',
    ok: { status: 200, description: 'The file', schema: fileView }, errors: [401, 403, 404],
  },
  {
    method: 'post', path: '/v1/files/{id}/complete', tag: 'files', secured: true, summary: 'Complete an upload and verify it',
    description: 'Completes the multipart upload, then streams the object once to check its sha256 and size: 200 with `ready` or `corrupt` (a corrupt file can never be sent), or 202 `verifying` when that takes longer than FILE_VERIFY_WAIT_MS (poll GET). 409 `parts-missing` with `missing` when parts are not recorded; 409 `part-invalid` when the object store refuses a part (the session stays open: send the part again and complete again).',
    ok: { status: 200, description: 'The verdict (202: still verifying)', schema: fileState }, errors: [401, 403, 404, 409, 503],
  },
  {
    method: 'get', path: '/v1/files/{id}/download', tag: 'files', secured: true, summary: 'Download a file',
    description: '302 to a presigned GET of the object, valid FILE_DOWNLOAD_URL_TTL seconds (Range requests work on it); `?redirect=false` answers the URL as JSON. Members of the file\'s conversation only, `ready` files only; otherwise 404.',
    query: downloadQuery, ok: { status: 302, description: 'Redirect to the object (200 with `redirect=false`)', schema: downloadUrl }, errors: [400, 401, 403, 404],
  },
  {
    method: 'delete', path: '/v1/files/{id}', tag: 'files', secured: true, summary: 'Abort an upload',
    description: 'The uploader ends an open session: its parts are removed and it is `expired`. 409 once it is completed.',
    ok: { status: 204, description: 'Aborted' }, errors: [401, 403, 404, 409, 503],
  },
  {
    method: 'get', path: '/v1/admin/dead-letters', tag: 'admin', secured: true, summary: 'List dead letters',
    description: 'Records no worker could process, with the reason and where they came from. Admin role only.',
    query: deadLetterQuery, ok: { status: 200, description: 'Dead letters, newest first', schema: deadLetterList }, errors: [400, 401, 403],
  },
  {
    method: 'get', path: '/v1/admin/dead-letters/{id}', tag: 'admin', secured: true, summary: 'Show a dead letter',
    ok: { status: 200, description: 'The dead letter', schema: deadLetterView }, errors: [401, 403, 404],
  },
  {
    method: 'post', path: '/v1/admin/dead-letters/{id}/replay', tag: 'admin', secured: true, summary: 'Replay a dead letter',
    description: 'Publishes the record again on its original topic with its key, or a fixed `value` instead.',
    body: replayRequest, ok: { status: 200, description: 'The dead letter, now replayed', schema: deadLetterView }, errors: [...JSON_ERRORS, 401, 403, 404],
  },
  {
    method: 'post', path: '/v1/admin/dead-letters/replay', tag: 'admin', secured: true, summary: 'Replay every open dead letter',
    ok: { status: 200, description: 'How many were replayed', schema: replayAllResult }, errors: [401, 403],
  },
  {
    method: 'delete', path: '/v1/admin/dead-letters', tag: 'admin', secured: true, summary: 'Purge the open dead letters',
    ok: { status: 200, description: 'How many were purged', schema: purgeResult }, errors: [401, 403],
  },
  {
    method: 'post', path: '/v1/admin/bootstrap', tag: 'admin', secured: true, summary: 'Become the first admin with the bootstrap token',
    description: 'With `token` equal to `ADMIN_BOOTSTRAP_TOKEN` the caller becomes an admin. 404 when no token is configured, 403 on a wrong one; attempts count against the per-address login limit (429). Remove or rotate the secret after use.',
    body: bootstrapRequest, ok: { status: 200, description: 'The caller is now an admin', schema: bootstrapResult }, errors: [...JSON_ERRORS, 401, 403, 404, 429],
  },
];

const ERROR_RESPONSES: Record<number, { name: string; description: string }> = {
  400: { name: 'BadRequest', description: 'Invalid input; `errors` names each bad field' },
  401: { name: 'Unauthorized', description: 'Missing, invalid or expired bearer token (or bad credentials)' },
  403: { name: 'Forbidden', description: 'Service clients cannot act as a user here' },
  404: { name: 'NotFound', description: 'No such resource, or not visible to you' },
  409: { name: 'Conflict', description: 'Conflicts with the current state' },
  413: { name: 'ContentTooLarge', description: 'The body is over 64 KiB' },
  415: { name: 'UnsupportedMediaType', description: 'The body is not application/json (or a file\'s content type is not allowed)' },
  422: { name: 'UnprocessableContent', description: 'Well-formed but not possible now, e.g. sending a file that is not ready' },
  429: { name: 'TooManyRequests', description: 'A rate limit is spent (docs/api.md "Rate limits"); retry after `Retry-After` seconds' },
  503: { name: 'ServiceUnavailable', description: 'A dependency is unreachable, or too many password hashes are in progress (retry after `Retry-After`)' },
};

const ref = (schema: Schema) => {
  const id = apiSchemas.get(schema)?.id;
  if (!id) throw new Error('every schema in the document must be registered in apiSchemas');
  return { $ref: `#/components/schemas/${id}` };
};

type JsonSchema = Record<string, unknown>;

function withoutMeta(s: JsonSchema): JsonSchema {
  const { $schema: _s, $id: _i, ...rest } = s;
  return rest;
}

/** The OpenAPI 3.1 document, generated from the zod schemas the routes validate with. */
export function buildOpenApi(opts: { serverUrl?: string } = {}) {
  const generated = z.toJSONSchema(apiSchemas, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
    unrepresentable: 'any',
  });
  const schemas = Object.fromEntries(Object.entries(generated.schemas).map(([k, v]) => [k, withoutMeta(v as JsonSchema)]));

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters: unknown[] = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    if (op.query) {
      const q = withoutMeta(z.toJSONSchema(op.query, { target: 'draft-2020-12', io: 'input' }) as JsonSchema);
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((q.properties ?? {}) as Record<string, JsonSchema>)) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    const responses: Record<string, unknown> = {
      [op.ok.status]: {
        description: op.ok.description,
        ...(op.ok.schema
          ? { content: { 'application/json': { schema: ref(op.ok.schema) } } }
          : op.ok.contentType
            ? { content: { [op.ok.contentType]: { schema: { type: 'string' } } } }
            : {}),
      },
    };
    for (const status of op.errors) responses[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status]!.name}` };
    if (op.errors.length > 0) responses.default = { $ref: '#/components/responses/Error' };

    (paths[op.path] ??= {})[op.method] = {
      operationId: `${op.method}${op.path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: [op.tag],
      security: op.secured ? [{ bearerAuth: [] }] : [],
      ...(parameters.length ? { parameters } : {}),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
      responses,
    };
  }

  const problem = (description: string) => ({
    description,
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  });
  const responses: Record<string, unknown> = { Error: problem('Unexpected error') };
  for (const { name, description } of Object.values(ERROR_RESPONSES)) responses[name] = problem(description);

  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'Chat4All API',
      version: '1',
      description:
        'One API to send messages to users on our own clients, WhatsApp and Instagram. Errors are RFC 9457 problem+json; JSON bodies are limited to 64 KiB and 32 levels of nesting, and text must be well-formed Unicode (no lone surrogates).',
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    tags: [...new Set(OPERATIONS.map((o) => o.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      responses,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}

export type OpenApiDocument = ReturnType<typeof buildOpenApi>;
