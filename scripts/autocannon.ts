/**
 * autocannon, typed for the HTTP benchmarks: the package ships no types, so this names
 * the part of its API they use.
 */
import { createRequire } from 'node:module';

export interface LoadOptions {
  url: string;
  connections: number;
  duration: number;
  requests?: {
    method: string;
    path: string;
    headers?: Record<string, string>;
    setupRequest?: (request: Record<string, unknown>) => Record<string, unknown>;
  }[];
}

export interface LoadResult {
  duration: number;
  requests: { total: number };
  latency: { p50: number, p99: number, max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

export const autocannon = createRequire(import.meta.url)('autocannon') as (options: LoadOptions) => Promise<LoadResult>;
