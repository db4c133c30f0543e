/**
 * The receiving end of a transfer's byte phase: the raw bytes after `accept` go to the
 * partial file and through SHA-256 as they arrive, until the sender closes its side.
 * The disk paces the stream: when writes queue up the stream is paused, which stops yamux
 * window updates and so the sender, and it resumes once half the queue is written (waiting
 * for the queue to empty, as a write stream's 'drain' does, left the network idle meanwhile).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import { RECEIVE_BUFFER_BYTES, STALL_TIMEOUT_MS, WRITE_BUFFER_BYTES } from './constants.ts';

const RESUME_BELOW_BYTES = WRITE_BUFFER_BYTES / 2;
import { FileTransferError } from './errors.ts';

export interface ReceiveBytesOptions {
  /** Called with the running total after each chunk. */
  onBytes: (received: number) => void;
  /** Aborting fails the transfer with the signal's reason. */
  signal: AbortSignal;
}

/**
 * Writes exactly `size` bytes from `stream` into `file` (from its start) and resolves
 * with their SHA-256 in hex once the sender has closed its side. Rejects with a
 * FileTransferError: 'too-long' as soon as a byte beyond `size` arrives, 'too-short' when
 * the sender closes early, 'timeout' after STALL_TIMEOUT_MS without data, 'connection' on
 * a reset, 'disk' on a write error. Takes the file handle over: it is closed, every write
 * finished or failed, by the time the promise settles.
 */
export function receiveBytes(stream: Stream, file: FileHandle, size: number, options: ReceiveBytesOptions): Promise<string> {
  const { onBytes, signal } = options;
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, RECEIVE_BUFFER_BYTES);
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const out = file.createWriteStream({ highWaterMark: WRITE_BUFFER_BYTES });
    let received = 0;
    let failure: FileTransferError | undefined;
    let ended = false;
    let stall: NodeJS.Timeout | undefined;

    const stopListening = (): void => {
      clearTimeout(stall);
      stream.removeEventListener('message', onMessage);
      stream.removeEventListener('end', onEnd);
      stream.removeEventListener('close', onClose);
      signal.removeEventListener('abort', onAbort);
    };
    const fail = (err: FileTransferError): void => {
      if (failure !== undefined || ended) return;
      failure = err;
      stopListening();
      out.destroy();
    };
    const armStall = (): void => {
      clearTimeout(stall);
      stall = setTimeout(() => fail(new FileTransferError('timeout', `no data for ${STALL_TIMEOUT_MS / 1000} s`)), STALL_TIMEOUT_MS);
    };
    const onMessage = (evt: StreamMessageEvent): void => {
      const chunks = evt.data instanceof Uint8Array ? [evt.data] : evt.data;
      for (const chunk of chunks) {
        received += chunk.byteLength;
        if (received > size) {
          fail(new FileTransferError('too-long', `more than the offered ${size} bytes arrived`));
          return;
        }
        hash.update(chunk);
        if (!out.write(chunk, onWritten) && stream.readStatus === 'readable') stream.pause();
      }
      armStall();
      onBytes(received);
    };
    const onWritten = (): void => {
      if (stream.readStatus === 'paused' && failure === undefined && out.writableLength <= RESUME_BELOW_BYTES) stream.resume();
    };
    const onEnd = (): void => {
      if (received < size) {
        fail(new FileTransferError('too-short', `the sender stopped after ${received} of ${size} bytes`));
        return;
      }
      ended = true;
      stopListening();
      out.end();
    };
    const onClose = (evt: StreamCloseEvent): void => {
      if (evt.error !== undefined) fail(new FileTransferError('connection', `the stream closed: ${evt.error.message}`));
      else onEnd();
    };
    const onAbort = (): void => {
      fail(signal.reason instanceof FileTransferError ? signal.reason : new FileTransferError('stopped', 'the transfer was stopped'));
    };

    // A write error, also one while flushing after the last byte, destroys the write
    // stream, which closes the file: its 'close' always comes last.
    out.on('error', (err) => {
      failure ??= new FileTransferError('disk', `writing the partial file failed: ${err.message}`);
      stopListening();
    });
    out.on('close', () => {
      if (failure === undefined) resolve(hash.digest('hex'));
      else reject(failure);
    });
    if (signal.aborted) {
      onAbort();
      return;
    }
    if (stream.status === 'reset' || stream.status === 'aborted') {
      fail(new FileTransferError('connection', `the stream was ${stream.status} before the data`));
      return;
    }
    signal.addEventListener('abort', onAbort);
    stream.addEventListener('message', onMessage);
    stream.addEventListener('end', onEnd);
    stream.addEventListener('close', onClose);
    armStall();
    // The sender may have closed its side before we listened (a zero-byte file, a short one).
    if (stream.readableEnded && stream.readBufferLength === 0) onEnd();
  });
}
