/**
 * The chat service: rooms over gossipsub, as a libp2p service.
 *
 * @example
 *
 * ```ts
 * const node = await createLibp2p({
 *   services: { identify: identify(), pubsub: pubsub(), chat: chat() }
 * })
 * node.services.chat.addEventListener('message', (evt) => console.info(evt.detail.text))
 * node.services.chat.join('lobby')
 * await node.services.chat.send('lobby', 'hello')
 * ```
 */
import { Chat as ChatClass } from './service.ts';
import type { Pubsub } from '../node/gossipsub.ts';
import type { ComponentLogger, PeerId, TypedEventTarget } from '@libp2p/interface';
import type { RateLimit } from './rate-limit.ts';

/** A message from another peer, delivered once per message ID. */
export interface ChatMessageEvent {
  room: string;
  /** Content-derived message ID (hex), the same on every peer. */
  id: string;
  /** The author's peer ID: signed by gossipsub, so unlike the nick it cannot be forged. */
  from: string;
  nick: string;
  text: string;
  /** The author's clock when sending, ms since the epoch. */
  ts: number;
  /** The author's signed pubsub message, which history keeps so others can verify it later (history/record.ts). */
  record: Uint8Array;
}

/** A message refused by the room's validator, for diagnostics. */
export interface ChatRejectedEvent {
  /** The author's peer ID. */
  from: string;
  room: string;
  /** `<code>: <explanation>`, the code being a ChatRejectReason. */
  reason: string;
  /**
   * Messages this event stands for: 1, except for `rate-limited`, reported at most once
   * per author and room every few seconds with the number refused since the last report.
   */
  count: number;
}

/**
 * Listeners must not throw: an EventTarget reports a throwing listener as an uncaught
 * exception, which ends the process.
 */
export interface ChatEvents {
  message: CustomEvent<ChatMessageEvent>;
  rejected: CustomEvent<ChatRejectedEvent>;
}

export interface SentChatMessage {
  id: string;
  ts: number;
  /** The signed message as published; undefined only if gossipsub already evicted it from its cache. */
  record: Uint8Array | undefined;
}

export interface Chat extends TypedEventTarget<ChatEvents> {
  /** The nick carried by messages sent from now on. Throws ChatInputError if invalid. */
  setNick(nick: string): void;
  readonly nick: string;
  /** Subscribes to a room; joining a joined room does nothing. Throws on a bad name or before start. */
  join(room: string): void;
  /** Unsubscribes from a room; leaving a room not joined does nothing. */
  leave(room: string): void;
  /** Joined rooms, in joining order. */
  rooms(): string[];
  /** Peer IDs known to be in a joined room (gossipsub subscribers), this peer excluded. */
  roomPeers(room: string): string[];
  /**
   * Publishes `text` to a joined room. Rejects with ChatInputError for a bad room or text,
   * NotJoinedError for a room not joined, NotStartedError before start. A room with no
   * other peer is not an error: nobody receives the message.
   */
  send(room: string, text: string): Promise<SentChatMessage>;
}

export interface ChatInit {
  /** Nick until setNick is called. @default 'anon' */
  nick?: string;
  /** Clock for timestamps and the seen cache, ms since the epoch. @default Date.now */
  now?: () => number;
  /** Largest accepted clock lead of a sender, in ms. @default MAX_CLOCK_SKEW_MS (60 s) */
  maxClockSkewMs?: number;
  /** Oldest accepted message, in ms; must stay below seenTtlMs - maxClockSkewMs. @default MAX_MESSAGE_AGE_MS (5 min) */
  maxMessageAgeMs?: number;
  /** Seen-ID cache size. @default SEEN_CACHE_SIZE (10,000) */
  seenCacheSize?: number;
  /** How long a message ID is remembered, in ms. @default SEEN_TTL_MS (10 min) */
  seenTtlMs?: number;
  /**
   * How fast each author may send to a room; `false` for no limit.
   * @default { rate: AUTHOR_RATE, burst: AUTHOR_BURST } (20 a second, 60 at once)
   */
  authorRateLimit?: RateLimit | false;
}

export interface ChatComponents {
  /** The gossipsub service, registered under the service name `pubsub` (see node/gossipsub.ts). */
  pubsub: Pubsub;
  peerId: PeerId;
  logger: ComponentLogger;
}

export function chat(init: ChatInit = {}): (components: ChatComponents) => Chat {
  return (components) => new ChatClass(components, init);
}

export { NotJoinedError } from './service.ts';
export { ChatDecodeError, ChatInputError } from './codec.ts';
export type { ChatRejectReason } from './codec.ts';
export type { RateLimit } from './rate-limit.ts';
