import type { Config } from '../core/config.ts';
import type { ConnectorSettings } from './registry.ts';

/** The plug-ins' settings from the platform config; `providerBaseUrl` points both at one server (the simulator). */
export function connectorSettings(config: Config, providerBaseUrl?: string): ConnectorSettings {
  return {
    whatsapp: {
      baseUrl: providerBaseUrl ?? config.whatsappBaseUrl,
      apiVersion: config.whatsappApiVersion,
      phoneNumberId: config.whatsappPhoneNumberId,
      accessToken: config.whatsappToken,
    },
    instagram: {
      baseUrl: providerBaseUrl ?? config.instagramBaseUrl,
      apiVersion: config.instagramApiVersion,
      accountId: config.instagramAccountId,
      accessToken: config.instagramToken,
    },
    appSecret: config.metaAppSecret,
    verifyToken: config.webhookVerifyToken,
    timeoutMs: config.providerTimeoutMs,
  };
}
