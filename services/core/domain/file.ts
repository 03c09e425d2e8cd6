/**
 * The states of a file. `uploading` (parts arriving) → `verifying` (the upload is complete, the
 * object's sha256 and size are being checked) → `ready` (it may be sent) | `corrupt` (the
 * object is not what the client declared: it can never be sent); an `uploading` session past its
 * `expires_at`, or aborted by its uploader, → `expired`.
 */
export const FILE_STATES = ['uploading', 'verifying', 'ready', 'corrupt', 'expired'] as const;
export type FileState = (typeof FILE_STATES)[number];

/** The largest file the platform takes: 2 GiB exactly is accepted, one byte more refused. */
export const MAX_FILE_SIZE = 2 * 1024 ** 3;

/** A file and its upload session (validated by `fileRecordSchema` in core/records.ts). */
export interface FileRecord {
  /** `fil_` and a random id. */
  file_id: string;
  uploader_id: string;
  conversation_id: string;
  filename: string;
  content_type: string;
  /** Bytes of the whole file, as declared by the client (checked against the object). */
  size: number;
  /** Hex sha256 of the whole file, as declared by the client (checked against the object). */
  sha256: string;
  part_size: number;
  part_count: number;
  /** Where the bytes are in the bucket. */
  object_key: string;
  /** The S3 multipart upload id. */
  upload_id: string;
  state: FileState;
  created_at: string;
  /** When an open session expires (and its parts are removed). */
  expires_at: string;
  completed_at?: string;
  verified_at?: string;
}

/** A part of a file's multipart upload, as the client reported it. */
export interface FilePart {
  /** 1 to 10,000. */
  part_number: number;
  /** The ETag S3 answered for the part, without quotes. */
  etag: string;
  size?: number;
}
