/**
 * Typed client of the bootstrap data API. Timeouts on every call, retries with backoff
 * for idempotent ones, responses decoded strictly, and errors that say what failed where.
 */
import { routes } from './routes.ts';
import type { Route } from './routes.ts';
import type { Static } from 'typebox';
import { describeErrors } from './validation.ts';
import { ErrorResponse } from './schemas.ts';
import type { Config, ConfigPatch, JoinResponse, LeaveResponse, ListResponse, PingResponse, RefillResponse, ResetResponse } from './schemas.ts';
import { ADMIN_AUTH_SCHEME } from './constants.ts';

/** The backend answered with an error; nothing was changed by this request. */
export class BootstrapApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly url: string;

  constructor(status: number, code: string, message: string, method: string, url: string) {
    super(`${method} ${url} failed with ${status} ${code}: ${message}`);
    this.name = 'BootstrapApiError';
    this.status = status;
    this.code = code;
    this.url = url;
  }
}

/** No usable answer at all: refused, timed out, or not speaking this API. */
export class BootstrapUnreachableError extends Error {
  readonly url: string;

  constructor(method: string, url: string, reason: string) {
    super(`bootstrap server ${method} ${url} did not answer: ${reason}`);
    this.name = 'BootstrapUnreachableError';
    this.url = url;
  }
}

export interface BootstrapClientOptions {
  baseUrl: string;
  /** Per attempt. */
  timeoutMs?: number;
  /** Extra attempts for idempotent calls. */
  retries?: number;
  retryDelayMs?: number;
  adminToken?: string;
}

function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = (err as { cause?: { code?: string, message?: string } }).cause;
    return cause?.code ?? cause?.message ?? err.message;
  }
  return String(err);
}

export class BootstrapClient {
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly adminToken: string | undefined;

  constructor(options: BootstrapClientOptions) {
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new Error(`bootstrap URL "${options.baseUrl}" is not a URL (expected e.g. http://127.0.0.1:8080)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`bootstrap URL "${options.baseUrl}" must be http or https`);
    }
    this.baseUrl = url.toString().replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.retries = options.retries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 200;
    this.adminToken = options.adminToken;
  }

  ping(): Promise<PingResponse> { return this.call(routes.ping); }
  list(): Promise<ListResponse> { return this.call(routes.list); }
  join(record: string): Promise<JoinResponse> { return this.call(routes.join, { record }); }
  refill(record: string): Promise<RefillResponse> { return this.call(routes.refill, { record }); }
  leave(record: string): Promise<LeaveResponse> { return this.call(routes.leave, { record }); }
  reset(): Promise<ResetResponse> { return this.call(routes.reset); }
  getConfig(): Promise<Config> { return this.call(routes.getConfig); }
  setConfig(patch: ConfigPatch): Promise<Config> { return this.call(routes.setConfig, patch); }

  private async call<R extends Route>(route: R, body?: unknown): Promise<Static<R['response']>> {
    const attempts = route.idempotent ? this.retries + 1 : 1;
    let lastError: Error = new Error('no attempt made');
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs * 2 ** (attempt - 1)));
      try {
        return await this.attempt(route, body);
      } catch (err) {
        lastError = err as Error;
        const retriable = err instanceof BootstrapUnreachableError || (err instanceof BootstrapApiError && err.status >= 500);
        if (!retriable) throw err;
      }
    }
    throw lastError;
  }

  private async attempt<R extends Route>(route: R, body: unknown): Promise<Static<R['response']>> {
    const url = this.baseUrl + route.path;
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (route.admin && this.adminToken) headers.authorization = `${ADMIN_AUTH_SCHEME} ${this.adminToken}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: route.method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs)
      });
      text = await response.text();
    } catch (err) {
      throw new BootstrapUnreachableError(route.method, url, reasonOf(err));
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new BootstrapUnreachableError(route.method, url, `answered ${response.status} with a body that is not JSON`);
    }
    if (!response.ok) {
      if (describeErrors(ErrorResponse, json, 'error') === undefined) {
        const { error } = json as ErrorResponse;
        throw new BootstrapApiError(response.status, error.code, error.message, route.method, url);
      }
      throw new BootstrapApiError(response.status, 'UNKNOWN', text.slice(0, 200), route.method, url);
    }
    const problem = describeErrors(route.response, json, 'response');
    if (problem !== undefined) throw new BootstrapUnreachableError(route.method, url, `answer does not follow the contract: ${problem}`);
    return json as Static<R['response']>;
  }
}
