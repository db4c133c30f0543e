/**
 * A deterministic simulation of many MembershipCores in one process. They share nothing
 * but the simulated network and the virtual clock; every input a real service would give
 * a core (messages, ticks at its deadlines, lost connections, refused sends) is an event
 * in one queue. Faults: crashes with or without a connection-reset signal, freezes (no
 * processing, inbound messages queued, then resume), slowed members (inbound processing
 * delayed: CPU starvation), graceful leaves, joins, partitions and heals.
 */
import { encodeMessage, decodeMessage, encodedSize } from '../codec.ts';
import { createAliveClaim } from '../claims.ts';
import { MembershipCore } from '../core.ts';
import type { MembershipInput, MembershipOutput } from '../core.ts';
import { MemberIndex } from '../member-index.ts';
import type { AliveClaim, MemberEvent } from '../member.ts';
import type { Message } from '../messages.ts';
import type { MembershipProfile } from '../profiles.ts';
import { seededRandom } from '../random.ts';
import type { RandomSource } from '../random.ts';
import { simulatedSigner } from '../simulated-signer.ts';
import { EventQueue } from './event-queue.ts';
import type { SimEvent } from './event-queue.ts';
import { simulatedId, simulatedMeta } from './identities.ts';
import { Network } from './network.ts';
import type { NetworkOptions } from './network.ts';

export type NodeStatus = 'up' | 'crashed' | 'frozen' | 'left' | 'outside';

export interface SimNode {
  readonly index: number;
  readonly id: string;
  core: MembershipCore | undefined;
  status: NodeStatus;
  /** Mean extra delay before this member processes each inbound message (0: not slowed). */
  slowMean: number;
  /** Inputs that arrived while frozen, processed on resume. */
  inbox: MembershipInput[];
  tickAt: number;
  /** Peers this member exchanged messages with, and when (kept only for members that may crash). */
  contacts: Map<number, number> | undefined;
  sentMessages: number;
  sentBytes: number;
  crashedWithReset: boolean;
}

export interface SimulationOptions {
  readonly members: number;
  /** Extra members created outside the cluster, to join later. */
  readonly spare?: number;
  readonly seed: number;
  readonly profile: MembershipProfile;
  readonly network: NetworkOptions;
  /** Encode and decode every message (slower; exercises the codec under load). */
  readonly wire?: boolean;
  /** A crash resets the connections of peers that exchanged messages with it this recently. */
  readonly connectionWindow?: number;
}

export type EventObserver = (at: number, observer: SimNode, event: MemberEvent) => void;

const DELIVER = 0;
const TICK = 1;
const SIGNAL = 2;
const ACTION = 3;

interface QueuedEvent extends SimEvent {
  readonly kind: number;
  readonly node: number;
  readonly from: number;
  readonly input: MembershipInput | undefined;
  readonly action: (() => void) | undefined;
  /** A slowed member's message already waited its processing delay. */
  readonly delayed: boolean;
}

/** How long after a crash its peers see the connection reset (measured: 10-12 ms). */
const RESET_SIGNAL_DELAY = 10;

export class Simulation {
  readonly nodes: SimNode[] = [];
  readonly network: Network;
  readonly options: SimulationOptions;
  now = 0;
  processed = 0;
  readonly #queue = new EventQueue<QueuedEvent>();
  readonly #random: RandomSource;
  readonly #byId = new Map<string, number>();
  readonly #index = new MemberIndex({ shared: true });
  readonly #observer: EventObserver;
  readonly #claims: AliveClaim[] = [];

  constructor(options: SimulationOptions, observer: EventObserver) {
    this.options = options;
    this.#observer = observer;
    this.#random = seededRandom(options.seed);
    this.network = new Network(options.network, seededRandom(options.seed ^ 0x5bd1e995));
    const total = options.members + (options.spare ?? 0);
    for (let i = 0; i < total; i++) {
      const id = simulatedId(i, options.seed);
      this.#byId.set(id, i);
      this.nodes.push({
        index: i, id, core: undefined, status: 'outside', slowMean: 0, inbox: [], tickAt: Number.NaN,
        contacts: undefined, sentMessages: 0, sentBytes: 0, crashedWithReset: false
      });
    }
    // The initial cluster is formed already: every member starts knowing the others.
    for (let i = 0; i < options.members; i++) {
      const node = this.nodes[i]!;
      this.#claims.push(createAliveClaim(simulatedSigner(node.id), node.id, 0, simulatedMeta(i)));
    }
    for (let i = 0; i < options.members; i++) this.#start(this.nodes[i]!, this.#claims);
  }

  #start(node: SimNode, known: readonly AliveClaim[]): void {
    node.core = new MembershipCore({
      self: { id: node.id, meta: simulatedMeta(node.index) },
      profile: this.options.profile,
      now: () => this.now,
      random: seededRandom((this.options.seed * 31 + node.index * 7 + 1) | 0),
      signer: simulatedSigner(node.id),
      memberIndex: this.#index,
      knownMembers: known
    });
    node.status = 'up';
    this.#scheduleTick(node);
  }

  nodeById(id: string): SimNode | undefined {
    const index = this.#byId.get(id);
    return index === undefined ? undefined : this.nodes[index];
  }

  /** Runs `action` at virtual time `at`. */
  at(at: number, action: () => void): void {
    this.#queue.push({ at, seq: 0, kind: ACTION, node: -1, from: -1, input: undefined, action, delayed: false });
  }

  /** Processes every event up to and including time `until`. */
  runUntil(until: number): void {
    for (;;) {
      const event = this.#queue.peek();
      if (!event || event.at > until) break;
      this.#queue.pop();
      this.now = event.at;
      this.processed++;
      this.#dispatch(event);
    }
    this.now = until;
  }

  /** Keep track of who talks to `node`, so that its crash can reset their connections. */
  trackContacts(node: SimNode): void {
    node.contacts ??= new Map();
  }

  crash(node: SimNode, reset: boolean): void {
    if (node.status !== 'up' && node.status !== 'frozen') return;
    node.status = 'crashed';
    node.crashedWithReset = reset;
    node.inbox = [];
    if (!reset || !node.contacts) return;
    const window = this.options.connectionWindow ?? 30_000;
    for (const [peer, last] of node.contacts) {
      if (this.now - last > window) continue;
      this.#signal(this.nodes[peer]!, this.now + RESET_SIGNAL_DELAY + this.#random() * 2, { type: 'connection-lost', peerId: node.id });
    }
  }

  freeze(node: SimNode): void {
    if (node.status === 'up') node.status = 'frozen';
  }

  resume(node: SimNode): void {
    if (node.status !== 'frozen') return;
    node.status = 'up';
    // Like Node.js after SIGCONT: the overdue timer first, then the queued input.
    this.#input(node, { type: 'tick' });
    const inbox = node.inbox;
    node.inbox = [];
    for (const input of inbox) {
      if (node.status !== 'up') break;
      this.#input(node, input);
    }
  }

  slow(node: SimNode, meanDelay: number): void {
    node.slowMean = meanDelay;
  }

  leave(node: SimNode): void {
    if (node.status === 'up') this.#input(node, { type: 'leave' });
  }

  /** Starts a member outside the cluster and has it join through `seed`. */
  join(node: SimNode, seed: SimNode): void {
    if (node.status !== 'outside') return;
    this.#start(node, []);
    this.#input(node, { type: 'join', seeds: [{ id: seed.id, addrs: simulatedMeta(seed.index).addrs }] });
  }

  partition(groupOf: (node: SimNode) => number): void {
    const groups = new Int32Array(this.nodes.length);
    for (const node of this.nodes) groups[node.index] = groupOf(node);
    this.network.partition(groups);
  }

  heal(): void {
    this.network.heal();
  }

  #dispatch(event: QueuedEvent): void {
    if (event.kind === ACTION) {
      event.action!();
      return;
    }
    const node = this.nodes[event.node]!;
    if (event.kind === TICK) {
      if (event.at !== node.tickAt) return;
      node.tickAt = Number.NaN;
      if (node.status === 'up') this.#input(node, { type: 'tick' });
      // A frozen member's overdue tick is replayed on resume.
      return;
    }
    if (node.status === 'crashed' || node.status === 'left' || node.status === 'outside') return;
    const input = event.input!;
    if (node.status === 'frozen') {
      if (node.inbox.length < 100_000) node.inbox.push(input);
      return;
    }
    if (event.kind === DELIVER && node.slowMean > 0 && !event.delayed) {
      // CPU starvation: each message waits an independent, exponentially distributed time
      // before it is processed (so a slowed member's lag is exactly the chosen
      // distribution, whatever the traffic; messages may be processed out of order).
      // Its timers still fire on time, as a Node.js process's timers mostly do.
      this.#queue.push({ ...event, at: this.now - node.slowMean * Math.log(1 - this.#random()), delayed: true });
      return;
    }
    this.#input(node, input);
  }

  #signal(node: SimNode, at: number, input: MembershipInput): void {
    this.#queue.push({ at, seq: 0, kind: SIGNAL, node: node.index, from: -1, input, action: undefined, delayed: false });
  }

  #input(node: SimNode, input: MembershipInput): void {
    const core = node.core!;
    const outputs = core.handle(input);
    for (const output of outputs) this.#output(node, output);
    this.#scheduleTick(node);
  }

  #scheduleTick(node: SimNode): void {
    const due = node.core?.nextDeadline();
    if (due === undefined || node.status === 'left') return;
    const at = Math.max(due, this.now);
    if (at === node.tickAt) return;
    node.tickAt = at;
    this.#queue.push({ at, seq: 0, kind: TICK, node: node.index, from: -1, input: undefined, action: undefined, delayed: false });
  }

  #output(node: SimNode, output: MembershipOutput): void {
    switch (output.type) {
      case 'event':
        this.#observer(this.now, node, output.event);
        return;
      case 'left':
        node.status = 'left';
        return;
      case 'send':
        this.#send(node, output.to, output.message);
    }
  }

  #send(from: SimNode, to: string, message: Message): void {
    let delivered = message;
    if (this.options.wire) {
      const bytes = encodeMessage(message);
      from.sentBytes += bytes.length;
      delivered = decodeMessage(bytes);
    } else {
      from.sentBytes += encodedSize(message);
    }
    from.sentMessages++;
    const target = this.nodeById(to);
    if (!target) return;
    if (target.status === 'crashed' && target.crashedWithReset) {
      // The process is gone: the dial is refused after a round trip.
      this.#signal(from, this.now + this.network.roundTrip(), { type: 'unreachable', peerId: to });
      return;
    }
    if (from.contacts) from.contacts.set(target.index, this.now);
    if (target.contacts) target.contacts.set(from.index, this.now);
    const delay = this.network.transit(from.index, target.index);
    if (delay === undefined) return;
    this.#queue.push({
      at: this.now + delay, seq: 0, kind: DELIVER, node: target.index, from: from.index,
      input: { type: 'message', from: from.id, message: delivered }, action: undefined, delayed: false
    });
  }
}
