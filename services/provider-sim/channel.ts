/** The provider channels the simulator speaks. */
export const CHANNELS = ['whatsapp', 'instagram'] as const;

/** A provider channel: WhatsApp Cloud API or Instagram Messaging API. */
export type Channel = (typeof CHANNELS)[number];
