import { Router, type NextFunction, type Request, type Response } from 'express';
import type { RouteContext } from './api-deps.ts';
import { principalOf, type Principal } from './auth.ts';
import { toAppError } from './error-handler.ts';
import { jsonBody } from './json-body.ts';
import { getMessage, markRead } from './message-queries.ts';
import { rejectReason } from './metrics.ts';
import { sendMessageRequest } from './schemas.ts';
import { sendMessage, type SendMessageDeps } from './send-message.ts';
import { parse } from './validate.ts';
import { plainTextSend } from './plain-send.ts';
import { traceRequested } from './trace-id.ts';

/** The answer of an accepted `POST /v1/messages`: 202 with this body. */
export interface SendAnswer {
  status: 'accepted';
  message_id: string;
  conversation_id: string;
  accepted_at: string;
}

/**
 * `POST /v1/messages` once the caller is authenticated and the body parsed: validates it, counts
 * the sender's rate limit, accepts the message (see `sendMessage`) and returns the 202 body. Throws
 * the AppError to answer otherwise. Shared by the Express route and the fast path
 * (`send-fast-path.ts`), so both decide the same way.
 */
export function sendHandler(ctx: RouteContext): (caller: Principal, body: unknown, traceId: string, traced: boolean) => Promise<SendAnswer> {
  const { metrics } = ctx;
  const deps: SendMessageDeps = {
    conversations: ctx.conversations,
    messages: ctx.messages,
    files: ctx.files,
    bus: ctx.bus,
    clock: ctx.clock,
    logger: ctx.logger,
    onPublish: (seconds, error) => {
      metrics.kafkaPublishDuration.observe(seconds);
      if (error) metrics.kafkaPublishErrors.inc();
    },
    publishWaitMs: ctx.config.publishWaitMs,
    // Both limits of a send in one call to the store: the sender's, then (for a member) the conversation's.
    admit: (senderId, conversationId, member) =>
      member ? ctx.limits.check(['sendsPerUser', senderId], ['sendsPerConversation', conversationId]) : ctx.limits.check(['sendsPerUser', senderId]),
  };
  return async (caller, body, traceId, traced) => {
    const input = plainTextSend(body) ?? parse(sendMessageRequest, body);
    const result = await sendMessage(deps, {
      sender_id: caller.sub,
      message_id: input.message_id,
      conversation_id: input.conversation_id,
      channels: input.channels,
      payload: input.payload,
      metadata: input.metadata ?? null,
      trace_id: traceId,
      traced,
    });
    if (result.created) metrics.messagesAccepted.inc();
    return { status: result.status, message_id: result.message_id, conversation_id: result.conversation_id, accepted_at: result.accepted_at };
  };
}

/** Counts a refusal of `POST /v1/messages` by reason. */
export function countRejection(ctx: RouteContext, err: unknown): void {
  ctx.metrics.messagesRejected.inc({ reason: rejectReason(toAppError(err)?.status ?? 500) });
}

/** Sending messages, reading one with its status and history, and marking it read. */
export function messageRoutes(ctx: RouteContext): Router {
  const router = Router();
  const send = sendHandler(ctx);

  // The route of every send the fast path (send-fast-path.ts) leaves to Express: the reference
  // behaviour the fast path is tested against.
  router.post(
    '/v1/messages',
    ctx.authenticated,
    jsonBody(),
    async (req: Request, res: Response) => {
      res.status(202).json(await send(principalOf(res), req.body, res.locals.traceId as string, traceRequested(req)));
    },
    // Counts every refusal by reason, then lets the error handler answer.
    (err: unknown, _req: Request, _res: Response, next: NextFunction) => {
      countRejection(ctx, err);
      next(err);
    },
  );

  router.get('/v1/messages/:id', ctx.authenticated, async (req, res) => {
    res.json(await getMessage(ctx, principalOf(res), req.params.id as string));
  });

  router.post('/v1/messages/:id/read', ctx.authenticated, async (req, res) => {
    res.json(await markRead(ctx, principalOf(res), req.params.id as string));
  });

  return router;
}
