/**
 * Keeps this peer's registration with the bootstrap data API: join at start, renew
 * every `renewAfterMs`, retry with capped backoff while the API is unreachable (see
 * retryDelayMs), leave on stop.
 * Every answer carries the current bootstrap set, which is handed to `onSeeds`. When the
 * set we last got is stale (`isStale`: its peers failed, left or cannot be dialled), the
 * renewal is a refill instead of a join: a full set of dead entries then takes us in
 * place of its newest entry, so the next peer to join finds a way in.
 */
import { BootstrapApiError, BootstrapUnreachableError } from '@cli-chat/bootstrap-api';
import type { BootstrapClient, BootstrapPeer, JoinResponse, RecordSigner } from '@cli-chat/bootstrap-api';
import type { Logger } from 'pino';

export type LeaseStatus =
  | { state: 'registered', admitted: boolean, peers: number }
  | { state: 'unreachable', message: string }
  | { state: 'refused', message: string };

export interface LeaseOptions {
  client: BootstrapClient;
  signer: RecordSigner;
  /** The addresses to register, read at every renewal so new listen addresses spread. */
  addrs: () => string[];
  onSeeds: (peers: BootstrapPeer[]) => void;
  /** Whether these peers (the set we last got) can no longer get anyone into the network. */
  isStale: (peers: BootstrapPeer[]) => boolean;
  onStatus: (status: LeaseStatus) => void;
  log: Logger;
}

const RETRY_MIN_MS = 500;
/** The cap before any answer told us the lease period: within the default lease (60 s) and any lease of 5 s or more. */
const RETRY_MAX_MS = 5_000;
const LEAVE_TIMEOUT_MS = 2_000;

/**
 * The wait before retrying after the `failures`-th failed attempt in a row: doubling from
 * RETRY_MIN_MS, capped at RETRY_MAX_MS and at the renewal period the API last granted. So
 * while the API is down a peer asks no more often than it renews, and once it is back
 * every peer is registered again within one lease period, before anyone's view of the
 * set has expired.
 */
export function retryDelayMs(failures: number, renewAfterMs: number | undefined): number {
  const doubled = RETRY_MIN_MS * 2 ** Math.min(Math.max(failures - 1, 0), 30);
  return Math.min(doubled, RETRY_MAX_MS, renewAfterMs ?? RETRY_MAX_MS);
}

export class BootstrapLease {
  private readonly options: LeaseOptions;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** The renewal period of the last answer; undefined before one. */
  private renewAfterMs: number | undefined;
  private stopped = false;
  private lastState: LeaseStatus['state'] | undefined;
  /** The last status reported: its state, and for `registered` whether we were admitted. */
  private lastReported: string | undefined;
  private lastPeers: BootstrapPeer[] = [];
  /** Whether the last answer admitted us to the set. */
  private admitted = false;
  private renewing = false;
  /** The addresses of the last registration sent. */
  private registeredAddrs = '';

  constructor(options: LeaseOptions) {
    this.options = options;
  }

  /** Resolves after the first attempt, whatever its outcome; renewals go on in the background. */
  async start(): Promise<LeaseStatus> {
    return this.renew();
  }

  /** Renews now, e.g. after the bootstrap server came back or was taken over; resolves once answered. */
  async renewNow(): Promise<void> {
    if (this.stopped) return;
    clearTimeout(this.timer);
    await this.renew();
  }

  /**
   * Call when something `isStale` looks at changed (a seed failed, left, or could not be
   * dialled). If the set we got is stale and we are not in it, refill now rather than at
   * the next renewal: until then a newcomer would get only dead seeds.
   */
  seedsChanged(): void {
    if (this.stopped || this.renewing || this.admitted || !this.options.isStale(this.lastPeers)) return;
    void this.renewNow();
  }

  /**
   * Call when this peer's addresses changed (a relay reservation came or went): registers
   * the new ones now, so a newcomer gets the relayed address with the set instead of
   * after the next renewal.
   */
  addrsChanged(): void {
    if (this.stopped || this.renewing || this.lastState !== 'registered') return;
    if (this.options.addrs().join(' ') === this.registeredAddrs) return;
    void this.renewNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.lastState !== 'registered') return;
    try {
      const record = await this.options.signer.seal(this.options.addrs());
      await Promise.race([
        this.options.client.leave(record),
        new Promise((resolve) => setTimeout(resolve, LEAVE_TIMEOUT_MS).unref())
      ]);
    } catch (err) {
      this.options.log.debug({ err }, 'leave failed; the lease will expire by itself');
    }
  }

  private async renew(): Promise<LeaseStatus> {
    const { client, signer, log } = this.options;
    let status: LeaseStatus;
    let nextMs: number;
    this.renewing = true;
    try {
      const addrs = this.options.addrs();
      this.registeredAddrs = addrs.join(' ');
      const record = await signer.seal(addrs);
      let answer: JoinResponse;
      if (this.options.isStale(this.lastPeers)) {
        const refilled = await client.refill(record);
        log.info({ replaced: refilled.replaced, admitted: refilled.admitted }, 'the bootstrap set was stale: refilled it');
        answer = refilled;
      } else {
        answer = await client.join(record);
      }
      status = { state: 'registered', admitted: answer.admitted, peers: answer.peers.length };
      nextMs = answer.renewAfterMs;
      this.renewAfterMs = answer.renewAfterMs;
      this.failures = 0;
      this.lastPeers = answer.peers;
      this.admitted = answer.admitted;
      this.options.onSeeds(answer.peers);
    } catch (err) {
      if (err instanceof BootstrapUnreachableError) {
        status = { state: 'unreachable', message: err.message };
      } else if (err instanceof BootstrapApiError) {
        status = { state: 'refused', message: err.message };
      } else {
        throw err;
      }
      this.failures++;
      nextMs = retryDelayMs(this.failures, this.renewAfterMs);
      log.debug({ err }, 'bootstrap lease renewal failed');
    } finally {
      this.renewing = false;
    }
    // Full -> admitted (after a refill, or when room opened up) is news too.
    const reported = status.state === 'registered' ? `registered/${status.admitted}` : status.state;
    if (reported !== this.lastReported) this.options.onStatus(status);
    this.lastReported = reported;
    this.lastState = status.state;
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.renew(), nextMs);
      this.timer.unref();
    }
    return status;
  }
}
