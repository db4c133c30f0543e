/**
 * The one schema source of the bootstrap data API. Fastify validates with these,
 * the functions backend and the client compile them with TypeBox, and the OpenAPI
 * document is generated from them.
 */
import Type from 'typebox';
import {
  MAX_ADDRS_PER_PEER, MAX_ADDR_LENGTH, MAX_MAX_PEERS, MAX_RECORD_BASE64_LENGTH, MAX_TTL_MS,
  MIN_MAX_PEERS, MIN_TTL_MS
} from './constants.ts';

const strict = { additionalProperties: false } as const;

export const Base64Record = Type.String({
  minLength: 4,
  maxLength: MAX_RECORD_BASE64_LENGTH,
  pattern: '^[A-Za-z0-9+/]+={0,2}$',
  description: 'A libp2p signed envelope holding a PeerRecord, base64-encoded'
});

export const PeerId = Type.String({ minLength: 1, maxLength: 128, pattern: '^[1-9A-HJ-NP-Za-km-z]+$' });

export const Config = Type.Object({
  maxPeers: Type.Integer({ minimum: MIN_MAX_PEERS, maximum: MAX_MAX_PEERS, description: 'Size of the bootstrap set' }),
  ttlMs: Type.Integer({ minimum: MIN_TTL_MS, maximum: MAX_TTL_MS, description: 'Lease length of a registration' })
}, strict);
export type Config = Type.Static<typeof Config>;

export const ConfigPatch = Type.Object({
  maxPeers: Type.Optional(Config.properties.maxPeers),
  ttlMs: Type.Optional(Config.properties.ttlMs)
}, { ...strict, minProperties: 1 });
export type ConfigPatch = Type.Static<typeof ConfigPatch>;

export const BootstrapPeer = Type.Object({
  peerId: PeerId,
  addrs: Type.Array(Type.String({ minLength: 1, maxLength: MAX_ADDR_LENGTH }), { maxItems: MAX_ADDRS_PER_PEER }),
  record: Base64Record,
  registeredAt: Type.Integer({ minimum: 0 }),
  expiresAt: Type.Integer({ minimum: 0 })
}, strict);
export type BootstrapPeer = Type.Static<typeof BootstrapPeer>;

export const RecordRequest = Type.Object({ record: Base64Record }, strict);
export type RecordRequest = Type.Static<typeof RecordRequest>;

export const PingResponse = Type.Object({
  ok: Type.Literal(true),
  version: Type.String(),
  backend: Type.String(),
  time: Type.Integer()
}, strict);
export type PingResponse = Type.Static<typeof PingResponse>;

export const ListResponse = Type.Object({
  peers: Type.Array(BootstrapPeer),
  ttlMs: Type.Integer()
}, strict);
export type ListResponse = Type.Static<typeof ListResponse>;

export const JoinResponse = Type.Object({
  admitted: Type.Boolean({ description: 'false when the set is full and the caller is not in it' }),
  peers: Type.Array(BootstrapPeer),
  ttlMs: Type.Integer(),
  renewAfterMs: Type.Integer()
}, strict);
export type JoinResponse = Type.Static<typeof JoinResponse>;

export const RefillResponse = Type.Object({
  ...JoinResponse.properties,
  replaced: Type.Union([PeerId, Type.Null()], { description: 'the peer the caller displaced, if the set was full' })
}, strict);
export type RefillResponse = Type.Static<typeof RefillResponse>;

export const LeaveResponse = Type.Object({ removed: Type.Boolean() }, strict);
export type LeaveResponse = Type.Static<typeof LeaveResponse>;

export const ResetResponse = Type.Object({ removed: Type.Integer({ minimum: 0 }) }, strict);
export type ResetResponse = Type.Static<typeof ResetResponse>;

export const ErrorResponse = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String()
  }, strict)
}, strict);
export type ErrorResponse = Type.Static<typeof ErrorResponse>;
