/**
 * The sending side's byte phase: the file's bytes as raw stream writes, hashed as they
 * go, each next read started while the stream drains the last, then the trailer with
 * their SHA-256.
 *
 * Every read gets a fresh buffer. A buffer handed to `stream.send` is referenced, not
 * copied, until Noise encrypts it, and that may be after `send` returns: the yamux stream
 * holds what its window does not cover, and Noise holds what arrives while the socket is
 * full. Nothing tells when the last of them let go, so a reused buffer could be
 * overwritten before it is encrypted.
 *
 * The wait is on the 'drain' event, not `stream.onDrain()`: in @libp2p/utils 7.4 that
 * promise is made once and never replaced, so after the first drain it is resolved for
 * good and a sender awaiting it queued the whole file in memory.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Stream } from '@libp2p/interface';
import { encodeTrailerFrame } from './codec.ts';
import { CHUNK_BYTES, STALL_TIMEOUT_MS } from './constants.ts';
import { FileTransferError, asTransferError } from './errors.ts';

export interface SendBytesOptions {
  /** Called with the running total after each chunk is handed to the stream. */
  onBytes: (sent: number) => void;
  /** Aborting stops sending; the wait in progress throws the signal's reason. */
  signal: AbortSignal;
}

/** Opens a file to be sent; a FileTransferError ('not-readable', 'disk') if it cannot be. */
export async function openForSending(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (err) {
    throw readError(path, err);
  }
}

/**
 * Writes the first `size` bytes of `file` (opened from `path`) to the stream, then the
 * trailer with their SHA-256, and resolves with that hash in hex; closing the stream and
 * the file is the caller's. Throws
 * a FileTransferError: 'file-changed' if the file has become shorter, 'timeout' when the
 * stream does not drain within STALL_TIMEOUT_MS, 'disk' on a read error, 'connection'
 * when the stream fails; or the signal's reason.
 */
export async function sendBytes(stream: Stream, file: FileHandle, path: string, size: number, options: SendBytesOptions): Promise<string> {
  const { onBytes, signal } = options;
  const hash = createHash('sha256');
  // One stall deadline for the transfer, restarted at every write: a wait's own timer and
  // combined signal per chunk showed in the sender's profile.
  const stalled = new AbortController();
  const stall = setTimeout(() => stalled.abort(new FileTransferError('timeout', `no room in the stream within ${STALL_TIMEOUT_MS / 1000} s (the recipient stopped reading)`)), STALL_TIMEOUT_MS);
  const waits = AbortSignal.any([signal, stalled.signal]);
  const send = async (chunk: Uint8Array): Promise<void> => {
    stall.refresh();
    await write(stream, chunk, signal, waits);
  };
  let sent = 0;
  let next = size > 0 ? readChunk(file, path, 0, size) : undefined;
  try {
    while (next !== undefined) {
      const chunk = await next;
      signal.throwIfAborted();
      if (chunk.byteLength === 0) throw new FileTransferError('file-changed', `${path} is now ${sent} bytes, ${size} were offered`);
      hash.update(chunk);
      sent += chunk.byteLength;
      next = sent < size ? readChunk(file, path, sent, size) : undefined;
      // A read that fails while we wait for the stream is reported by the await at the top of the loop.
      next?.catch(() => undefined);
      await send(chunk);
      onBytes(sent);
    }
    const sha256 = hash.digest('hex');
    await send(encodeTrailerFrame(sha256));
    return sha256;
  } finally {
    clearTimeout(stall);
    // The caller closes the file next: a read still in flight must not fail on that.
    await next?.catch(() => undefined);
  }
}

/** The next chunk of the file from `position`, at most CHUNK_BYTES and no further than `size`; empty at the end of the file. */
async function readChunk(file: FileHandle, path: string, position: number, size: number): Promise<Uint8Array> {
  const buffer = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, size - position));
  let filled = 0;
  try {
    while (filled < buffer.byteLength) {
      const { bytesRead } = await file.read(buffer, filled, buffer.byteLength - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
  } catch (err) {
    throw readError(path, err);
  }
  return buffer.subarray(0, filled);
}

/** Sends `chunk`, then waits for the stream to drain if it is full; `waits` is `signal` and the stall deadline. */
async function write(stream: Stream, chunk: Uint8Array, signal: AbortSignal, waits: AbortSignal): Promise<void> {
  try {
    if (stream.send(chunk)) return;
    await drained(stream, waits);
  } catch (err) {
    signal.throwIfAborted();
    throw asTransferError(err, waits);
  }
}

/** Resolves once the stream may be written to again; rejects if it closes or `signal` aborts (with its reason). */
export function drained(stream: Stream, signal: AbortSignal): Promise<void> {
  if (!stream.writableNeedsDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      stream.removeEventListener('drain', onDrain);
      stream.removeEventListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const onDrain = (): void => {
      done();
      resolve();
    };
    const onClose = (): void => {
      done();
      reject(new FileTransferError('connection', 'the stream closed while sending'));
    };
    const onAbort = (): void => {
      done();
      reject(signal.reason);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    stream.addEventListener('drain', onDrain);
    stream.addEventListener('close', onClose);
    signal.addEventListener('abort', onAbort);
  });
}

function readError(path: string, err: unknown): FileTransferError {
  if (err instanceof FileTransferError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return new FileTransferError('not-readable', `${path} cannot be read: permission denied`);
  return new FileTransferError('disk', `reading ${path} failed: ${(err as Error).message}`);
}
