/**
 * The one error type of the file-transfer module: a stable reason code for the UI and the
 * JSON stream, and a message for people.
 */

/** Why a transfer ended without the file arriving; the `reason` of a `failed` event. */
export type FileFailReason =
  /** The recipient, or its user, refused the offer (the wire reason is in the message). */
  | 'rejected'
  /** No answer, no decision or no progress in time. */
  | 'timeout'
  /** The sender closed its side before `size` bytes arrived. */
  | 'too-short'
  /** More than `size` bytes arrived. */
  | 'too-long'
  /** The bytes arrived but their SHA-256 is not the offered one. */
  | 'hash-mismatch'
  /** The sender's file shrank between hashing and sending. */
  | 'file-changed'
  /** The other side sent a message that breaks the protocol. */
  | 'protocol'
  /** The peer could not be reached, or the stream was reset or closed early. */
  | 'connection'
  /** Reading or writing a file here failed. */
  | 'disk'
  /** This side's FileTransfer stopped. */
  | 'stopped'
  /** The recipient reported a failure code this version does not know. */
  | 'remote-error';

/** Refused before anything was sent or received. */
export type FileInputReason = 'not-started' | 'bad-peer' | 'not-found' | 'not-a-file' | 'not-readable' | 'too-large' | 'unknown-offer';

export type FileTransferErrorReason = FileFailReason | FileInputReason;

export class FileTransferError extends Error {
  readonly reason: FileTransferErrorReason;

  constructor(reason: FileTransferErrorReason, message: string) {
    super(message);
    this.name = 'FileTransferError';
    this.reason = reason;
  }
}

/**
 * A signal aborted with a FileTransferError('timeout') after `ms`, unless cleared first.
 * (AbortSignal.timeout aborts with a DOMException, and libp2p's waits throw the reason.)
 */
export function deadline(ms: number, what: string): { signal: AbortSignal, clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new FileTransferError('timeout', `no ${what} within ${ms / 1000} s`)), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}

/** The error a failed wait stands for: the reason of an aborted signal, else a connection failure. */
export function asTransferError(err: unknown, signal?: AbortSignal): FileTransferError {
  if (err instanceof FileTransferError) return err;
  if (signal?.aborted === true && signal.reason instanceof FileTransferError) return signal.reason;
  return new FileTransferError('connection', err instanceof Error ? err.message : String(err));
}
