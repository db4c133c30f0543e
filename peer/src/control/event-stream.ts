/**
 * The peer's events as server-sent events: one `data:` line of JSON per event, the same
 * objects `--json` prints. A client that stops reading is cut off once its buffer passes
 * a bound, so a stuck browser tab cannot make the daemon hold events without end.
 */
import type { ServerResponse } from 'node:http';
import type { PeerEvent } from '../events.ts';
import { EVENT_STREAM_HEARTBEAT_MS, EVENT_STREAM_MAX_BUFFER } from './constants.ts';

export class EventStreams {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private cutOff = 0;
  private lastSeq = 0;

  constructor() {
    this.heartbeat = setInterval(() => {
      for (const res of this.clients) res.write(': keep-alive\n\n');
    }, EVENT_STREAM_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** The number of the last event broadcast; each event's SSE `id:`. */
  get seq(): number {
    return this.lastSeq;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Clients dropped for falling behind, since start. */
  get dropped(): number {
    return this.cutOff;
  }

  /** Starts a stream on `res`, first with `first` (the peer's `ready`, when it is ready). */
  open(res: ServerResponse, first: PeerEvent | undefined): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive'
    });
    res.write(': cli-chat events\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    if (first) this.send(res, `id: ${this.lastSeq}\ndata: ${JSON.stringify(first)}\n\n`);
  }

  broadcast(event: PeerEvent): void {
    const frame = `id: ${++this.lastSeq}\ndata: ${JSON.stringify(event)}\n\n`;
    for (const res of this.clients) this.send(res, frame);
  }

  /** Ends every stream, as the daemon stops. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private send(res: ServerResponse, frame: string): void {
    if (res.writableLength > EVENT_STREAM_MAX_BUFFER) {
      this.cutOff++;
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(frame);
  }
}
