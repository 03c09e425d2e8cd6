import { Router, type NextFunction, type Request, type Response } from 'express';
import type { RouteContext } from './api-deps.ts';
import { principalOf } from './auth.ts';
import { toAppError } from './error-handler.ts';
import { jsonBody } from './json-body.ts';
import { getMessage, markRead } from './message-queries.ts';
import { rejectReason } from './metrics.ts';
import { sendMessageRequest } from './schemas.ts';
import { sendMessage } from './send-message.ts';
import { parse } from './validate.ts';

/** Sending messages, reading one with its status and history, and marking it read. */
export function messageRoutes(ctx: RouteContext): Router {
  const router = Router();
  const { metrics } = ctx;
  const onPublish = (seconds: number, error?: unknown) => {
    metrics.kafkaPublishDuration.observe(seconds);
    if (error) metrics.kafkaPublishErrors.inc();
  };

  // Counts every refusal of POST /v1/messages by reason, then lets the error handler answer.
  const countRejection = (err: unknown, _req: Request, _res: Response, next: NextFunction) => {
    metrics.messagesRejected.inc({ reason: rejectReason(toAppError(err)?.status ?? 500) });
    next(err);
  };

  router.post(
    '/v1/messages',
    ctx.authenticated,
    jsonBody(),
    async (req: Request, res: Response) => {
      const caller = principalOf(res);
      const input = parse(sendMessageRequest, req.body);
      await ctx.limits.check(['sendsPerUser', caller.sub]);
      const result = await sendMessage(
        {
          conversations: ctx.conversations,
          messages: ctx.messages,
          files: ctx.files,
          bus: ctx.bus,
          clock: ctx.clock,
          logger: ctx.logger,
          onPublish,
          publishWaitMs: ctx.config.publishWaitMs,
          admit: (conversationId) => ctx.limits.check(['sendsPerConversation', conversationId]),
        },
        {
          sender_id: caller.sub,
          message_id: input.message_id,
          conversation_id: input.conversation_id,
          channels: input.channels,
          payload: input.payload,
          metadata: input.metadata ?? null,
          trace_id: res.locals.traceId as string,
        },
      );
      if (result.created) metrics.messagesAccepted.inc();
      res.status(202).json({
        status: result.status,
        message_id: result.message_id,
        conversation_id: result.conversation_id,
        accepted_at: result.accepted_at,
      });
    },
    countRejection,
  );

  router.get('/v1/messages/:id', ctx.authenticated, async (req, res) => {
    res.json(await getMessage(ctx, principalOf(res), req.params.id as string));
  });

  router.post('/v1/messages/:id/read', ctx.authenticated, async (req, res) => {
    res.json(await markRead(ctx, principalOf(res), req.params.id as string));
  });

  return router;
}
