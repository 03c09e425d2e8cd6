import { EXIT, usageError } from './cli-error.ts';
import type { CliContext } from './cli-context.ts';
import { resolveUser } from './users-command.ts';

export const CONVERSATIONS_USAGE = `usage: chat4all conversations [list]
       chat4all conversations show <conversation_id>
       chat4all conversations create --private <user>
       chat4all conversations create --group [--name NAME] <user>...
       chat4all conversations add <conversation_id> <user>
       chat4all conversations remove <conversation_id> <user>      (groups; the history is kept)
       chat4all conversations leave <conversation_id>
  <user> is a user id or an exact username`;

/** A conversation as the API shows it. */
export interface ConversationView {
  conversation_id: string;
  type: 'private' | 'group';
  members: string[];
  name?: string | null;
  created_at: string;
}

function line(c: ConversationView, me: string): string {
  const others = c.members.filter((m) => m !== me);
  const title = c.name || (c.type === 'private' ? `with ${others[0] ?? '?'}` : `${c.members.length} members`);
  return `${c.conversation_id}  ${c.type.padEnd(7)}  ${title}`;
}

function details(c: ConversationView, me: string): string[] {
  return [
    `${c.conversation_id}  ${c.type}${c.name ? `  "${c.name}"` : ''}  created ${c.created_at}`,
    ...c.members.map((m) => `  member ${m}${m === me ? ' (you)' : ''}`),
  ];
}

export async function conversationsCommand(
  ctx: CliContext,
  positionals: string[],
  flags: { private?: boolean; group?: boolean; name?: string },
): Promise<number> {
  const [sub = 'list', ...rest] = positionals;
  const api = ctx.client();
  const me = ctx.session().user_id;
  switch (sub) {
    case 'list': {
      // The list comes in pages: follow next_cursor to the end.
      const conversations: ConversationView[] = [];
      let cursor: string | null = null;
      do {
        const page: { conversations: ConversationView[]; next_cursor?: string | null } = await api.request(
          'GET',
          `/v1/conversations?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        conversations.push(...page.conversations);
        cursor = page.next_cursor ?? null;
      } while (cursor);
      ctx.print({ conversations }, conversations.length ? conversations.map((c) => line(c, me)) : 'no conversations yet: start one with \'chat4all conversations create --private <user>\'');
      return EXIT.ok;
    }
    case 'show': {
      if (!rest[0]) throw usageError('show needs a conversation id', CONVERSATIONS_USAGE);
      const c = await api.request<ConversationView>('GET', `/v1/conversations/${encodeURIComponent(rest[0])}`);
      ctx.print(c, details(c, me));
      return EXIT.ok;
    }
    case 'create': {
      if (flags.private === flags.group) throw usageError('create takes exactly one of --private and --group', CONVERSATIONS_USAGE);
      if (rest.length === 0) throw usageError('create needs the other member(s)', CONVERSATIONS_USAGE);
      if (flags.private && rest.length !== 1) throw usageError('a private conversation has exactly one other member', CONVERSATIONS_USAGE);
      const members: string[] = [];
      for (const u of rest) members.push(await resolveUser(ctx, u));
      const c = await api.request<ConversationView>('POST', '/v1/conversations', {
        type: flags.private ? 'private' : 'group',
        members,
        ...(flags.name ? { name: flags.name } : {}),
      });
      ctx.print(c, [`created ${c.type} conversation ${c.conversation_id}`, ...details(c, me).slice(1)]);
      return EXIT.ok;
    }
    case 'add': {
      const [id, user] = rest;
      if (!id || !user) throw usageError('add needs a conversation id and a user', CONVERSATIONS_USAGE);
      const c = await api.request<ConversationView>('POST', `/v1/conversations/${encodeURIComponent(id)}/members`, { user_id: await resolveUser(ctx, user) });
      ctx.print(c, [`${c.conversation_id} now has ${c.members.length} members`, ...details(c, me).slice(1)]);
      return EXIT.ok;
    }
    case 'remove':
    case 'leave': {
      const [id, user] = rest;
      if (!id || (sub === 'remove' && !user)) throw usageError(`${sub} needs a conversation id${sub === 'remove' ? ' and a user' : ''}`, CONVERSATIONS_USAGE);
      const userId = sub === 'leave' ? me : await resolveUser(ctx, user!);
      await api.request('DELETE', `/v1/conversations/${encodeURIComponent(id)}/members/${encodeURIComponent(userId)}`);
      ctx.print({ conversation_id: id, removed: userId }, userId === me ? `you left ${id} (the others keep the history)` : `removed ${userId} from ${id} (the history is kept)`);
      return EXIT.ok;
    }
    default:
      throw usageError(`unknown conversations command "${sub}"`, CONVERSATIONS_USAGE);
  }
}
