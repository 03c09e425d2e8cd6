import type { Config } from '../core/config.ts';
import type { Logger } from '../core/logger.ts';
import type { Clock } from '../core/ports/clock.ts';
import type { ConversationStore } from '../core/ports/conversation-store.ts';
import type { FileStore } from '../core/ports/file-store.ts';
import type { ObjectStore } from '../core/ports/object-store.ts';
import type { FileMetrics } from './file-metrics.ts';

/** The settings of files, from the config (`FILE_*`). */
export interface FileSettings {
  contentTypes: readonly string[];
  maxOpenUploads: number;
  uploadTtlSeconds: number;
  partUrlTtlSeconds: number;
  downloadUrlTtlSeconds: number;
  verifyWaitMs: number;
  cleanupIntervalMs: number;
}

export const fileSettings = (c: Config): FileSettings => ({
  contentTypes: c.fileContentTypes,
  maxOpenUploads: c.fileMaxOpenUploads,
  uploadTtlSeconds: c.fileUploadTtlSeconds,
  partUrlTtlSeconds: c.filePartUrlTtlSeconds,
  downloadUrlTtlSeconds: c.fileDownloadUrlTtlSeconds,
  verifyWaitMs: c.fileVerifyWaitMs,
  cleanupIntervalMs: c.fileCleanupIntervalMs,
});

/** What the file use cases take. */
export interface FileDeps {
  files: FileStore;
  objects: ObjectStore;
  conversations: ConversationStore;
  clock: Clock;
  logger: Logger;
  metrics: FileMetrics;
  settings: FileSettings;
}
