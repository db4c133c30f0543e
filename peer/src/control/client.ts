/**
 * The console's side of the control API: requests over the daemon's Unix socket (or TCP
 * with its token), and the event stream read as server-sent events. `RemoteLink` is the
 * PeerLink an attached console runs over.
 */
import { request } from 'node:http';
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { PeerEvent, PeerListener } from '../events.ts';
import type { PeerAction } from '../cli/commands.ts';
import { CommandError } from '../cli/command-tree.ts';
import type { MemberView } from '../membership/index.ts';
import type { PeerLink, PeerView } from './link.ts';
import { commandBody, commandRoute, routes } from './routes.ts';
import { EVENT_SEQ_HEADER } from './constants.ts';

/** Where a daemon's API is: its socket, or a TCP base URL and the token. */
export type ControlTarget = { socketPath: string } | { url: string, token: string };

/** The daemon answered with an error, or could not be reached: the message is for the user. */
export class ControlError extends Error {
  readonly status: number | undefined;
  readonly code: string;

  constructor(code: string, message: string, status?: number) {
    super(message);
    this.name = 'ControlError';
    this.code = code;
    this.status = status;
  }
}

interface StateBody {
  peerId: string;
  nick: string;
  currentRoom: string | null;
  rooms: string[];
  knownRooms: { room: string, members: number }[];
  members: MemberView[];
}

function describe(target: ControlTarget): string {
  return 'socketPath' in target ? target.socketPath : target.url;
}

export class ControlClient {
  readonly target: ControlTarget;

  constructor(target: ControlTarget) {
    this.target = target;
  }

  private options(method: string, path: string): RequestOptions {
    const headers: Record<string, string> = { accept: 'application/json' };
    if ('socketPath' in this.target) return { socketPath: this.target.socketPath, path, method, headers };
    const url = new URL(path, this.target.url);
    headers.authorization = `Bearer ${this.target.token}`;
    return { host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method, headers };
  }

  /** One request; resolves the JSON answer, throws ControlError with the daemon's message. */
  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return (await this.exchange<T>(method, path, body)).body;
  }

  /** As call(), with the number of the last event the daemon had emitted when it answered. */
  exchange<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ body: T, seq: number }> {
    return new Promise((resolve, reject) => {
      const options = this.options(method, path);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      if (payload !== undefined) (options.headers as Record<string, string>)['content-type'] = 'application/json';
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new ControlError('UNREACHABLE', `the daemon's answer broke off: ${err.message}`)));
        res.on('end', () => {
          let json: unknown;
          try {
            json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(new ControlError('BAD_ANSWER', `the daemon at ${describe(this.target)} answered ${res.statusCode} with no JSON`, res.statusCode));
            return;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve({ body: json as T, seq: Number(res.headers[EVENT_SEQ_HEADER] ?? 0) });
            return;
          }
          const error = (json as { error?: { code?: unknown, message?: unknown } }).error;
          reject(new ControlError(String(error?.code ?? 'ERROR'), String(error?.message ?? `HTTP ${status}`), status));
        });
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(new ControlError('UNREACHABLE', `no daemon answers at ${describe(this.target)} (${err.code ?? err.message})`)));
      req.end(payload);
    });
  }

  /**
   * Opens the event stream; `onEvent` gets each event, and the promise it returns
   * resolves when the stream ends (the daemon stopped or the connection broke).
   */
  events(onEvent: (event: PeerEvent, seq: number) => void): Promise<{ ended: Promise<void>, close: () => void }> {
    return new Promise((resolve, reject) => {
      const options = this.options('GET', routes.events.path);
      (options.headers as Record<string, string>).accept = 'text/event-stream';
      const req = request(options, (res: IncomingMessage) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new ControlError('REFUSED', `the daemon refused its event stream (HTTP ${res.statusCode})`, res.statusCode));
          return;
        }
        res.setEncoding('utf8');
        let buffer = '';
        res.on('data', (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const lines = block.split('\n');
            const data = lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            const id = lines.find((l) => l.startsWith('id: '));
            if (data !== '') onEvent(JSON.parse(data) as PeerEvent, Number(id?.slice(4) ?? 0));
          }
        });
        const ended = new Promise<void>((done) => {
          res.on('end', done);
          res.on('close', done);
          res.on('error', () => done());
        });
        resolve({ ended, close: () => req.destroy() });
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(new ControlError('UNREACHABLE', `no daemon answers at ${describe(this.target)} (${err.code ?? err.message})`)));
      req.end();
    });
  }
}

function viewFrom(state: StateBody): PeerView {
  return {
    peerId: state.peerId,
    nick: state.nick,
    currentRoom: state.currentRoom ?? undefined,
    rooms: state.rooms,
    knownRooms: state.knownRooms.map((r): [string, number] => [r.room, r.members]),
    members: state.members
  };
}

/** Events after which the cached view is stale. */
const STATE_EVENTS = new Set(['ready', 'room-joined', 'room-left', 'membership', 'member-joined', 'member-updated',
  'member-suspect', 'member-alive', 'member-left', 'member-failed']);

/** A peer in a daemon, seen through its control API. */
export class RemoteLink implements PeerLink {
  readonly attached = true;
  readonly where: string;
  /** Resolves when the daemon's event stream ends: the daemon stopped, or the link was closed. */
  readonly ended: Promise<void>;
  private readonly client: ControlClient;
  private readonly listeners = new Set<PeerListener>();
  private state: PeerView;
  private readonly closeStream: () => void;
  private refreshing: Promise<void> | undefined;
  private delivering: Promise<void> = Promise.resolve();
  /** Events received before anyone listened; undefined once someone does. */
  private early: [PeerEvent, number][] | undefined;
  /** The number of the last event shown, and those waiting for a later one. */
  private shownSeq = 0;
  private readonly waiting: { seq: number, done: () => void }[] = [];
  private over = false;

  private constructor(client: ControlClient, state: PeerView, stream: { ended: Promise<void>, close: () => void }, early: [PeerEvent, number][]) {
    this.client = client;
    this.where = describe(client.target);
    this.state = state;
    this.ended = stream.ended;
    this.closeStream = stream.close;
    this.early = early;
  }

  /** Connects: reads the peer's state, then follows its events (the first is `ready`). */
  static async connect(target: ControlTarget): Promise<RemoteLink> {
    const client = new ControlClient(target);
    const state = viewFrom(await client.call<StateBody>('GET', routes.state.path));
    // Events wait for the first listener, so the console sees `ready` however late it subscribes.
    const early: [PeerEvent, number][] = [];
    const box: { link?: RemoteLink } = {};
    const stream = await client.events((event, seq) => {
      if (box.link) box.link.receive(event, seq);
      else early.push([event, seq]);
    });
    void stream.ended.then(() => box.link?.streamEnded());
    box.link = new RemoteLink(client, state, stream, early);
    return box.link;
  }

  view(): PeerView {
    return this.state;
  }

  on(listener: PeerListener): () => void {
    this.listeners.add(listener);
    const early = this.early;
    this.early = undefined;
    for (const [event, seq] of early ?? []) this.dispatch(event, seq);
    return () => this.listeners.delete(listener);
  }

  async say(text: string): Promise<void> {
    const answer = await this.refused(() => this.client.exchange('POST', routes.say.path, { text }));
    await this.shown(answer.seq);
  }

  async run(action: PeerAction, args: readonly string[]): Promise<PeerEvent[]> {
    const route = commandRoute(action);
    const answer = await this.refused(() => this.client.exchange<{ events: PeerEvent[] }>('POST', route.path, commandBody(route, args)));
    await this.refresh();
    await this.shown(answer.seq);
    return answer.body.events;
  }

  async shutdown(): Promise<void> {
    await this.refused(() => this.client.call('POST', routes.shutdown.path));
    await this.ended;
  }

  /** Stops following the daemon; the daemon keeps running. */
  close(): void {
    this.closeStream();
  }

  private async refused<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      // The console shows a refusal as it shows its own: one error line, nothing changed.
      if (err instanceof ControlError) throw new CommandError(err.message);
      throw err;
    }
  }

  /** Resolves once the events up to `seq` are shown (at once if the stream has ended). */
  private shown(seq: number): Promise<void> {
    if (this.over || this.shownSeq >= seq) return Promise.resolve();
    return new Promise((done) => this.waiting.push({ seq, done }));
  }

  private streamEnded(): void {
    this.over = true;
    for (const w of this.waiting.splice(0)) w.done();
  }

  private receive(event: PeerEvent, seq: number): void {
    if (this.early) this.early.push([event, seq]);
    else this.dispatch(event, seq);
  }

  private dispatch(event: PeerEvent, seq: number): void {
    // In order, and a member's or room's news once the view knows of it, so nicks and the prompt are right.
    this.delivering = this.delivering.then(async () => {
      if (STATE_EVENTS.has(event.type)) await this.refresh().catch(() => undefined);
      for (const listener of this.listeners) listener(event);
      this.shownSeq = Math.max(this.shownSeq, seq);
      for (let i = this.waiting.length - 1; i >= 0; i--) {
        const w = this.waiting[i] as { seq: number, done: () => void };
        if (w.seq <= this.shownSeq) {
          this.waiting.splice(i, 1);
          w.done();
        }
      }
    });
  }

  private refresh(): Promise<void> {
    this.refreshing ??= this.client.call<StateBody>('GET', routes.state.path)
      .then((state) => { this.state = viewFrom(state); })
      .finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }
}
