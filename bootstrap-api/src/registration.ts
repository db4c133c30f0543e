/**
 * Registrations are libp2p signed peer records (RFC 0002 envelope holding an RFC 0003
 * PeerRecord). Holding the key is the only way to speak for a peer ID: the backend
 * opens the envelope, checks the signature and that the record names the signer.
 */
import { PeerRecord, RecordEnvelope } from '@libp2p/peer-record';
import { peerIdFromPrivateKey, peerIdFromPublicKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import type { PrivateKey, PublicKey } from '@libp2p/interface';
import { ApiError } from './errors.ts';
import { MAX_ADDRS_PER_PEER, MAX_ADDR_LENGTH, RECORD_MAX_AGE_MS, RECORD_MAX_SKEW_MS } from './constants.ts';

/** A registration whose signature and freshness have been checked. */
export interface VerifiedRecord {
  peerId: string;
  addrs: string[];
  /** The record's sequence number: its creation time in ms. */
  seq: number;
  /** The envelope exactly as received, base64, so others can verify it themselves. */
  record: string;
}

/**
 * Checks `signature` over `data` (the envelope's domain-separated signing bytes) for `key`.
 * A backend may bring a faster Ed25519 implementation than the key's own `verify`.
 */
export type SignatureCheck = (key: PublicKey, data: Uint8Array, signature: Uint8Array) => boolean | Promise<boolean>;

export interface VerifyOptions {
  now: number;
  maxAgeMs?: number;
  maxSkewMs?: number;
  /** Defaults to the key's own `verify` (Node's OpenSSL for Ed25519). */
  checkSignature?: SignatureCheck;
}

/**
 * Opens the envelope and checks its signature. Not `RecordEnvelope.openAndCertify`, which
 * always verifies with the key's own code: the envelope is validated through a stand-in
 * key whose `verify` is `check`, so libp2p still formats the signed bytes.
 */
async function openEnvelope(bytes: Uint8Array, check: SignatureCheck | undefined): Promise<RecordEnvelope> {
  const envelope = RecordEnvelope.createFromProtobuf(bytes);
  const key = envelope.publicKey;
  const checking = check === undefined ? envelope : new RecordEnvelope({
    // The same key with only `verify` replaced.
    publicKey: Object.create(key, { verify: { value: (data: Uint8Array, signature: Uint8Array) => check(key, data, signature) } }) as PublicKey,
    payloadType: envelope.payloadType,
    payload: envelope.payload,
    signature: envelope.signature
  });
  if (!await checking.validate(PeerRecord.DOMAIN)) throw new Error('Envelope signature is not valid for the given domain');
  return envelope;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Opens, authenticates and bounds a base64 envelope; throws an ApiError naming the problem. */
export async function verifyRecord(base64: string, options: VerifyOptions): Promise<VerifiedRecord> {
  const bytes = Buffer.from(base64, 'base64');
  let envelope: RecordEnvelope;
  try {
    envelope = await openEnvelope(bytes, options.checkSignature);
  } catch (err) {
    const invalidSignature = err instanceof Error && /signature/i.test(err.message);
    throw new ApiError(invalidSignature ? 'BAD_SIGNATURE' : 'BAD_RECORD',
      invalidSignature ? 'record signature does not verify' : `record is not a signed envelope: ${(err as Error).message}`);
  }
  if (!sameBytes(envelope.payloadType, PeerRecord.CODEC)) {
    throw new ApiError('BAD_RECORD', 'envelope does not hold a libp2p peer record');
  }
  let record: PeerRecord;
  try {
    record = PeerRecord.createFromProtobuf(envelope.payload);
  } catch (err) {
    throw new ApiError('BAD_RECORD', `peer record does not decode: ${(err as Error).message}`);
  }
  const signer = peerIdFromPublicKey(envelope.publicKey);
  if (!signer.equals(record.peerId)) {
    throw new ApiError('BAD_SIGNATURE', 'record names a peer ID other than its signer');
  }
  const seq = Number(record.seqNumber);
  const maxAge = options.maxAgeMs ?? RECORD_MAX_AGE_MS;
  const maxSkew = options.maxSkewMs ?? RECORD_MAX_SKEW_MS;
  if (seq < options.now - maxAge) {
    throw new ApiError('RECORD_EXPIRED', `record is ${Math.round((options.now - seq) / 1000)} s old; at most ${maxAge / 1000} s allowed`);
  }
  if (seq > options.now + maxSkew) {
    throw new ApiError('RECORD_FROM_FUTURE', `record is dated ${Math.round((seq - options.now) / 1000)} s ahead of the server clock`);
  }
  const addrs = record.multiaddrs.map((a) => a.toString());
  if (addrs.length > MAX_ADDRS_PER_PEER) {
    throw new ApiError('BAD_RECORD', `record lists ${addrs.length} addresses; at most ${MAX_ADDRS_PER_PEER} allowed`);
  }
  if (addrs.some((a) => a.length > MAX_ADDR_LENGTH)) {
    throw new ApiError('BAD_RECORD', `an address is longer than ${MAX_ADDR_LENGTH} characters`);
  }
  return { peerId: signer.toString(), addrs, seq, record: base64 };
}

/**
 * Signs a registration for the key's peer ID. `seq` must grow between calls of one
 * peer; `RecordSigner` takes care of that.
 */
export async function sealRecord(privateKey: PrivateKey, addrs: string[], seq: number): Promise<string> {
  const record = new PeerRecord({
    peerId: peerIdFromPrivateKey(privateKey),
    multiaddrs: addrs.map((a) => multiaddr(a)),
    seqNumber: BigInt(seq)
  });
  const envelope = await RecordEnvelope.seal(record, privateKey);
  return Buffer.from(envelope.marshal()).toString('base64');
}

/** Seals records with strictly increasing, clock-based sequence numbers. */
export class RecordSigner {
  private lastSeq = 0;
  private readonly privateKey: PrivateKey;
  private readonly now: () => number;

  constructor(privateKey: PrivateKey, now: () => number = Date.now) {
    this.privateKey = privateKey;
    this.now = now;
  }

  async seal(addrs: string[]): Promise<string> {
    this.lastSeq = Math.max(this.now(), this.lastSeq + 1);
    return sealRecord(this.privateKey, addrs, this.lastSeq);
  }
}
