/**
 * Yamux with window updates sent as HashiCorp's yamux (the Go reference) sends them: once
 * half the receive window has been used, not after every data frame; and a wider receive
 * window for the streams that carry bulk data.
 *
 * `@chainsafe/libp2p-yamux` 8 answers every data frame it receives with a WINDOW_UPDATE
 * frame, so each chat message and each membership frame costs a second, encrypted frame
 * in the other direction: two more write syscalls at one end, a read, a Noise decryption
 * and a frame decode at the other (strace of an idle chat peer: 21 writes a second where
 * its 4.2 membership frames a second need 8). The spec leaves the timing to the receiver;
 * the Go implementation, and rust-yamux since 2021, wait for half the window. The
 * package has no option for it, so its exported stream class gets the rule below.
 */
import { yamux as chainsafeYamux } from '@chainsafe/libp2p-yamux';
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream';

/** The stream fields the rules read: private in the package's types, plain fields in its code. */
interface WindowFields {
  state: StreamState;
  recvWindow: number;
  recvWindowCapacity: number;
  maxStreamWindowSize: number;
  sendWindowUpdate(): void;
}

/**
 * Whether a window update is due: always when the frame would carry a flag (the SYN or
 * ACK of a stream's first frames) or the stream is paused (the package's own logic then
 * only records the time), otherwise once at least half of the window has been consumed.
 */
export function windowUpdateDue(state: StreamState, recvWindow: number, recvWindowCapacity: number): boolean {
  if (state !== StreamState.SYNSent && state !== StreamState.Established && state !== StreamState.Finished) return true;
  return recvWindow - recvWindowCapacity >= recvWindow / 2;
}

let installed = false;

function install(): void {
  if (installed) return;
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate?: unknown };
  const original = proto.sendWindowUpdate;
  if (typeof original !== 'function') {
    throw new Error('@chainsafe/libp2p-yamux changed: YamuxStream has no sendWindowUpdate; see peer/src/node/yamux-window.ts');
  }
  const sendWindowUpdate = original as (this: WindowFields) => void;
  proto.sendWindowUpdate = function (this: WindowFields): void {
    if (typeof this.recvWindow !== 'number' || typeof this.recvWindowCapacity !== 'number' ||
      windowUpdateDue(this.state, this.recvWindow, this.recvWindowCapacity)) {
      sendWindowUpdate.call(this);
    }
  };
  installed = true;
}

/** The stream muxer every node of ours uses: yamux with the window update rule above. */
export function yamux(...args: Parameters<typeof chainsafeYamux>): ReturnType<typeof chainsafeYamux> {
  install();
  return chainsafeYamux(...args);
}

/**
 * Grants the remote end of `stream` a receive window of `bytes` (at most the stream's
 * maximum, 16 MiB by default) at once, instead of the 256 KiB every yamux stream starts
 * with. The package grows a window only when the reader keeps up within four round trips
 * of the last update, which on loopback's 0 ms round trip never happens, so a bulk sender
 * stops for an update every half window. What the window covers may all be in flight when
 * the reader pauses: its read buffer must hold that much. A paused stream grants it when
 * it resumes. Does nothing on a stream of another muxer (undefined), or once the stream
 * is closed. Returns the window in force.
 */
export function widenReceiveWindow(stream: unknown, bytes: number): number | undefined {
  if (!(stream instanceof YamuxStream)) return undefined;
  const fields = stream as unknown as WindowFields;
  if (typeof fields.recvWindow !== 'number' || typeof fields.maxStreamWindowSize !== 'number') {
    throw new Error('@chainsafe/libp2p-yamux changed: YamuxStream has no recvWindow; see peer/src/node/yamux-window.ts');
  }
  if (fields.state === StreamState.Finished) return fields.recvWindow;
  const target = Math.min(bytes, fields.maxStreamWindowSize);
  if (target > fields.recvWindow) {
    fields.recvWindow = target;
    fields.sendWindowUpdate();
  }
  return fields.recvWindow;
}
