/**
 * The sending side's file work: hashing a file before it is offered, and streaming its
 * bytes as raw stream writes that wait for the stream to drain when its buffer is full.
 *
 * The wait is on the 'drain' event, not `stream.onDrain()`: in @libp2p/utils 7.4 that
 * promise is made once and never replaced, so after the first drain it is resolved for
 * good and a sender awaiting it queued the whole file in memory.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Stream } from '@libp2p/interface';
import { CHUNK_BYTES, STALL_TIMEOUT_MS } from './constants.ts';
import { FileTransferError, asTransferError, deadline } from './errors.ts';

/** Reads of the hashing pass: large, as nothing waits on a single chunk. */
const HASH_READ_BYTES = 1024 * 1024;

/** SHA-256 of the file's first `size` bytes in hex, and how many bytes were actually there. */
export async function hashFile(path: string, size: number, signal: AbortSignal): Promise<{ sha256: string, bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  if (size > 0) {
    try {
      for await (const chunk of createReadStream(path, { end: size - 1, highWaterMark: HASH_READ_BYTES, signal }) as AsyncIterable<Buffer>) {
        hash.update(chunk);
        bytes += chunk.byteLength;
      }
    } catch (err) {
      signal.throwIfAborted();
      throw readError(path, err);
    }
  }
  return { sha256: hash.digest('hex'), bytes };
}

export interface SendBytesOptions {
  /** Called with the running total after each chunk is handed to the stream. */
  onBytes: (sent: number) => void;
  /** Aborting stops sending; the wait in progress throws the signal's reason. */
  signal: AbortSignal;
}

/**
 * Writes the file's first `size` bytes to the stream, then returns; closing the stream
 * is the caller's. Throws a FileTransferError: 'file-changed' if the file has become
 * shorter, 'timeout' when the stream does not drain within STALL_TIMEOUT_MS, 'disk' on a
 * read error, 'connection' when the stream fails; or the signal's reason.
 */
export async function sendBytes(stream: Stream, path: string, size: number, options: SendBytesOptions): Promise<void> {
  const { onBytes, signal } = options;
  if (size === 0) return;
  let sent = 0;
  const input = createReadStream(path, { end: size - 1, highWaterMark: CHUNK_BYTES, signal });
  const chunks = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  try {
    for (;;) {
      let next: IteratorResult<Buffer>;
      try {
        next = await chunks.next();
      } catch (err) {
        signal.throwIfAborted();
        throw new FileTransferError('disk', `reading ${path} failed: ${(err as Error).message}`);
      }
      if (next.done === true) break;
      sent += next.value.byteLength;
      await write(stream, next.value, signal);
      onBytes(sent);
    }
  } finally {
    input.destroy();
  }
  if (sent < size) throw new FileTransferError('file-changed', `${path} is now ${sent} bytes, ${size} were offered`);
}

async function write(stream: Stream, chunk: Uint8Array, signal: AbortSignal): Promise<void> {
  let stalled: ReturnType<typeof deadline> | undefined;
  try {
    if (stream.send(chunk)) return;
    stalled = deadline(STALL_TIMEOUT_MS, 'room in the stream (the recipient stopped reading)');
    await drained(stream, AbortSignal.any([signal, stalled.signal]));
  } catch (err) {
    signal.throwIfAborted();
    throw asTransferError(err, stalled?.signal);
  } finally {
    stalled?.clear();
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
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return new FileTransferError('not-readable', `${path} cannot be read: permission denied`);
  return new FileTransferError('disk', `reading ${path} failed: ${(err as Error).message}`);
}
