/**
 * Real libp2p nodes with the membership service, in this process, over TCP on 127.0.0.1
 * (mDNS off): the transports of createPeerNode, without gossipsub and chat. Each node
 * records the member events it emits, and tests wait for them with deadlines.
 */
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { identify } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { membership } from '../../src/membership/index.ts';
import type { MemberEvent, MemberEventType, Membership, MembershipInit, MembershipSeed } from '../../src/membership/index.ts';
import { connectionOptions } from '../../src/node/create-node.ts';

export const LISTEN = '/ip4/127.0.0.1/tcp/0';

const EVENT_TYPES: MemberEventType[] = ['member-joined', 'member-updated', 'member-suspect', 'member-alive', 'member-left', 'member-failed'];

export type MembershipNode = Libp2p<{ membership: Membership }>;

export interface TestMember {
  readonly node: MembershipNode;
  readonly id: string;
  /** Every member event this node emitted, in order. */
  readonly events: MemberEvent[];
  seed(): MembershipSeed;
}

/**
 * createPeerNode's identity, transports and connection limits, without chat or gossipsub,
 * so the membership service is what is under test.
 */
function baseOptions(privateKey: PrivateKey): ReturnType<typeof connectionOptions> {
  return connectionOptions(privateKey, [LISTEN]);
}

/** Starts a node with the membership service (not yet joined) and records its events. */
export async function startMember(init: MembershipInit = {}): Promise<TestMember> {
  const privateKey = await generateKeyPair('Ed25519');
  const node = await createLibp2p({
    ...baseOptions(privateKey),
    services: { identify: identify(), ping: ping(), membership: membership(init) }
  });
  const events: MemberEvent[] = [];
  for (const type of EVENT_TYPES) node.services.membership.addEventListener(type, (evt) => events.push(evt.detail));
  await node.start();
  const id = node.peerId.toString();
  return { node, id, events, seed: () => ({ peerId: id, addrs: node.getMultiaddrs().map((a) => a.toString()) }) };
}

/** A node without the membership service: a stranger that can open raw streams. */
export async function startBareNode(privateKey?: PrivateKey): Promise<Libp2p> {
  const node = await createLibp2p({
    ...baseOptions(privateKey ?? await generateKeyPair('Ed25519')),
    services: { identify: identify(), ping: ping() }
  });
  await node.start();
  return node;
}

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Events of `type` about `peerId` that `member` emitted. */
export function eventsAbout(member: TestMember, type: MemberEventType, peerId: string): MemberEvent[] {
  return member.events.filter((e) => e.type === type && e.peerId === peerId);
}

/** Each node's events as one line, with times relative to the first event and short names. */
export function timeline(members: readonly TestMember[]): string {
  const names = new Map(members.map((member, i) => [member.id, `#${i}`]));
  const t0 = Math.min(...members.flatMap((member) => member.events.map((e) => e.ts)));
  return members.map((member, i) => `#${i}: ` + member.events
    .map((e) => `${e.ts - t0}ms ${e.type} ${names.get(e.peerId) ?? e.peerId}@${e.incarnation}`).join(', ')).join('\n');
}
