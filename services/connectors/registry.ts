import { EXTERNAL_CHANNELS, type ExternalChannel } from '../core/domain/types.ts';
import type { ChannelConnector } from './channel-connector.ts';
import { InstagramConnector } from './instagram-connector.ts';
import { WhatsAppConnector } from './whatsapp-connector.ts';

/** What the plug-ins need, as plain values (`loadConfig` maps the environment onto this). */
export interface ConnectorSettings {
  whatsapp: {
    /** Cloud API origin, or the provider simulator. */
    baseUrl: string;
    /** @default 'v21.0' in the config schema */
    apiVersion: string;
    phoneNumberId: string;
    accessToken: string;
  };
  instagram: {
    /** Messaging API origin, or the provider simulator. */
    baseUrl: string;
    /** @default 'v21.0' in the config schema */
    apiVersion: string;
    /** Sends go to `/{accountId}/messages`; absent: `/me/messages`. */
    accountId?: string;
    accessToken: string;
  };
  /** Meta app secret both channels' webhooks are signed with. */
  appSecret: string;
  /** Token the providers echo in the subscription handshake. */
  verifyToken: string;
  /** How long one provider call may take. */
  timeoutMs: number;
}

/** One plug-in per external channel, keyed by channel name. */
export function buildConnectors(config: ConnectorSettings): Map<ExternalChannel, ChannelConnector> {
  const connectors = new Map<ExternalChannel, ChannelConnector>();
  for (const channel of EXTERNAL_CHANNELS) connectors.set(channel, buildConnector(channel, config));
  return connectors;
}

// The one switch that knows the plug-ins. A channel added to EXTERNAL_CHANNELS without a case
// here fails to compile (the `never` below), so no channel can be listed but unconnected.
function buildConnector(channel: ExternalChannel, config: ConnectorSettings): ChannelConnector {
  const shared = { appSecret: config.appSecret, verifyToken: config.verifyToken, timeoutMs: config.timeoutMs };
  switch (channel) {
    case 'whatsapp':
      return new WhatsAppConnector({ ...config.whatsapp, ...shared });
    case 'instagram':
      return new InstagramConnector({ ...config.instagram, ...shared });
    default: {
      const unknown: never = channel;
      throw new Error(`no connector plug-in for channel "${String(unknown)}"`);
    }
  }
}
