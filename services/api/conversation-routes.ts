import { Router } from 'express';
import type { RouteContext } from './api-deps.ts';
import { principalOf } from './auth.ts';
import { addMember, conversationFor, createConversation, requireUser } from './conversations.ts';
import { jsonBody } from './json-body.ts';
import { listConversationMessages } from './message-queries.ts';
import { addMemberRequest, createConversationRequest, encodeConversationCursor, listConversationsQuery, listMessagesQuery } from './schemas.ts';
import { parse } from './validate.ts';
import { removeMember } from './remove-member.ts';
import { conversationsJson, oneConversationJson } from './participants.ts';

/** Conversations the caller belongs to, their members and their messages. */
export function conversationRoutes(ctx: RouteContext): Router {
  const router = Router();

  router.post('/v1/conversations', ctx.authenticated, jsonBody(), async (req, res) => {
    const input = parse(createConversationRequest, req.body);
    res.status(201).json(await oneConversationJson(ctx, await createConversation(ctx, principalOf(res), input)));
  });

  router.get('/v1/conversations', ctx.authenticated, async (req, res) => {
    const me = requireUser(principalOf(res));
    const { limit, cursor } = parse(listConversationsQuery, req.query, 'query');
    const page = await ctx.conversations.listConversations(me, cursor === undefined ? { limit } : { limit, after: cursor });
    res.json({ conversations: await conversationsJson(ctx, page.conversations), next_cursor: page.next === null ? null : encodeConversationCursor(page.next) });
  });

  router.get('/v1/conversations/:id', ctx.authenticated, async (req, res) => {
    res.json(await oneConversationJson(ctx, await conversationFor(ctx, principalOf(res), req.params.id as string)));
  });

  router.post('/v1/conversations/:id/members', ctx.authenticated, jsonBody(), async (req, res) => {
    const { user_id } = parse(addMemberRequest, req.body);
    res.json(await oneConversationJson(ctx, await addMember(ctx, principalOf(res), req.params.id as string, user_id)));
  });

  router.delete('/v1/conversations/:id/members/:user_id', ctx.authenticated, async (req, res) => {
    await removeMember(ctx, principalOf(res), req.params.id as string, req.params.user_id as string);
    res.status(204).end();
  });

  router.get('/v1/conversations/:id/messages', ctx.authenticated, async (req, res) => {
    const page = parse(listMessagesQuery, req.query, 'query');
    res.json(await listConversationMessages(ctx, principalOf(res), req.params.id as string, page));
  });

  return router;
}
