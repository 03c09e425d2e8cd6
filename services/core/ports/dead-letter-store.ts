/** A record set aside, with where it came from and why. */
export interface DeadLetter {
  id: string;
  reason: string;
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  first_seen: string;
  status: 'open' | 'replayed' | 'purged';
  updated_at: string;
}

/** Records that could not be processed, kept for an operator to replay or purge. */
export interface DeadLetterStore {
  /** Stores a dead letter once per source record (topic, partition, offset); returns the stored one. */
  addDeadLetter(letter: DeadLetter): Promise<DeadLetter>;
  /** Dead letters, newest first, optionally of one status. @default limit 500 */
  listDeadLetters(status?: DeadLetter['status'], limit?: number): Promise<DeadLetter[]>;
  /** The dead letter by id; null when there is none. */
  getDeadLetter(id: string): Promise<DeadLetter | null>;
  /** Moves a dead letter to a status; throws `not_found` when there is none. */
  setDeadLetterStatus(id: string, status: DeadLetter['status'], at: string): Promise<DeadLetter>;
}
