import type { FilePart, FileRecord, FileState } from '../domain/file.ts';

export type { FilePart, FileRecord, FileState } from '../domain/file.ts';

/**
 * The file aggregate: upload sessions, their part manifest and the state of each file. The
 * object's bytes are in the `ObjectStore`; this store knows what they should be (size, sha256,
 * content type), who uploaded them to which conversation, and which parts the client reported.
 * The manifest is kept here and never read back from S3 (s3rver lacks ListParts).
 *
 * States: `uploading` → `verifying` → `ready` | `corrupt`; an `uploading` session past its
 * `expires_at` → `expired` (also when the uploader aborts it). Every change of state is conditional on the state it leaves, so two
 * processes never both complete, verify or expire one file.
 */
export interface FileStore {
  /**
   * Saves a new upload session (state `uploading`). With `cap`, an uploader who already has
   * `cap.max` open (`uploading`) sessions is refused with `CapReached` (`too_many_uploads`),
   * decided atomically with the write: parallel creations at the limit never overshoot it.
   */
  createFile(file: FileRecord, cap?: { max: number }): Promise<FileRecord>;
  /** The file by id; null when there is none (or it was deleted). */
  getFile(fileId: string): Promise<FileRecord | null>;
  /** The parts recorded for a file, by ascending `part_number`. */
  listParts(fileId: string): Promise<FilePart[]>;
  /**
   * Records (or replaces: the client re-sent the part) a part's ETag. Returns false, recording
   * nothing, when the file is not `uploading`.
   */
  recordPart(fileId: string, part: FilePart): Promise<boolean>;
  /**
   * Moves a file from state `from` to `to`, setting the given fields with it, only when it is in
   * `from` now. Returns the file after the change, or null when it was not in `from` (another
   * process moved it first) or does not exist. Leaving `uploading` frees the uploader's quota slot.
   */
  transition(fileId: string, from: FileState, to: FileState, fields?: TransitionFields): Promise<FileRecord | null>;
  /** How many open (`uploading`) sessions the uploader has: what the quota counts. */
  countOpenUploads(uploaderId: string): Promise<number>;
  /** Up to `limit` `uploading` sessions whose `expires_at` is before `now` (RFC 3339), oldest expiry first. */
  listExpiredUploads(now: string, limit: number): Promise<FileRecord[]>;
  /** Up to `limit` files in state `verifying`, oldest first: the periodic job resumes them after a restart. */
  listVerifying(limit: number): Promise<FileRecord[]>;
}

/** Fields set together with a change of state. */
export interface TransitionFields {
  completed_at?: string;
  verified_at?: string;
  /** A new `expires_at` (e.g. the verification's own deadline). */
  expires_at?: string;
}
