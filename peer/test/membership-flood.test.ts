/**
 * A peer that floods the membership protocol: frames beyond the per-peer rate limit are
 * dropped unread (so the flood costs us no signature checks), the flood changes no
 * state, and the node goes on working. Real libp2p nodes over TCP on 127.0.0.1.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { Libp2p } from '@libp2p/interface';
import { createAliveClaim } from '../src/membership/claims.ts';
import { encodeFrame } from '../src/membership/framing.ts';
import { MEMBERSHIP_PROTOCOL_ID, ed25519Signer, encodeMessage } from '../src/membership/index.ts';
import { INBOUND_FRAME_BURST, inboundFrameRate } from '../src/membership/service-constants.ts';
import { eventsAbout, startBareNode, startMember, waitFor } from './support/membership-nodes.ts';
import type { TestMember } from './support/membership-nodes.ts';

const FLOOD = 5000;

describe('a peer flooding the membership protocol', () => {
  let target: TestMember;
  let victim: TestMember;
  /** Every node started, stopped after the tests whatever happened. */
  const nodes: Libp2p[] = [];

  beforeAll(async () => {
    [target, victim] = await Promise.all([
      startMember({ profile: 'lan', meta: { nick: 'target' } }),
      startMember({ profile: 'lan', meta: { nick: 'victim' } })
    ]);
    nodes.push(target.node, victim.node);
    // Joining announces each one's listen addresses: a new incarnation that must settle
    // before the test takes its snapshot.
    target.node.services.membership.join([victim.seed()]);
    victim.node.services.membership.join([target.seed()]);
    const knows = (observer: TestMember, other: TestMember): boolean => observer.node.services.membership.members()
      .some((v) => v.id === other.id && v.incarnation === other.node.services.membership.stats().incarnation && v.meta.addrs.length > 0);
    await waitFor('the two to know each other, addresses included', () => knows(target, victim) && knows(victim, target), 10_000);
  });

  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  });

  it('gets its excess frames dropped unread, changes nothing, and the node keeps working', async () => {
    const service = target.node.services.membership;
    const view = service.members().find((v) => v.id === victim.id)!;
    // Each frame carries a forged claim for the victim with a new incarnation (far above
    // any the victim would reach by refuting), so each one that got through would cost a
    // signature check and count as a rejected claim. Signed once: a signature that does not
    // fit the incarnation is as much a forgery, and 5000 signatures would block this
    // process (and the nodes in it) long enough for a false suspicion.
    const key = await generateKeyPair('Ed25519');
    const flooder = await startBareNode(key);
    nodes.push(flooder);
    const FORGED_FROM = view.incarnation + 1000;
    const forged = createAliveClaim(ed25519Signer(key), victim.id, FORGED_FROM, { ...view.meta, nick: 'mallory' });
    const frames = Array.from({ length: FLOOD }, (_, i) => encodeFrame(encodeMessage({
      type: 'gossip', updates: [{ kind: 'alive', claim: { ...forged, incarnation: FORGED_FROM + i } }]
    })));
    const before = service.stats();
    const eventsBefore = target.events.length;
    const stream = await flooder.dialProtocol(target.node.getMultiaddrs(), MEMBERSHIP_PROTOCOL_ID);
    const started = Date.now();
    for (const frame of frames) {
      if (!stream.send(frame)) await stream.onDrain();
    }
    await waitFor('every frame handled or dropped', () => {
      const s = service.stats();
      return s.rejectedClaims - before.rejectedClaims + s.rateLimitedFrames - before.rateLimitedFrames >= FLOOD;
    }, 15_000);
    const elapsed = Date.now() - started;
    const after = service.stats();
    const processed = after.rejectedClaims - before.rejectedClaims;
    // At most the burst plus the rate over the flood's duration got through (plus a frame of slack per bucket step).
    expect(processed).toBeLessThanOrEqual(INBOUND_FRAME_BURST + Math.ceil(inboundFrameRate(service.profile) * elapsed / 1000) + 1);
    expect(after.rateLimitedFrames - before.rateLimitedFrames).toBe(FLOOD - processed);
    expect(after.badFrames).toBe(before.badFrames);

    // Nothing the flood said took: the victim is as it was. (On a busy machine a probe may
    // time out meanwhile and the victim refute, one incarnation up; that is the protocol
    // at work, not the flood.)
    const now = service.members().find((v) => v.id === victim.id)!;
    expect(now.meta).toEqual(view.meta);
    expect(now.incarnation).toBeLessThan(FORGED_FROM);
    expect(target.events.slice(eventsBefore).filter((e) => !['member-suspect', 'member-alive'].includes(e.type))).toEqual([]);

    // Still working: the victim's own new metadata reaches the target.
    victim.node.services.membership.updateMeta({ nick: 'renamed' });
    await waitFor('the real update', () => eventsAbout(target, 'member-updated', victim.id).some((e) => e.nick === 'renamed'), 8_000);
    expect(target.node.status).toBe('started');
  });
});
