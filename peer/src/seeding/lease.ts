/**
 * Keeps this peer's registration with the bootstrap data API: join at start, renew
 * every `renewAfterMs`, retry with backoff while the API is unreachable, leave on stop.
 * Every answer carries the current bootstrap set, which is handed to `onSeeds`.
 */
import { BootstrapApiError, BootstrapUnreachableError } from '@cli-chat/bootstrap-api';
import type { BootstrapClient, BootstrapPeer, RecordSigner } from '@cli-chat/bootstrap-api';
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
  onStatus: (status: LeaseStatus) => void;
  log: Logger;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;
const LEAVE_TIMEOUT_MS = 2_000;

export class BootstrapLease {
  private readonly options: LeaseOptions;
  private timer: NodeJS.Timeout | undefined;
  private retryMs = RETRY_MIN_MS;
  private stopped = false;
  private lastState: LeaseStatus['state'] | undefined;

  constructor(options: LeaseOptions) {
    this.options = options;
  }

  /** Resolves after the first attempt, whatever its outcome; renewals go on in the background. */
  async start(): Promise<LeaseStatus> {
    return this.renew();
  }

  /** Renews now, e.g. after the bootstrap server came back or was taken over. */
  renewNow(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    void this.renew();
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
    try {
      const answer = await client.join(await signer.seal(this.options.addrs()));
      status = { state: 'registered', admitted: answer.admitted, peers: answer.peers.length };
      nextMs = answer.renewAfterMs;
      this.retryMs = RETRY_MIN_MS;
      this.options.onSeeds(answer.peers);
    } catch (err) {
      if (err instanceof BootstrapUnreachableError) {
        status = { state: 'unreachable', message: err.message };
      } else if (err instanceof BootstrapApiError) {
        status = { state: 'refused', message: err.message };
      } else {
        throw err;
      }
      nextMs = this.retryMs;
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      log.debug({ err }, 'bootstrap lease renewal failed');
    }
    if (status.state !== this.lastState) this.options.onStatus(status);
    this.lastState = status.state;
    if (!this.stopped) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.renew(), nextMs);
      this.timer.unref();
    }
    return status;
  }
}
