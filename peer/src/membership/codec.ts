/**
 * The binary wire format of membership messages. Pure: no libp2p, no clock, no I/O.
 *
 * Why binary and not JSON: every probe, ack and gossip message carries piggybacked
 * updates, and an alive claim holds a 64-byte signature that JSON would inflate by a
 * third (base64) or more; the per-member byte rate is a headline figure of this protocol.
 * A positional format with minimal varints is also easier to decode strictly than JSON:
 * there is exactly one encoding of each message, so a signed claim is verified on the
 * bytes as received and compared byte for byte, with no canonicalisation step.
 *
 * Layout: u8 version, u8 type, then the type's fields; strings and byte strings are
 * varint-length-prefixed; lists are varint-count-prefixed. Decoding checks the size
 * first, rejects non-minimal varints, invalid UTF-8, out-of-range values, unknown tags
 * and trailing bytes, and applies every metadata rule a sender's own input is held to.
 * Anything else is a MembershipDecodeError; no other error escapes decode.
 */
import {
  ALIVE_SIGNING_DOMAIN, LEAVE_SIGNING_DOMAIN, MAX_ADDR_BYTES, MAX_ADDRS, MAX_DIGESTS_PER_MESSAGE,
  MAX_INCARNATION, MAX_MEMBER_ID_LENGTH, MAX_MESSAGE_BYTES, MAX_NICK_LENGTH, MAX_ROOM_BYTES, MAX_ROOMS,
  MAX_SEQ, MAX_UPDATES_PER_MESSAGE, MAX_VERSION_BYTES, MEMBER_ID_PATTERN, MEMBERSHIP_PROTOCOL_VERSION,
  SIGNATURE_BYTES, SYNC_MAX_DEPTH, SYNC_MAX_STEPS
} from './constants.ts';
import { MembershipDecodeError, Reader, Writer, utf8Length, varintSize } from './binary.ts';
import type { AliveClaim, LeaveClaim, MemberId, MemberMeta } from './member.ts';
import type { Evidence, Message, MessageType, SyncDigest, SyncWant, Update } from './messages.ts';

export { MembershipDecodeError } from './binary.ts';
export type { DecodeReason } from './binary.ts';

const MESSAGE_TAGS: Record<MessageType, number> = { ping: 1, ack: 2, 'ping-req': 3, nack: 4, gossip: 5, sync: 6 };
const UPDATE_TAGS = { alive: 1, suspect: 2, dead: 3, left: 4 } as const;
const EVIDENCE_CODES: Record<Evidence, number> = { timeout: 0, unreachable: 1 };
const MAX_CLAIM_BODY_BYTES = 4096;

/** Nicks carry no control or format characters, so one cannot be made to look like another. */
const NICK_FORBIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;
const ROOM_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;
/** Multiaddrs and versions are printable ASCII without spaces. */
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;

/** What is wrong with a member ID, or undefined. */
export function memberIdProblem(id: string): string | undefined {
  return MEMBER_ID_PATTERN.test(id) ? undefined : `member ID must be 1-${MAX_MEMBER_ID_LENGTH} ASCII letters or digits`;
}

/** What is wrong with metadata, or undefined: the rules both a sender and a receiver apply. */
export function metaProblem(meta: MemberMeta): string | undefined {
  const nickLength = [...meta.nick].length;
  if (nickLength < 1 || nickLength > MAX_NICK_LENGTH) return `nick must be 1-${MAX_NICK_LENGTH} characters`;
  if (NICK_FORBIDDEN.test(meta.nick)) return 'nick must not contain control or formatting characters';
  if (meta.nick.trim() !== meta.nick) return 'nick must not start or end with whitespace';
  if (meta.addrs.length > MAX_ADDRS) return `at most ${MAX_ADDRS} addresses`;
  for (const addr of meta.addrs) {
    if (addr.length > MAX_ADDR_BYTES || !PRINTABLE_ASCII.test(addr) || !addr.startsWith('/')) return `bad address "${addr.slice(0, 80)}"`;
  }
  if (meta.rooms.length > MAX_ROOMS) return `at most ${MAX_ROOMS} rooms`;
  for (const room of meta.rooms) if (!ROOM_PATTERN.test(room)) return `bad room name "${room.slice(0, 80)}"`;
  if (meta.version.length > MAX_VERSION_BYTES || !PRINTABLE_ASCII.test(meta.version)) return 'version must be 1-32 printable ASCII characters';
  return undefined;
}

function checkId(id: string, field: string): void {
  if (memberIdProblem(id) !== undefined) throw new MembershipDecodeError('bad-field', `${field} is not a valid member ID`);
}

/** The signed part of an alive claim: (id, incarnation, meta), in wire form. */
export function encodeAliveBody(id: MemberId, incarnation: number, meta: MemberMeta): Uint8Array {
  const w = new Writer(128 + 64 * meta.addrs.length);
  writeAliveBody(w, id, incarnation, meta);
  return w.finish();
}

function writeAliveBody(w: Writer, id: MemberId, incarnation: number, meta: MemberMeta): void {
  w.string(id);
  w.varint(incarnation);
  w.string(meta.nick);
  w.varint(meta.addrs.length);
  for (const addr of meta.addrs) w.string(addr);
  w.varint(meta.rooms.length);
  for (const room of meta.rooms) w.string(room);
  w.string(meta.version);
}

function readAliveBody(r: Reader): { id: MemberId, incarnation: number, meta: MemberMeta } {
  const id = r.string(MAX_MEMBER_ID_LENGTH, 'claim id');
  checkId(id, 'claim id');
  const incarnation = r.varint(MAX_INCARNATION, 'incarnation');
  const nick = r.string(4 * MAX_NICK_LENGTH, 'nick');
  const addrCount = r.varint(MAX_ADDRS, 'address count');
  const addrs: string[] = [];
  for (let i = 0; i < addrCount; i++) addrs.push(r.string(MAX_ADDR_BYTES, 'address'));
  const roomCount = r.varint(MAX_ROOMS, 'room count');
  const rooms: string[] = [];
  for (let i = 0; i < roomCount; i++) rooms.push(r.string(MAX_ROOM_BYTES, 'room'));
  const version = r.string(MAX_VERSION_BYTES, 'version');
  const meta: MemberMeta = { nick, addrs, rooms, version };
  const problem = metaProblem(meta);
  if (problem !== undefined) throw new MembershipDecodeError('bad-field', problem);
  return { id, incarnation, meta };
}

/** Decodes a claim body on its own (for a claim created locally or restored from disk). */
export function decodeAliveBody(body: Uint8Array): { id: MemberId, incarnation: number, meta: MemberMeta } {
  const r = new Reader(body);
  const decoded = readAliveBody(r);
  r.end();
  return decoded;
}

function withDomain(domain: string, payload: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode(domain);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix);
  out.set(payload, prefix.length);
  return out;
}

/** The bytes a member signs to claim it is alive. */
export function aliveSigningBytes(body: Uint8Array): Uint8Array {
  return withDomain(ALIVE_SIGNING_DOMAIN, body);
}

/** The bytes a member signs to leave. */
export function leaveSigningBytes(id: MemberId, incarnation: number): Uint8Array {
  const w = new Writer(64);
  w.string(id);
  w.varint(incarnation);
  return withDomain(LEAVE_SIGNING_DOMAIN, w.finish());
}

function writeUpdate(w: Writer, update: Update): void {
  switch (update.kind) {
    case 'alive':
      w.u8(UPDATE_TAGS.alive);
      w.bytes(update.claim.body);
      w.raw(update.claim.signature);
      return;
    case 'suspect':
      w.u8(UPDATE_TAGS.suspect);
      w.string(update.id);
      w.varint(update.incarnation);
      w.string(update.from);
      w.u8(EVIDENCE_CODES[update.evidence]);
      return;
    case 'dead':
      w.u8(UPDATE_TAGS.dead);
      w.string(update.id);
      w.varint(update.incarnation);
      w.string(update.from);
      return;
    case 'left':
      w.u8(UPDATE_TAGS.left);
      w.string(update.claim.id);
      w.varint(update.claim.incarnation);
      w.raw(update.claim.signature);
  }
}

function readUpdate(r: Reader): Update {
  const tag = r.u8();
  switch (tag) {
    case UPDATE_TAGS.alive: {
      const length = r.varint(MAX_CLAIM_BODY_BYTES, 'claim length');
      const start = r.offset;
      const { id, incarnation, meta } = readAliveBody(r);
      if (r.offset - start !== length) throw new MembershipDecodeError('bad-field', 'claim length does not match its content');
      const body = r.slice(start, r.offset);
      const claim: AliveClaim = { id, incarnation, meta, body, signature: r.fixed(SIGNATURE_BYTES) };
      return { kind: 'alive', claim };
    }
    case UPDATE_TAGS.suspect: {
      const id = r.string(MAX_MEMBER_ID_LENGTH, 'suspect id');
      checkId(id, 'suspect id');
      const incarnation = r.varint(MAX_INCARNATION, 'incarnation');
      const from = r.string(MAX_MEMBER_ID_LENGTH, 'suspect from');
      checkId(from, 'suspect from');
      const code = r.u8();
      if (code > 1) throw new MembershipDecodeError('bad-field', `unknown evidence ${code}`);
      return { kind: 'suspect', id, incarnation, from, evidence: code === 1 ? 'unreachable' : 'timeout' };
    }
    case UPDATE_TAGS.dead: {
      const id = r.string(MAX_MEMBER_ID_LENGTH, 'dead id');
      checkId(id, 'dead id');
      const incarnation = r.varint(MAX_INCARNATION, 'incarnation');
      const from = r.string(MAX_MEMBER_ID_LENGTH, 'dead from');
      checkId(from, 'dead from');
      return { kind: 'dead', id, incarnation, from };
    }
    case UPDATE_TAGS.left: {
      const id = r.string(MAX_MEMBER_ID_LENGTH, 'leave id');
      checkId(id, 'leave id');
      const incarnation = r.varint(MAX_INCARNATION, 'incarnation');
      const claim: LeaveClaim = { id, incarnation, signature: r.fixed(SIGNATURE_BYTES) };
      return { kind: 'left', claim };
    }
    default:
      throw new MembershipDecodeError('unknown-type', `unknown update tag ${tag}`);
  }
}

function writeUpdates(w: Writer, updates: readonly Update[]): void {
  w.varint(updates.length);
  for (const update of updates) writeUpdate(w, update);
}

function readUpdates(r: Reader, field: string): Update[] {
  const count = r.varint(MAX_UPDATES_PER_MESSAGE, `${field} count`);
  const updates: Update[] = [];
  for (let i = 0; i < count; i++) updates.push(readUpdate(r));
  return updates;
}

function readTarget(r: Reader): MemberId {
  const target = r.string(MAX_MEMBER_ID_LENGTH, 'target');
  checkId(target, 'target');
  return target;
}

function readDigests(r: Reader): SyncDigest[] {
  const count = r.varint(MAX_DIGESTS_PER_MESSAGE, 'digest count');
  const digests: SyncDigest[] = [];
  for (let i = 0; i < count; i++) {
    const { depth, prefix } = readBucket(r);
    const hash = r.u32();
    const members = r.varint(MAX_SEQ, 'digest count');
    digests.push({ depth, prefix, hash, count: members });
  }
  return digests;
}

function readBucket(r: Reader): SyncWant {
  const depth = r.u8();
  if (depth > SYNC_MAX_DEPTH) throw new MembershipDecodeError('bad-field', `digest depth ${depth} exceeds ${SYNC_MAX_DEPTH}`);
  const prefix = r.varint(16 ** depth - 1, 'digest prefix');
  return { depth, prefix };
}

/** Encodes a message. Throws RangeError if it would exceed MAX_MESSAGE_BYTES (a local bug). */
export function encodeMessage(message: Message): Uint8Array {
  const w = new Writer(64);
  w.u8(MEMBERSHIP_PROTOCOL_VERSION);
  w.u8(MESSAGE_TAGS[message.type]);
  switch (message.type) {
    case 'ping':
      w.varint(message.seq);
      w.string(message.target);
      break;
    case 'ack':
    case 'nack':
      w.varint(message.seq);
      break;
    case 'ping-req':
      w.varint(message.seq);
      w.string(message.target);
      w.u8(message.nack ? 1 : 0);
      break;
    case 'gossip':
      break;
    case 'sync':
      w.varint(message.session);
      w.varint(message.step);
      w.varint(message.digests.length);
      for (const d of message.digests) {
        w.u8(d.depth);
        w.varint(d.prefix);
        w.u32(d.hash);
        w.varint(d.count);
      }
      w.varint(message.want.length);
      for (const want of message.want) {
        w.u8(want.depth);
        w.varint(want.prefix);
      }
      writeUpdates(w, message.entries);
      break;
  }
  writeUpdates(w, message.updates);
  if (w.length > MAX_MESSAGE_BYTES) throw new RangeError(`membership message of ${w.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  return w.finish();
}

/** Decodes a message; throws MembershipDecodeError (and nothing else) on any bad input. */
export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.length > MAX_MESSAGE_BYTES) throw new MembershipDecodeError('too-large', `message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  const r = new Reader(bytes);
  const version = r.u8();
  if (version !== MEMBERSHIP_PROTOCOL_VERSION) throw new MembershipDecodeError('unsupported-version', `protocol version ${version} is not ${MEMBERSHIP_PROTOCOL_VERSION}`);
  const tag = r.u8();
  let message: Message;
  switch (tag) {
    case MESSAGE_TAGS.ping: {
      const seq = r.varint(MAX_SEQ, 'seq');
      const target = readTarget(r);
      message = { type: 'ping', seq, target, updates: readUpdates(r, 'updates') };
      break;
    }
    case MESSAGE_TAGS.ack:
      message = { type: 'ack', seq: r.varint(MAX_SEQ, 'seq'), updates: readUpdates(r, 'updates') };
      break;
    case MESSAGE_TAGS.nack:
      message = { type: 'nack', seq: r.varint(MAX_SEQ, 'seq'), updates: readUpdates(r, 'updates') };
      break;
    case MESSAGE_TAGS['ping-req']: {
      const seq = r.varint(MAX_SEQ, 'seq');
      const target = readTarget(r);
      const flag = r.u8();
      if (flag > 1) throw new MembershipDecodeError('bad-field', `nack flag ${flag} is not 0 or 1`);
      message = { type: 'ping-req', seq, target, nack: flag === 1, updates: readUpdates(r, 'updates') };
      break;
    }
    case MESSAGE_TAGS.gossip:
      message = { type: 'gossip', updates: readUpdates(r, 'updates') };
      break;
    case MESSAGE_TAGS.sync: {
      const session = r.varint(MAX_SEQ, 'session');
      const step = r.varint(SYNC_MAX_STEPS, 'step');
      const digests = readDigests(r);
      const wantCount = r.varint(MAX_DIGESTS_PER_MESSAGE, 'want count');
      const want: SyncWant[] = [];
      for (let i = 0; i < wantCount; i++) want.push(readBucket(r));
      const entries = readUpdates(r, 'entries');
      message = { type: 'sync', session, step, digests, want, entries, updates: readUpdates(r, 'updates') };
      break;
    }
    default:
      throw new MembershipDecodeError('unknown-type', `unknown message type ${tag}`);
  }
  r.end();
  return message;
}

function stringSize(text: string): number {
  const length = utf8Length(text);
  return varintSize(length) + length;
}

/** Encoded size of one update, without encoding it. */
export function updateSize(update: Update): number {
  switch (update.kind) {
    case 'alive':
      return 1 + varintSize(update.claim.body.length) + update.claim.body.length + SIGNATURE_BYTES;
    case 'suspect':
      return 1 + stringSize(update.id) + varintSize(update.incarnation) + stringSize(update.from) + 1;
    case 'dead':
      return 1 + stringSize(update.id) + varintSize(update.incarnation) + stringSize(update.from);
    case 'left':
      return 1 + stringSize(update.claim.id) + varintSize(update.claim.incarnation) + SIGNATURE_BYTES;
  }
}

function updatesSize(updates: readonly Update[]): number {
  let size = varintSize(updates.length);
  for (const update of updates) size += updateSize(update);
  return size;
}

/** Encoded size of a message, without encoding it (the simulator counts bytes with this). */
export function encodedSize(message: Message): number {
  let size = 2 + updatesSize(message.updates);
  switch (message.type) {
    case 'ping':
      return size + varintSize(message.seq) + stringSize(message.target);
    case 'ack':
    case 'nack':
      return size + varintSize(message.seq);
    case 'ping-req':
      return size + varintSize(message.seq) + stringSize(message.target) + 1;
    case 'gossip':
      return size;
    case 'sync':
      size += varintSize(message.session) + varintSize(message.step);
      size += varintSize(message.digests.length);
      for (const d of message.digests) size += 1 + varintSize(d.prefix) + 4 + varintSize(d.count);
      size += varintSize(message.want.length);
      for (const want of message.want) size += 1 + varintSize(want.prefix);
      return size + updatesSize(message.entries);
  }
}
