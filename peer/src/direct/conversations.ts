/**
 * Direct conversations as the user sees them: a message is sent at once when the
 * recipient answers, and otherwise waits in the persistent outbox until membership reports
 * the recipient alive again; either way it is in the local history, and a recipient shows
 * each message once however often it is retried.
 */
import type { Logger } from 'pino';
import type { PeerEvent } from '../events.ts';
import type { HistoryStore, OutboxEntry } from '../history/store.ts';
import { DirectRefusedError, newDirectMessageId, UnreachableError } from './messages.ts';
import type { DirectMessage, DirectMessages } from './messages.ts';

/** While a recipient with waiting messages is alive but not answering, retry this often. */
export const OUTBOX_RETRY_MS = 10_000;

export interface ConversationsOptions {
  dm: DirectMessages;
  store: HistoryStore;
  nick: () => string;
  isAlive: (peerId: string) => boolean;
  emit: (event: PeerEvent) => void;
  log: Logger;
  now?: () => number;
}

export type SendOutcome = 'delivered' | 'queued';

export class Conversations {
  private readonly options: ConversationsOptions;
  private readonly now: () => number;
  private readonly flushing = new Set<string>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(options: ConversationsOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  /** Sends `text` to `to`; queues it in the outbox when the recipient cannot be reached. */
  async send(to: { peerId: string, nick: string }, text: string): Promise<SendOutcome> {
    const { dm, store, emit } = this.options;
    const entry: OutboxEntry = { id: newDirectMessageId(), peer: to.peerId, nick: this.options.nick(), text, ts: this.now() };
    store.add([{ id: entry.id, kind: 'dm', room: null, peer: to.peerId, outgoing: true, nick: entry.nick, text, ts: entry.ts }]);
    emit({ type: 'dm-sent', id: entry.id, to: to.peerId, toNick: to.nick, text, ts: entry.ts });
    // Messages already waiting go first, so a conversation keeps its order.
    if (store.outbox(to.peerId).length > 0) {
      store.enqueue(entry);
      this.queued(entry, to.nick, 'earlier messages to them are still waiting');
      void this.flush(to.peerId);
      return 'queued';
    }
    try {
      await dm.send(to.peerId, entry);
    } catch (err) {
      if (!(err instanceof UnreachableError)) throw err;
      store.enqueue(entry);
      this.queued(entry, to.nick, err.message);
      return 'queued';
    }
    emit({ type: 'dm-delivered', id: entry.id, to: to.peerId, toNick: to.nick, queued: false });
    return 'delivered';
  }

  /** A message from a peer; false if it was received before. */
  received(message: DirectMessage): boolean {
    const added = this.options.store.add([{
      id: message.id, kind: 'dm', room: null, peer: message.from, outgoing: false, nick: message.nick, text: message.text, ts: message.ts
    }]);
    if (added.length === 0) return false;
    this.options.emit({ type: 'dm', ...message });
    return true;
  }

  /** Membership says `peerId` is alive: deliver what waits for it. */
  memberAlive(peerId: string): void {
    if (this.options.store.outbox(peerId).length > 0) void this.flush(peerId);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
  }

  private queued(entry: OutboxEntry, nick: string, reason: string): void {
    this.options.emit({
      type: 'dm-queued', id: entry.id, to: entry.peer, toNick: nick,
      message: `${nick} is not reachable (${reason}); the message waits in the outbox and is sent when ${nick} is back`
    });
  }

  private async flush(peerId: string): Promise<void> {
    if (this.flushing.has(peerId) || this.stopped) return;
    this.flushing.add(peerId);
    const { dm, store, emit, log } = this.options;
    try {
      for (const entry of store.outbox(peerId)) {
        try {
          await dm.send(peerId, entry);
        } catch (err) {
          if (err instanceof DirectRefusedError) {
            store.dequeue(entry.id);
            emit({ type: 'dm-failed', id: entry.id, to: peerId, reason: err.message });
            continue;
          }
          log.info({ peerId, err }, `outbox: ${peerId} still unreachable`);
          this.retryLater(peerId);
          return;
        }
        if (store.dequeue(entry.id)) emit({ type: 'dm-delivered', id: entry.id, to: peerId, toNick: null, queued: true });
      }
    } finally {
      this.flushing.delete(peerId);
    }
  }

  private retryLater(peerId: string): void {
    if (this.retries.has(peerId) || this.stopped) return;
    this.retries.set(peerId, setTimeout(() => {
      this.retries.delete(peerId);
      if (this.options.isAlive(peerId)) void this.flush(peerId);
    }, OUTBOX_RETRY_MS).unref());
  }
}
