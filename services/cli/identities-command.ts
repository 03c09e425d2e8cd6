import { EXIT, usageError } from './cli-error.ts';
import type { CliContext } from './cli-context.ts';

export const IDENTITIES_USAGE = `usage: chat4all identities [list]
       chat4all identities link <whatsapp|instagram> <address>     (whatsapp: +E.164, instagram: the account id)
       chat4all identities verify <whatsapp|instagram> <address> <code>   (the code the address received)
       chat4all identities remove <whatsapp|instagram> <address>`;

interface Identity {
  channel: string;
  address: string;
  linked_at: string;
  verified?: boolean;
  expires_at?: string;
}

const path = (channel: string, address: string) => `/v1/users/me/identities/${encodeURIComponent(channel)}/${encodeURIComponent(address)}`;

export async function identitiesCommand(ctx: CliContext, positionals: string[]): Promise<number> {
  const [sub = 'list', channel, address, code] = positionals;
  const api = ctx.client();
  if (sub === 'list') {
    const { identities } = await api.request<{ identities: Identity[] }>('GET', '/v1/users/me/identities');
    ctx.print(
      { identities },
      identities.length ? identities.map((i) => `${i.channel.padEnd(9)}  ${i.address}  linked ${i.linked_at}${i.verified === false ? '  (not verified)' : ''}`) : 'no identities linked',
    );
    return EXIT.ok;
  }
  if (!['link', 'remove', 'verify'].includes(sub)) throw usageError(`unknown identities command "${sub}"`, IDENTITIES_USAGE);
  if (!channel || !address) throw usageError(`${sub} needs a channel and an address`, IDENTITIES_USAGE);
  switch (sub) {
    case 'link': {
      const i = await api.request<Identity>('POST', '/v1/users/me/identities', { channel, address });
      ctx.print(
        i,
        i.verified === false
          ? [`a one-time code is on its way to ${i.channel} ${i.address} (valid until ${i.expires_at ?? '?'})`, `then: chat4all identities verify ${i.channel} ${i.address} <code>`]
          : `linked ${i.channel} ${i.address}`,
      );
      return EXIT.ok;
    }
    case 'remove':
      await api.request('DELETE', path(channel, address));
      ctx.print({ channel, address, removed: true }, `removed ${channel} ${address}`);
      return EXIT.ok;
    default: {
      if (!code) throw usageError('verify needs the code the channel received', IDENTITIES_USAGE);
      const i = await api.request<Identity>('POST', `${path(channel, address)}/verify`, { code });
      ctx.print(i, `verified ${i.channel} ${i.address}: it receives messages now`);
      return EXIT.ok;
    }
  }
}
