/**
 * The reachability protocol's two frames, strictly decoded (wire/json-frame.ts): a request
 * naming the addresses to dial back, and an answer per address or a refusal.
 */
import Type from 'typebox';
import type { Static } from 'typebox';
import { jsonFrameCodec, WireError } from '../wire/json-frame.ts';
import { parseTcpAddr } from './addrs.ts';
import type { TcpAddr } from './addrs.ts';
import { MAX_ADDR_LENGTH, MAX_DIAL_BACKS, MAX_REQUEST_ADDRS, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, REACH_VERSION } from './constants.ts';

const Addr = Type.String({ minLength: 1, maxLength: MAX_ADDR_LENGTH });

const RequestFrame = Type.Object({
  v: Type.Literal(REACH_VERSION),
  addrs: Type.Array(Addr, { minItems: 1, maxItems: MAX_REQUEST_ADDRS })
}, { additionalProperties: false });

/** `ok`: dialled back, and the peer there proved to be the requester; `failed`: no such connection in time; `refused`: not dialled (the IP rule, or past MAX_DIAL_BACKS). */
export type DialResult = 'ok' | 'failed' | 'refused';

const ResultEntry = Type.Object({
  addr: Addr,
  result: Type.Union([Type.Literal('ok'), Type.Literal('failed'), Type.Literal('refused')]),
  mapped: Type.Boolean()
}, { additionalProperties: false });

/** Why a helper answered no request at all. */
export type Refusal = 'rate-limited' | 'busy' | 'bad-request';

const AnswerFrame = Type.Union([
  Type.Object({
    v: Type.Literal(REACH_VERSION),
    results: Type.Array(ResultEntry, { maxItems: MAX_REQUEST_ADDRS + MAX_DIAL_BACKS })
  }, { additionalProperties: false }),
  Type.Object({
    v: Type.Literal(REACH_VERSION),
    refused: Type.Union([Type.Literal('rate-limited'), Type.Literal('busy'), Type.Literal('bad-request')]),
    message: Type.String({ maxLength: 200 })
  }, { additionalProperties: false })
]);

export type ReachRequest = Static<typeof RequestFrame>;
export type ReachAnswer = Static<typeof AnswerFrame>;
export type AddrResult = Static<typeof ResultEntry>;

const requestFrames = jsonFrameCodec('reachability request', RequestFrame, REACH_VERSION, MAX_REQUEST_BYTES);
const answerFrames = jsonFrameCodec('reachability answer', AnswerFrame, REACH_VERSION, MAX_RESPONSE_BYTES);

export function encodeRequest(addrs: readonly string[]): Uint8Array {
  return requestFrames.encode({ v: REACH_VERSION, addrs: [...addrs] });
}

/** The addresses of a request, each a plain TCP address; anything else is a WireError. */
export function decodeRequest(bytes: Uint8Array): TcpAddr[] {
  const { addrs } = requestFrames.decode(bytes);
  return addrs.map((a, i) => {
    const parsed = parseTcpAddr(a);
    if (parsed === undefined) throw new WireError('bad-shape', `reachability request field "addrs.${i}" is not /ip4|ip6/ADDRESS/tcp/PORT`);
    return parsed;
  });
}

export function encodeAnswer(answer: ReachAnswer): Uint8Array {
  return answerFrames.encode(answer);
}

export function decodeAnswer(bytes: Uint8Array): ReachAnswer {
  return answerFrames.decode(bytes);
}
