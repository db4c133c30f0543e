/**
 * The reachability protocol at the edge: answers other peers' dial-back requests under the
 * IP rule and the rate limits, and checks our own addresses by asking a few connected peers,
 * feeding their answers to the verdict (verdict.ts).
 */
import { TypedEventEmitter } from '@libp2p/interface';
import type { Connection, IdentifyResult, PeerId, Startable, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { lpStream } from '@libp2p/utils';
import { usableConnection } from '../node/open-stream.ts';
import { OncePerPeer } from '../wire/once-per-peer.ts';
import { WireError } from '../wire/json-frame.ts';
import { checkableAddrs, dialBackPlan, observedIp } from './addrs.ts';
import { decodeAnswer, decodeRequest, encodeAnswer, encodeRequest } from './codec.ts';
import type { AddrResult, DialResult, ReachAnswer } from './codec.ts';
import { DIAL_BACK_TIMEOUT_MS, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, REACH_PROTOCOL, REACH_VERSION, REQUEST_TIMEOUT_MS } from './constants.ts';
import { DialBackPolicy } from './policy.ts';
import { ReachVerdict } from './verdict.ts';
import type { Reachability } from './verdict.ts';
import type { HelperAnswer, Reach, ReachComponents, ReachEvents, ReachInit, ReachView } from './index.ts';

export class ReachService extends TypedEventEmitter<ReachEvents> implements Reach, Startable {
  readonly #components: ReachComponents;
  readonly #log;
  readonly #now: () => number;
  readonly #verdict: ReachVerdict;
  readonly #policy: DialBackPolicy;
  readonly #dialBackTimeout: number;
  readonly #requestTimeout: number;
  readonly #logged = new OncePerPeer();
  readonly #served = { answered: 0, refused: 0, dialBacks: 0, reached: 0 };
  #answers: HelperAnswer[] = [];
  #lastCheck: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #checking = false;
  #started = false;
  /** The reachability last reported in an event. */
  #reported: Reachability = 'unknown';

  constructor(components: ReachComponents, init: ReachInit = {}) {
    super();
    this.#components = components;
    this.#log = components.logger.forComponent('cli-chat:reach');
    this.#now = init.now ?? Date.now;
    this.#verdict = new ReachVerdict(init);
    this.#policy = new DialBackPolicy(init);
    this.#dialBackTimeout = init.dialBackTimeout ?? DIAL_BACK_TIMEOUT_MS;
    this.#requestTimeout = init.requestTimeout ?? REQUEST_TIMEOUT_MS;
  }

  readonly [Symbol.toStringTag] = 'cli-chat:reach';

  get reachability(): Reachability {
    return this.#verdict.reachability;
  }

  view(): ReachView {
    return {
      reachability: this.#verdict.reachability,
      addrs: [...this.#verdict.addrs],
      ...(this.#lastCheck === undefined ? {} : { lastCheck: this.#lastCheck }),
      nextCheck: this.#verdict.nextAt,
      answers: this.#answers.map((a) => ({ ...a })),
      served: { ...this.#served }
    };
  }

  async start(): Promise<void> {
    // Dial-backs go over a connection of their own, never a relayed one: no limited connections.
    await this.#components.registrar.handle(REACH_PROTOCOL, this.#onStream, { maxInboundStreams: 4 });
    this.#started = true;
  }

  afterStart(): void {
    this.#components.events.addEventListener('self:peer:update', this.#onSelfUpdate);
    this.#components.events.addEventListener('peer:identify', this.#onIdentify);
    this.#onSelfUpdate();
  }

  async stop(): Promise<void> {
    this.#started = false;
    clearTimeout(this.#timer);
    this.#components.events.removeEventListener('self:peer:update', this.#onSelfUpdate);
    this.#components.events.removeEventListener('peer:identify', this.#onIdentify);
    await this.#components.registrar.unhandle(REACH_PROTOCOL);
  }

  readonly #onSelfUpdate = (): void => {
    this.#verdict.setAddrs(checkableAddrs(this.#components.addressManager.getAddresses().map((a) => a.toString())), this.#now());
    this.#schedule();
  };

  readonly #onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    if (!evt.detail.protocols.includes(REACH_PROTOCOL)) return;
    this.#verdict.helperAppeared(this.#now());
    this.#schedule();
  };

  #schedule(): void {
    if (!this.#started) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => { void this.#check(); }, Math.max(0, this.#verdict.nextAt - this.#now()));
    this.#timer.unref?.();
  }

  async #check(): Promise<void> {
    if (this.#checking || !this.#started || !this.#verdict.due(this.#now())) return this.#schedule();
    this.#checking = true;
    try {
      const candidates = await this.#helpers();
      const now = this.#now();
      const { round, ask, changed } = this.#verdict.begin(candidates, now);
      this.#lastCheck = now;
      this.#answers = [];
      this.#changed(changed);
      for (const helper of ask) void this.#ask(round, helper);
    } catch (err) {
      this.#log.error('reachability check failed - %e', err);
    } finally {
      this.#checking = false;
      this.#schedule();
    }
  }

  /** Peers that can answer: connected directly (a relayed helper cannot see our IP), speaking the protocol, in random order. */
  async #helpers(): Promise<string[]> {
    const self = this.#components.peerId;
    const peers = new Map<string, PeerId>();
    for (const c of this.#components.connectionManager.getConnections()) {
      if (c.status === 'open' && observedIp(c.remoteAddr.toString()) !== undefined && !c.remotePeer.equals(self)) peers.set(c.remotePeer.toString(), c.remotePeer);
    }
    const speaking: string[] = [];
    for (const [id, peerId] of peers) {
      const known = await this.#components.peerStore.get(peerId).catch(() => undefined);
      if (known?.protocols.includes(REACH_PROTOCOL) === true) speaking.push(id);
    }
    for (let i = speaking.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [speaking[i], speaking[j]] = [speaking[j] as string, speaking[i] as string];
    }
    return speaking;
  }

  /** Asks `helper` to dial our addresses back and hands its answer (or its silence) to the verdict. */
  async #ask(round: number, helper: string): Promise<void> {
    const signal = AbortSignal.timeout(this.#requestTimeout);
    let answer: ReachAnswer | undefined;
    let error = 'no connection';
    const connection = usableConnection(this.#components.connectionManager.getConnections()
      .filter((c) => c.remotePeer.toString() === helper && observedIp(c.remoteAddr.toString()) !== undefined));
    if (connection !== undefined) {
      let stream: Stream | undefined;
      try {
        stream = await connection.newStream(REACH_PROTOCOL, { signal });
        const lp = lpStream(stream, { maxDataLength: MAX_RESPONSE_BYTES });
        await lp.write(encodeRequest(this.#verdict.addrs), { signal });
        answer = decodeAnswer((await lp.read({ signal })).subarray());
        await stream.close({ signal }).catch(() => undefined);
      } catch (err) {
        error = (err as Error).message;
        stream?.abort(err instanceof Error ? err : new Error(String(err)));
      }
    }
    if (!this.#started) return;
    const now = this.#now();
    if (answer !== undefined && 'results' in answer) {
      this.#answers.push({ peerId: helper, results: answer.results });
      this.#changed(this.#verdict.answer(round, helper, answer.results, now));
    } else {
      this.#answers.push({ peerId: helper, results: { error: answer === undefined ? error : `${answer.refused}: ${answer.message}` } });
      this.#changed(this.#verdict.noAnswer(round, helper, now));
    }
    this.#schedule();
  }

  #changed(next: Reachability | undefined): void {
    if (next === undefined) return;
    const previous = this.#reported;
    this.#reported = next;
    this.#log('reachability %s (was %s)', next, previous);
    this.safeDispatchEvent('reachability', { detail: { reachability: next, previous } });
  }

  readonly #onStream = (stream: Stream, connection: Connection): void => {
    void this.#serve(stream, connection);
  };

  /** A helper's side: one request, dial-backs under the IP rule, one answer. */
  async #serve(stream: Stream, connection: Connection): Promise<void> {
    const requester = connection.remotePeer;
    const from = requester.toString();
    const signal = AbortSignal.timeout(this.#dialBackTimeout + 2_000);
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES });
    const admitted = this.#policy.admit(from, this.#now());
    try {
      if (!admitted.admitted) {
        this.#served.refused++;
        this.#note(from, `refused a dial-back request: ${admitted.refused}`);
        await lp.write(encodeAnswer({ v: REACH_VERSION, refused: admitted.refused, message: `${admitted.refused}: ask again later` }), { signal });
        await stream.close({ signal });
        return;
      }
      let asked;
      try {
        asked = decodeRequest((await lp.read({ signal })).subarray());
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
        this.#served.refused++;
        this.#note(from, err.message);
        await lp.write(encodeAnswer({ v: REACH_VERSION, refused: 'bad-request', message: err.message.slice(0, 200) }), { signal });
        await stream.close({ signal });
        return;
      }
      const plan = dialBackPlan(observedIp(connection.remoteAddr.toString()), asked);
      const results: AddrResult[] = await Promise.all(plan.map(async (p) => ({
        addr: p.addr, mapped: p.mapped, result: p.dial ? await this.#dialBack(requester, p.addr) : 'refused' as const
      })));
      this.#served.answered++;
      await lp.write(encodeAnswer({ v: REACH_VERSION, results }), { signal });
      await stream.close({ signal });
    } catch (err) {
      this.#note(from, (err as Error).message);
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    } finally {
      if (admitted.admitted) this.#policy.done();
    }
  }

  /**
   * Dials `addr` for `requester` on a new connection (force: never the one it asked on),
   * closes it, and says whether the peer there proved to be the requester (Noise checks the
   * peer ID in the address).
   */
  async #dialBack(requester: PeerId, addr: string): Promise<DialResult> {
    this.#served.dialBacks++;
    const before = new Set(this.#components.connectionManager.getConnections(requester).map((c) => c.id));
    try {
      const connection = await this.#components.connectionManager.openConnection(multiaddr(`${addr}/p2p/${requester.toString()}`), {
        force: true, signal: AbortSignal.timeout(this.#dialBackTimeout)
      });
      // A dial joined to one already under way may come back on another address, or an old connection: not ours to count.
      if (before.has(connection.id)) return 'failed';
      const reached = connection.remotePeer.equals(requester) && connection.remoteAddr.toString().replace(/\/p2p\/[^/]+$/, '') === addr;
      await connection.close().catch(() => undefined);
      if (reached) this.#served.reached++;
      return reached ? 'ok' : 'failed';
    } catch {
      return 'failed';
    }
  }

  /** One log line per peer for what it did wrong, however often it does it. */
  #note(peer: string, message: string): void {
    if (!this.#logged.first(peer)) return;
    this.#log('reachability: %s (further ones not logged): %s', peer, message);
  }
}
