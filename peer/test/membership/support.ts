/**
 * Helpers for the membership tests: members with stand-in signers and realistic IDs, and
 * a hand-driven cluster of cores whose messages the test delivers (or drops) itself.
 */
import { createAliveClaim } from '../../src/membership/claims.ts';
import { MembershipCore } from '../../src/membership/core.ts';
import type { MembershipInput, MembershipOutput } from '../../src/membership/core.ts';
import type { AliveClaim, MemberEvent, MemberMeta } from '../../src/membership/member.ts';
import type { Message } from '../../src/membership/messages.ts';
import { LAN_PROFILE } from '../../src/membership/profiles.ts';
import type { MembershipProfile } from '../../src/membership/profiles.ts';
import { seededRandom } from '../../src/membership/random.ts';
import { simulatedSigner } from '../../src/membership/simulated-signer.ts';
import { simulatedId, simulatedMeta } from '../../src/membership/simulator/identities.ts';

export const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => simulatedId(i, 99));

export function metaOf(index: number): MemberMeta {
  return simulatedMeta(index);
}

export function claimOf(id: string, index: number, incarnation = 0): AliveClaim {
  return createAliveClaim(simulatedSigner(id), id, incarnation, metaOf(index));
}

export interface Sent {
  readonly from: string;
  readonly to: string;
  readonly message: Message;
}

/** An event as one core emitted it; `arrival` as in MembershipOutput. */
export interface ObservedEvent {
  at: number;
  observer: string;
  event: MemberEvent;
  arrival: boolean;
}

/** A few cores on one manual clock; outputs are collected for the test to deliver. */
export class HandCluster {
  time = 1000;
  readonly ids: string[];
  readonly cores = new Map<string, MembershipCore>();
  readonly outbox: Sent[] = [];
  readonly events: ObservedEvent[] = [];
  readonly left = new Set<string>();

  constructor(n: number, profile: MembershipProfile = LAN_PROFILE) {
    this.ids = ids(n);
    const claims = this.ids.map((id, i) => claimOf(id, i));
    this.ids.forEach((id, i) => {
      this.cores.set(id, new MembershipCore({
        self: { id, meta: metaOf(i) }, profile, now: () => this.time,
        random: seededRandom(i + 1), signer: simulatedSigner(id), knownMembers: claims
      }));
    });
  }

  core(id: string): MembershipCore {
    return this.cores.get(id)!;
  }

  input(id: string, input: MembershipInput): MembershipOutput[] {
    const outputs = this.core(id).handle(input);
    for (const output of outputs) {
      if (output.type === 'send') this.outbox.push({ from: id, to: output.to, message: output.message });
      else if (output.type === 'event') this.events.push({ at: this.time, observer: id, event: output.event, arrival: output.arrival });
      else this.left.add(id);
    }
    return outputs;
  }

  /** Removes and returns the queued sends matching `match`. */
  take(match: (sent: Sent) => boolean): Sent[] {
    const taken: Sent[] = [];
    for (let i = 0; i < this.outbox.length;) {
      if (match(this.outbox[i]!)) taken.push(...this.outbox.splice(i, 1));
      else i++;
    }
    return taken;
  }

  deliver(sent: Sent): void {
    this.input(sent.to, { type: 'message', from: sent.from, message: sent.message });
  }

  /** Delivers queued messages (and what they cause) until none is left, except dropped ones. */
  flush(drop: (sent: Sent) => boolean = () => false, limit = 10_000): void {
    for (let i = 0; i < limit && this.outbox.length > 0; i++) {
      const sent = this.outbox.shift()!;
      if (!drop(sent) && this.cores.has(sent.to)) this.deliver(sent);
    }
  }

  /** Moves the clock to `time`, ticking every core whose deadline passed, in order. */
  advance(to: number, drop?: (sent: Sent) => boolean): void {
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      let who: string | undefined;
      for (const [id, core] of this.cores) {
        if (this.left.has(id) || this.stopped.has(id)) continue;
        const due = core.nextDeadline();
        if (due !== undefined && due < next) {
          next = due;
          who = id;
        }
      }
      if (!who || next > to) break;
      this.time = Math.max(this.time, next);
      this.input(who, { type: 'tick' });
      this.flush(drop);
    }
    this.time = to;
  }

  /** Members that no longer process anything (crashed). */
  readonly stopped = new Set<string>();

  eventsOf(type: MemberEvent['type'], subject?: string): ObservedEvent[] {
    return this.events.filter((e) => e.event.type === type && (subject === undefined || e.event.peerId === subject));
  }
}
