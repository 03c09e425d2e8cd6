import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a running `make up` tells the CLI, in `<dataDir>/platform.json`: where its control API
 * listens and the token it requires. The file is readable by its owner only (mode 0600): whoever
 * can read it can stop and kill the platform's processes.
 */
export interface PlatformState {
  /** Base URL of the control API, e.g. `http://127.0.0.1:8079/control`. */
  control_url: string;
  /** Bearer token of the control API (random per start). */
  control_token: string;
  /** The supervisor's process id. */
  pid: number;
  /** The API of the running platform. */
  api_url: string;
  /** The push gateways' WebSocket URLs (`ws://…/v1/stream`). */
  stream_urls?: string[];
}

/** The state file's path in a data folder. */
export const platformStatePath = (dataDir: string) => join(dataDir, 'platform.json');

/** Writes the state file, owner-only (an older file, perhaps with looser permissions, is replaced). */
export function writePlatformState(dataDir: string, state: PlatformState): void {
  const file = platformStatePath(dataDir);
  rmSync(file, { force: true });
  writeFileSync(file, JSON.stringify(state), { mode: 0o600 });
  // The umask cannot widen 0600, but a file system may ignore `mode` on create: set it again.
  chmodSync(file, 0o600);
}

/** Reads the state file; throws, naming the file and `make up`, when there is none. */
export function readPlatformState(dataDir: string): PlatformState {
  const file = platformStatePath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new Error(`no running platform found (${file} is missing): start it with 'make up'`);
  }
  return JSON.parse(text) as PlatformState;
}
