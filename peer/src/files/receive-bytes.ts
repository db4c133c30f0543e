/**
 * The receiving end of a transfer's byte phase: the raw bytes after `accept` go to the
 * partial file and through SHA-256 as they arrive; the trailer after them says what the
 * hash must be, and the sender closes its side.
 * The disk paces the stream: when writes queue up the stream is paused, which stops yamux
 * window updates and so the sender, and it resumes once half the queue is written (waiting
 * for the queue to empty, as a write stream's 'drain' does, left the network idle meanwhile).
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import { widenReceiveWindow } from '../node/yamux-window.ts';
import { WireError } from '../wire/json-frame.ts';
import { decodeTrailerFrame, trailerFrameLength } from './codec.ts';
import { MAX_TRAILER_BYTES, RECEIVE_BUFFER_BYTES, RECEIVE_WINDOW_BYTES, STALL_TIMEOUT_MS, WRITE_BUFFER_BYTES } from './constants.ts';
import { FileTransferError } from './errors.ts';

const RESUME_BELOW_BYTES = WRITE_BUFFER_BYTES / 2;

export interface ReceiveBytesOptions {
  /** Called with the running total after each chunk. */
  onBytes: (received: number) => void;
  /** Aborting fails the transfer with the signal's reason. */
  signal: AbortSignal;
}

/**
 * Writes exactly `size` bytes from `stream` into `file` (from its start), reads the
 * trailer after them, and resolves with the bytes' SHA-256 in hex once the sender has
 * closed its side and the hash is the trailer's. Rejects with a FileTransferError:
 * 'too-long' as soon as more than the bytes and one trailer arrive, 'too-short' when the
 * sender closes before the end of the trailer, 'protocol' for a malformed trailer,
 * 'hash-mismatch' for another hash, 'timeout' after STALL_TIMEOUT_MS without data,
 * 'connection' on a reset, 'disk' on a write error. Takes the file handle over: it is
 * closed, every write finished or failed, by the time the promise settles.
 */
export function receiveBytes(stream: Stream, file: FileHandle, size: number, options: ReceiveBytesOptions): Promise<string> {
  const { onBytes, signal } = options;
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, RECEIVE_BUFFER_BYTES);
  widenReceiveWindow(stream, RECEIVE_WINDOW_BYTES);
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const out = file.createWriteStream({ highWaterMark: WRITE_BUFFER_BYTES });
    /** What came after the file's bytes: the trailer, once whole. */
    const tail = new Uint8Array(MAX_TRAILER_BYTES);
    let tailBytes = 0;
    let sha256: string | undefined;
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
    /** Restarts the stall timer; one timer for the transfer, refreshed, as data arrives in thousands of events. */
    const armStall = (): void => {
      if (stall === undefined) stall = setTimeout(() => fail(new FileTransferError('timeout', `no data for ${STALL_TIMEOUT_MS / 1000} s`)), STALL_TIMEOUT_MS);
      else stall.refresh();
    };
    const tooLong = (): FileTransferError => new FileTransferError('too-long', `more than the offered ${size} bytes and a trailer arrived`);
    /** Keeps bytes after the file's as the trailer; false once they are more than one trailer can be. */
    const keepTail = (bytes: Uint8Array): boolean => {
      if (tailBytes + bytes.byteLength > MAX_TRAILER_BYTES) return false;
      tail.set(bytes, tailBytes);
      tailBytes += bytes.byteLength;
      const frame = trailerFrameLength(tail.subarray(0, tailBytes));
      return frame === undefined || tailBytes <= frame;
    };
    const onMessage = (evt: StreamMessageEvent): void => {
      const chunks = evt.data instanceof Uint8Array ? [evt.data] : evt.data;
      for (const chunk of chunks) {
        const fileBytes = Math.min(chunk.byteLength, size - received);
        if (fileBytes > 0) {
          const bytes = fileBytes === chunk.byteLength ? chunk : chunk.subarray(0, fileBytes);
          received += fileBytes;
          hash.update(bytes);
          if (!out.write(bytes, onWritten) && stream.readStatus === 'readable') stream.pause();
        }
        if (fileBytes < chunk.byteLength && !keepTail(chunk.subarray(fileBytes))) {
          fail(tooLong());
          return;
        }
      }
      armStall();
      onBytes(received);
    };
    /** The trailer's verdict on the bytes, once the sender has closed its side. */
    const verify = (): FileTransferError | undefined => {
      const frame = trailerFrameLength(tail.subarray(0, tailBytes));
      if (frame === undefined || tailBytes < frame) return new FileTransferError('too-short', `the sender stopped before the end of the trailer after the ${size} bytes`);
      if (tailBytes > frame) return tooLong();
      let expected: string;
      try {
        expected = decodeTrailerFrame(tail.subarray(0, tailBytes));
      } catch (err) {
        if (err instanceof WireError) return new FileTransferError('protocol', `bad trailer: ${err.reason}: ${err.message}`);
        throw err;
      }
      const actual = hash.digest('hex');
      if (actual !== expected) return new FileTransferError('hash-mismatch', `the bytes hash to ${actual.slice(0, 16)}..., the trailer says ${expected.slice(0, 16)}...`);
      sha256 = actual;
      return undefined;
    };
    const onWritten = (): void => {
      if (stream.readStatus === 'paused' && failure === undefined && out.writableLength <= RESUME_BELOW_BYTES) stream.resume();
    };
    const onEnd = (): void => {
      if (received < size) {
        fail(new FileTransferError('too-short', `the sender stopped after ${received} of ${size} bytes`));
        return;
      }
      const refusal = verify();
      if (refusal !== undefined) {
        fail(refusal);
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
      if (failure === undefined && sha256 !== undefined) resolve(sha256);
      else reject(failure ?? new FileTransferError('disk', 'the partial file closed before the transfer ended'));
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
