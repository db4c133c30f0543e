/**
 * The project's one import of a gossipsub implementation, and our settings for it.
 *
 * `@libp2p/gossipsub` 17 is the libp2p 3 build of ChainSafe's gossipsub (the ChainSafe
 * package 14.x targets libp2p 2 and silently never forms a mesh under libp2p 3). When
 * `@chainsafe/libp2p-gossipsub` supports libp2p 3, moving back is changing the package
 * name in the import below: the API is the same code.
 */
import { gossipsub, StrictSign, TopicValidatorResult, type GossipSub, type GossipSubComponents, type GossipsubOpts, type Message } from '@libp2p/gossipsub';
import { toString as toBase58 } from 'uint8arrays/to-string';
import type { PeerId } from '@libp2p/interface';
import { chatMessageId, formatMessageId } from '../chat/codec.ts';
import type { CutOff } from './cut-off.ts';
import { IP_COLOCATION_WHITELIST, MESH_DEGREE, ROOM_TOPIC_SCORE_PARAMS, SCORE_THRESHOLDS } from './constants.ts';

export { TopicValidatorResult };
export type { GossipSubComponents as PubsubComponents, Message as PubsubMessage };
export type PubsubOptions = Partial<GossipsubOpts>;
type PeerScoreParams = GossipsubOpts['scoreParams'];
export type TopicScoreParams = NonNullable<PeerScoreParams['topics']>[string];
export type PeerScoreThresholds = Required<GossipsubOpts['scoreThresholds']>;

/**
 * The gossipsub service as the peer uses it: the package's public interface plus members
 * its class has but the interface returned by `gossipsub()` leaves out. `pubsub()` checks
 * they exist, so an implementation without them fails at node creation, not mid-chat.
 */
export interface Pubsub extends GossipSub {
  /** Peer IDs in our mesh for `topic`. */
  getMeshPeers(topic: string): string[];
  /** A peer's current gossipsub score. */
  getScore(peerId: string): number;
}

type RpcMessage = Parameters<GossipsubOpts['fastMsgIdFn']>[0];
/** A decoded RPC as gossipsub hands it on, before any message in it is verified. */
interface Rpc { messages: RpcMessage[] }

/**
 * Members of the class that `pubsub()` reaches into: the live score parameters (gossipsub
 * copies scoreParams at construction), the invalid-message counter, the caches in front of
 * a peer's score, and the forwarding of a received message.
 */
interface Internals {
  score?: {
    params?: { topics?: Record<string, TopicScoreParams>, IPColocationFactorWhitelist?: Set<string> },
    rejectInvalidMessage?: (from: string, topic: string) => void,
    scoreCache?: Map<string, unknown>
  };
  acceptFromWhitelist?: Map<string, unknown>;
  forwardMessage?: (msgIdStr: string, rawMsg: RpcMessage, propagationSource?: string, excludePeers?: Set<string>) => void;
  mcache?: { get(msgId: Uint8Array): RpcMessage | undefined };
  handleReceivedRpc?: (from: PeerId, rpc: Rpc) => Promise<void>;
  subscriptions?: Set<string>;
}

function assertPubsub(service: GossipSub): asserts service is Pubsub & Required<Internals> {
  const candidate = service as Partial<Pubsub> & Internals;
  if (typeof candidate.getMeshPeers !== 'function' || typeof candidate.getScore !== 'function' ||
    typeof candidate.score?.params?.topics !== 'object' || typeof candidate.score.rejectInvalidMessage !== 'function' ||
    !(candidate.score.scoreCache instanceof Map) || !(candidate.acceptFromWhitelist instanceof Map) ||
    typeof candidate.forwardMessage !== 'function' || typeof candidate.mcache?.get !== 'function' ||
    typeof candidate.handleReceivedRpc !== 'function' || !(candidate.subscriptions instanceof Set)) {
    throw new Error('this gossipsub implementation lacks getMeshPeers, getScore, score.params.topics, score.rejectInvalidMessage, ' +
      'score.scoreCache, acceptFromWhitelist, forwardMessage, mcache, handleReceivedRpc or subscriptions, which the peer needs');
  }
}

/** Authors whose peer ID strings are kept; cleared when full, so a peer minting keys cannot grow it. */
const MAX_AUTHOR_IDS = 1024;
const authorIds = new Map<string, string>();

/**
 * The peer ID string (base58btc of the multihash) of a message's author. Every received
 * message brings a new PeerId object, whose toString() encodes base58 afresh (about 3 µs,
 * the largest single cost of delivering a chat message); a room has few authors.
 */
export function authorIdString(multihash: Uint8Array): string {
  const key = Buffer.from(multihash.buffer, multihash.byteOffset, multihash.byteLength).toString('latin1');
  let id = authorIds.get(key);
  if (id === undefined) {
    id = toBase58(multihash, 'base58btc');
    if (authorIds.size >= MAX_AUTHOR_IDS) authorIds.clear();
    authorIds.set(key, id);
  }
  return id;
}

/**
 * Forwards a received message as gossipsub does, but never back to its author, as
 * go-libp2p-pubsub does: the author has the message, and the package sent it a copy from
 * every mesh peer that first heard it from someone else. Each such copy cost that peer a
 * send and the author a signature verification (its own message is not in the fast-ID
 * cache), on the busiest peer in a room: in bench-chat's 10-peer clusters the publisher got
 * 0.4-1.0 copies of each of its messages back.
 */
function skipAuthorWhenForwarding(service: Required<Internals>): void {
  const forward = service.forwardMessage.bind(service);
  service.forwardMessage = (msgIdStr, rawMsg, propagationSource, excludePeers) => {
    // `from` carries the author's multihash, whose base58btc is its peer ID string.
    const author = rawMsg.from === undefined ? undefined : authorIdString(rawMsg.from);
    forward(msgIdStr, rawMsg, propagationSource, author === undefined ? excludePeers : new Set(excludePeers).add(author));
  };
}

/** What pubsub() does with a peer that floods: counts, and on a cut-off disconnects and tells. */
export interface CutOffHook {
  cutOff: CutOff;
  /** Called once per cut-off, after its connections are asked to close. */
  onCutOff: (peerId: string, topic: string) => void;
}

/**
 * Counts the messages in each decoded RPC that the sending peer authored itself, before
 * gossipsub verifies any signature, and drops every RPC of a peer cut off; on a cut-off
 * closes its connections (the connection gater refuses new ones). A forwarder is never
 * counted for what it relays: only a message whose `from` is the connection's peer. Topics
 * we are not subscribed to share one count per peer, so spreading a flood over invented
 * topics does not multiply what gets through.
 */
function cutOffFlooders(service: Required<Internals>, components: GossipSubComponents, hook: CutOffHook): void {
  const handle = service.handleReceivedRpc.bind(service);
  const log = components.logger.forComponent('cli-chat:cut-off');
  service.handleReceivedRpc = async (from, rpc) => {
    const peer = from.toString();
    const now = Date.now();
    if (hook.cutOff.refuses(peer, now)) return;
    for (const message of rpc.messages) {
      if (message.from === undefined || authorIdString(message.from) !== peer) continue;
      const topic = service.subscriptions.has(message.topic) ? message.topic : '';
      if (!hook.cutOff.authored(peer, topic, now)) continue;
      components.connectionManager.closeConnections(from).catch((err: unknown) => log.error('closing the connections of %p failed - %e', from, err));
      hook.onCutOff(peer, message.topic);
      return;
    }
    await handle(from, rpc);
  };
}

/**
 * Gossipsub's message ID: SHA-256 over the author's peer ID and the data, the same ID the
 * chat service delivers by. Content-derived, so a message that took two paths, or was
 * replayed, is recognised; publishing the same bytes twice is refused (PublishError.Duplicate),
 * which is why every chat message carries a nonce.
 */
function msgIdFn(message: Message): Uint8Array {
  const published = message.type === 'signed' ? idsToPublish.get(message.data) : undefined;
  const id = published ?? chatMessageId(message.type === 'signed' ? message.from.toMultihash().bytes : new Uint8Array(0), message.data);
  computedIds.set(message, id);
  return id;
}

/** gossipsub's msgIdToStrFn: the printable ID, kept for the chat service's validator. */
function msgIdToStr(id: Uint8Array): string {
  const str = formatMessageId(id);
  idStrings.set(id, str);
  return str;
}

/** IDs msgIdFn computed, by message object; entries go with the messages. */
const computedIds = new WeakMap<Message, Uint8Array>();
/** Printable forms of those IDs, by ID object. */
const idStrings = new WeakMap<Uint8Array, string>();
/**
 * IDs of messages this node is publishing, by data object: gossipsub hands msgIdFn the very
 * object passed to publish(), and a received message's data is always a new one.
 */
const idsToPublish = new WeakMap<Uint8Array, Uint8Array>();

/**
 * The printable ID gossipsub computed for a message it is validating or delivering (the
 * same object reaches topic validators and 'message' listeners), so the chat service need
 * not hash every message a second time; undefined for a message gossipsub did not identify.
 */
export function computedMessageId(message: Message): string | undefined {
  const id = computedIds.get(message);
  return id === undefined ? undefined : idStrings.get(id) ?? formatMessageId(id);
}

/**
 * Publishes `data` signed by this node, whose message ID the caller already computed with
 * chatMessageId over this node's peer ID and `data`: gossipsub then does not hash it again.
 */
export function publishWithId(service: Pubsub, topic: string, data: Uint8Array, id: Uint8Array): ReturnType<Pubsub['publish']> {
  idsToPublish.set(data, id);
  return service.publish(topic, data);
}

/**
 * The message this node just published, as gossipsub signed it (from its message cache,
 * where publish() puts it): history keeps our own messages verifiable too.
 */
export function publishedMessage(service: Pubsub, id: Uint8Array): RpcMessage | undefined {
  return (service as Pubsub & Internals).mcache?.get(id);
}

/**
 * A cheap key for a copy of a message as it arrives: author and sequence number. Gossipsub
 * maps it to the real ID once one copy has passed signature verification, so every further
 * copy is recognised as a duplicate without verifying its signature again (verification
 * dominated a receiver's CPU in bench-chat). A forged copy with a known key is dropped as a
 * duplicate; one with a new key is verified, fails, and is never cached.
 */
function fastMsgIdFn(message: RpcMessage): string {
  const from = message.from === undefined ? '' : Buffer.from(message.from).toString('base64');
  const seqno = message.seqno === undefined ? '' : Buffer.from(message.seqno).toString('base64');
  return `${from}/${seqno}`;
}

/**
 * The gossipsub service with our settings; `options` override them (score parameters and
 * thresholds field by field); with `cutOff`, peers that flood are cut off (see
 * cutOffFlooders). Register it under the service name `pubsub`: the chat service finds it there.
 */
export function pubsub(options: PubsubOptions = {}, cutOff?: CutOffHook): (components: GossipSubComponents) => Pubsub {
  const create = gossipsub({
    // Every message is signed by its author and unsigned ones are refused: a nick can be
    // anything, so the peer ID is the only identity a reader can trust. Both ends must
    // agree: StrictSign and StrictNoSign peers deliver nothing to each other.
    globalSignaturePolicy: StrictSign,
    msgIdFn,
    fastMsgIdFn,
    msgIdToStrFn: msgIdToStr,
    // Sending to a room nobody else is in yet is normal, not an error.
    allowPublishToZeroTopicPeers: true,
    // Our own messages are reported by the chat service's send(), never as received.
    emitSelf: false,
    // An author sends to its mesh, topped up to D with other subscribers above
    // publishThreshold, not to every subscriber. Flood publishing made it send 19 copies of
    // each message in a room of 20: at 50 msg/s on two cores (bench-soak) the author lagged
    // so far behind that membership failed it 2-4 times in two minutes, and with mesh
    // publishing not once. The mesh reaches a room of 20 in two or three hops.
    floodPublish: false,
    // All our peers speak gossipsub; a floodsub peer would bypass the mesh and scoring.
    fallbackToFloodsub: false,
    // Any peer may be a seed that many join at once; PX lets the ones it prunes from an
    // oversized mesh find each other instead of leaving a star around the seed.
    doPX: true,
    // Rooms must reach members that only a relay connects us to. Chat is small messages;
    // a circuit's limit, when a relay sets one, closes the connection and membership redials.
    runOnLimitedConnection: true,
    ...MESH_DEGREE,
    ...options,
    scoreParams: { IPColocationFactorWhitelist: new Set(IP_COLOCATION_WHITELIST), ...options.scoreParams },
    scoreThresholds: { ...SCORE_THRESHOLDS, ...options.scoreThresholds }
  });
  return (components) => {
    const service = create(components);
    assertPubsub(service);
    skipAuthorWhenForwarding(service);
    if (cutOff !== undefined) cutOffFlooders(service, components, cutOff);
    return service;
  };
}

/**
 * Scores `topic` with `params`, so Reject results of its validator lower the sender's
 * score. Added at run time because rooms are joined at run time.
 */
export function scoreTopic(service: Pubsub, topic: string, params: TopicScoreParams = ROOM_TOPIC_SCORE_PARAMS): void {
  const topics = (service as Pubsub & Internals).score?.params?.topics;
  if (topics === undefined) throw new Error('gossipsub exposes no score parameters');
  topics[topic] = { ...params };
}

/**
 * Counts one invalid message (P4) against `peerId` on the scored `topic`, as a Reject from
 * the topic validator does, without marking any message invalid: gossipsub penalises every
 * peer that later forwards a copy of a message it holds invalid. The penalty applies from
 * the peer's next RPC on: gossipsub would otherwise judge it for up to a heartbeat by the
 * score computed before, and not at all for 128 RPCs or a second once that was >= 0, which
 * let a flooder at thousands a second get a thousand messages verified and validated.
 */
export function penalise(service: Pubsub, peerId: string, topic: string): void {
  const internals = service as Pubsub & Required<Internals>;
  internals.score.rejectInvalidMessage?.(peerId, topic);
  internals.score.scoreCache?.delete(peerId);
  internals.acceptFromWhitelist.delete(peerId);
}

/**
 * Exempts `ip` from gossipsub's IP-colocation penalty (P6). Every member reached through a
 * relay appears at the relay's IP, so past ten of them the penalty would graylist members
 * for sharing a relay; the relay bounds how many it carries itself (its reservations).
 */
export function exemptFromColocation(service: Pubsub, ip: string): void {
  const whitelist = (service as Pubsub & Internals).score?.params?.IPColocationFactorWhitelist;
  if (whitelist === undefined) throw new Error('gossipsub exposes no IP colocation whitelist');
  whitelist.add(ip);
}

/** The peers whose score is below graylistThreshold: gossipsub drops everything they send unread. */
export function graylistedPeers(service: Pubsub): string[] {
  return service.getPeers().map((p) => p.toString()).filter((id) => service.getScore(id) < SCORE_THRESHOLDS.graylistThreshold);
}
