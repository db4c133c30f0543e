/**
 * Wires the chat codec to gossipsub: one topic per room, a validator per topic that
 * refuses bad messages (and so lowers their sender's score) and drops an author's messages
 * beyond its rate limit, and delivery of each valid message exactly once. Nothing a remote
 * peer sends can throw out of here.
 */
import { NotStartedError, TypedEventEmitter, serviceCapabilities, serviceDependencies } from '@libp2p/interface';
import type { Logger, PeerId, Startable } from '@libp2p/interface';
import { authorIdString, computedMessageId, penalise, publishedMessage, publishWithId, scoreTopic, TopicValidatorResult } from '../node/gossipsub.ts';
import { recordOf, recordOfRaw } from '../history/record.ts';
import type { PubsubMessage } from '../node/gossipsub.ts';
import {
  type ChatMessage, ChatInputError, checkTimestamp, chatMessageId, decodeChatMessage, encodeChatMessage, formatMessageId,
  parseNick, parseRoomName, roomTopic
} from './codec.ts';
import {
  AUTHOR_BURST, AUTHOR_RATE, CHAT_PROTOCOL_VERSION, DEFAULT_NICK, MAX_CLOCK_SKEW_MS, MAX_MESSAGE_AGE_MS,
  RATE_LIMIT_REPORT_INTERVAL_MS, RATE_LIMITED_AUTHORS, SEEN_CACHE_SIZE, SEEN_TTL_MS
} from './constants.ts';
import { SeenCache } from './dedupe.ts';
import { NonceSequence } from './nonce.ts';
import { checkRateLimit, RateLimiter, ThrottledReports } from './rate-limit.ts';
import type { RateLimit } from './rate-limit.ts';
import type { ChatComponents, ChatEvents, ChatInit, Chat as ChatInterface, SentChatMessage } from './index.ts';

/** Sending to, or asking about, a room this peer has not joined. */
export class NotJoinedError extends Error {
  constructor(room: string) {
    super(`not in room ${room}: join it first`);
    this.name = 'NotJoinedError';
  }
}

export class Chat extends TypedEventEmitter<ChatEvents> implements Startable, ChatInterface {
  private readonly components: ChatComponents;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly limits: { maxSkewMs: number, maxAgeMs: number };
  private readonly seen: SeenCache;
  private readonly nonces = new NonceSequence();
  /** Joined room -> its topic, in joining order. */
  private readonly joined = new Map<string, string>();
  /** Topic -> room, for routing received messages. */
  private readonly roomsByTopic = new Map<string, string>();
  /**
   * What validate() learned about a message gossipsub then delivers: the same message
   * object reaches the 'message' event, so it is decoded and hashed once, not twice.
   */
  private readonly accepted = new WeakMap<PubsubMessage, { id: string, message: ChatMessage }>();
  private readonly authorRateLimit: RateLimit | false;
  /** Joined room -> its topic, its authors' token buckets and the reports of what those refused. */
  private readonly authorLimits = new Map<string, { topic: string, buckets: RateLimiter, reports: ThrottledReports }>();
  private reportTimer: ReturnType<typeof setInterval> | undefined;
  private nickName: string;
  private started = false;

  constructor(components: ChatComponents, init: ChatInit = {}) {
    super();
    this.components = components;
    this.log = components.logger.forComponent('cli-chat:chat');
    this.now = init.now ?? Date.now;
    this.limits = { maxSkewMs: init.maxClockSkewMs ?? MAX_CLOCK_SKEW_MS, maxAgeMs: init.maxMessageAgeMs ?? MAX_MESSAGE_AGE_MS };
    this.seen = new SeenCache({ maxEntries: init.seenCacheSize ?? SEEN_CACHE_SIZE, ttlMs: init.seenTtlMs ?? SEEN_TTL_MS, now: this.now });
    this.nickName = parseNick(init.nick ?? DEFAULT_NICK);
    const limit = init.authorRateLimit ?? { rate: AUTHOR_RATE, burst: AUTHOR_BURST };
    this.authorRateLimit = limit === false ? false : checkRateLimit(limit);
    this.onPubsubMessage = this.onPubsubMessage.bind(this);
  }

  readonly [Symbol.toStringTag] = '@cli-chat/chat';
  readonly [serviceCapabilities]: string[] = ['@cli-chat/chat'];
  readonly [serviceDependencies]: string[] = ['@libp2p/pubsub'];

  start(): void {
    this.components.pubsub.addEventListener('message', this.onPubsubMessage);
    this.reportTimer = setInterval(() => {
      const now = this.now();
      for (const { reports } of this.authorLimits.values()) reports.flush(now);
    }, RATE_LIMIT_REPORT_INTERVAL_MS);
    this.reportTimer.unref();
    this.started = true;
  }

  /** Forgets joined rooms: gossipsub stops alongside, and its subscriptions with it. */
  stop(): void {
    const { pubsub } = this.components;
    pubsub.removeEventListener('message', this.onPubsubMessage);
    clearInterval(this.reportTimer);
    for (const topic of this.joined.values()) {
      pubsub.topicValidators.delete(topic);
    }
    this.joined.clear();
    this.roomsByTopic.clear();
    this.authorLimits.clear();
    this.started = false;
  }

  isStarted(): boolean {
    return this.started;
  }

  get nick(): string {
    return this.nickName;
  }

  setNick(nick: string): void {
    this.nickName = parseNick(nick);
  }

  join(room: string): void {
    const name = parseRoomName(room);
    this.assertStarted();
    if (this.joined.has(name)) return;
    const topic = roomTopic(name);
    const { pubsub } = this.components;
    scoreTopic(pubsub, topic);
    const limit = this.authorRateLimit;
    if (limit !== false) {
      this.authorLimits.set(name, {
        topic,
        buckets: new RateLimiter(limit, RATE_LIMITED_AUTHORS),
        reports: new ThrottledReports(RATE_LIMIT_REPORT_INTERVAL_MS, RATE_LIMITED_AUTHORS, (from, count) => this.reportRateLimited(name, limit, from, count))
      });
    }
    pubsub.topicValidators.set(topic, (source, message) => this.validate(name, source, message));
    pubsub.subscribe(topic);
    this.joined.set(name, topic);
    this.roomsByTopic.set(topic, name);
    this.log('joined room %s', name);
  }

  /**
   * Leaves a room. Its score parameters stay: the counters of peers who misbehaved there
   * keep decaying, and rejoining does not bring back stale ones undecayed.
   */
  leave(room: string): void {
    const name = parseRoomName(room);
    const topic = this.joined.get(name);
    if (topic === undefined) return;
    const { pubsub } = this.components;
    pubsub.unsubscribe(topic);
    pubsub.topicValidators.delete(topic);
    this.joined.delete(name);
    this.roomsByTopic.delete(topic);
    this.authorLimits.delete(name);
    this.log('left room %s', name);
  }

  rooms(): string[] {
    return [...this.joined.keys()];
  }

  roomPeers(room: string): string[] {
    const topic = this.joined.get(parseRoomName(room));
    if (topic === undefined) throw new NotJoinedError(room);
    return this.components.pubsub.getSubscribers(topic).map((peer) => peer.toString());
  }

  async send(room: string, text: string): Promise<SentChatMessage> {
    const name = parseRoomName(room);
    this.assertStarted();
    const topic = this.joined.get(name);
    if (topic === undefined) throw new NotJoinedError(name);
    const ts = this.now();
    const data = encodeChatMessage({ v: CHAT_PROTOCOL_VERSION, room: name, nick: this.nickName, text, ts, nonce: this.nonces.next() });
    const idBytes = chatMessageId(this.components.peerId.toMultihash().bytes, data);
    const id = formatMessageId(idBytes);
    this.seen.add(id);
    await publishWithId(this.components.pubsub, topic, data, idBytes);
    const raw = publishedMessage(this.components.pubsub, idBytes);
    return { id, ts, record: raw === undefined ? undefined : recordOfRaw(raw) };
  }

  /**
   * Gossipsub calls this once per message ID, before delivering or forwarding it.
   * Reject lowers the sender's score; Ignore drops the message without blame.
   */
  private validate(room: string, source: PeerId, message: PubsubMessage): TopicValidatorResult {
    const author = message.type === 'signed' ? message.from : source;
    try {
      const decoded = decodeChatMessage(message.data, room);
      const now = this.now();
      checkTimestamp(decoded.ts, now, this.limits);
      // Gossipsub identified a signed message by the same hash of the same author and bytes.
      const id = (message.type === 'signed' ? computedMessageId(message) : undefined) ?? this.messageId(author, message.data);
      // A replay older than gossipsub's own seen cache: already shown, so not forwarded either.
      if (this.seen.has(id)) return TopicValidatorResult.Ignore;
      const limits = this.authorLimits.get(room);
      if (limits !== undefined) {
        const from = authorIdString(author.toMultihash().bytes);
        if (!limits.buckets.take(from, now)) {
          limits.reports.count(from, now);
          // Every peer keeps its own buckets, so a peer forwarding a message it accepted is
          // no flooder, yet after a Reject gossipsub penalises every peer that sends a copy.
          // So the message is only dropped, and counted as invalid against its author alone
          // when the author sent it itself.
          if (source.equals(author)) penalise(this.components.pubsub, from, limits.topic);
          return TopicValidatorResult.Ignore;
        }
      }
      this.accepted.set(message, { id, message: decoded });
      return TopicValidatorResult.Accept;
    } catch (err) {
      if (!(err instanceof ChatInputError)) {
        this.log.error('validating a message in room %s from %p failed - %e', room, author, err);
        return TopicValidatorResult.Ignore;
      }
      this.log('rejected a message in room %s from %p: %s', room, author, err.message);
      this.safeDispatchEvent('rejected', { detail: { from: author.toString(), room, reason: `${err.reason}: ${err.message}`, count: 1 } });
      // A slow clock is no attack; everything else a well-behaved peer never sends.
      return err.reason === 'too-old' ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject;
    }
  }

  /** One log line and one `rejected` event for `count` messages from `from` over the rate limit. */
  private reportRateLimited(room: string, limit: RateLimit, from: string, count: number): void {
    const explanation = `${count} message${count === 1 ? '' : 's'} over the limit of ${limit.rate} a second (${limit.burst} at once), ` +
      `reported at most every ${RATE_LIMIT_REPORT_INTERVAL_MS / 1000} s`;
    this.log('refused %s in room %s from %s', explanation, room, from);
    this.safeDispatchEvent('rejected', { detail: { from, room, reason: `rate-limited: ${explanation}`, count } });
  }

  private onPubsubMessage(evt: CustomEvent<PubsubMessage>): void {
    try {
      this.deliver(evt.detail);
    } catch (err) {
      this.log.error('could not deliver a message on %s - %e', evt.detail.topic, err);
    }
  }

  private deliver(message: PubsubMessage): void {
    const room = this.roomsByTopic.get(message.topic);
    // Unsigned messages never get here under StrictSign; other topics belong to others.
    if (room === undefined || message.type !== 'signed') return;
    if (message.from.equals(this.components.peerId)) return;
    // The validator accepted these bytes for this room, so decoding again cannot fail.
    const accepted = this.accepted.get(message) ??
      { id: this.messageId(message.from, message.data), message: decodeChatMessage(message.data, room) };
    this.accepted.delete(message);
    const { id, message: { nick, text, ts } } = accepted;
    if (!this.seen.add(id)) return;
    this.safeDispatchEvent('message', {
      detail: { room, id, from: authorIdString(message.from.toMultihash().bytes), nick, text, ts, record: recordOf(message) }
    });
  }

  private messageId(author: PeerId, data: Uint8Array): string {
    return formatMessageId(chatMessageId(author.toMultihash().bytes, data));
  }

  private assertStarted(): void {
    if (!this.started) throw new NotStartedError('the chat service is not started');
  }
}
