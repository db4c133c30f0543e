/**
 * The route table of API v1: every endpoint once, with its schemas. Backends register
 * routes from it, the client calls through it, and the OpenAPI document is made from it.
 */
import type { TSchema } from 'typebox';
import { API_PREFIX } from './constants.ts';
import {
  Config, ConfigPatch, JoinResponse, LeaveResponse, ListResponse, PingResponse, RecordRequest,
  RefillResponse, ResetResponse
} from './schemas.ts';

export interface Route {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  summary: string;
  body?: TSchema;
  response: TSchema;
  /** Needs `Authorization: Bearer <admin token>`. */
  admin: boolean;
  /** Safe to retry after a timeout: repeating it changes nothing more. */
  idempotent: boolean;
}

export const routes = {
  ping: { method: 'GET', path: `${API_PREFIX}/ping`, summary: 'Liveness and backend identity', response: PingResponse, admin: false, idempotent: true },
  list: { method: 'GET', path: `${API_PREFIX}/peers`, summary: 'The live bootstrap set, oldest first', response: ListResponse, admin: false, idempotent: true },
  join: { method: 'POST', path: `${API_PREFIX}/join`, summary: 'Register or renew a lease; answers the current set', body: RecordRequest, response: JoinResponse, admin: false, idempotent: true },
  refill: { method: 'POST', path: `${API_PREFIX}/refill`, summary: 'Register, replacing the newest entry when the set is full', body: RecordRequest, response: RefillResponse, admin: false, idempotent: false },
  leave: { method: 'POST', path: `${API_PREFIX}/leave`, summary: 'Remove the signer\'s registration', body: RecordRequest, response: LeaveResponse, admin: false, idempotent: true },
  reset: { method: 'POST', path: `${API_PREFIX}/reset`, summary: 'Remove every registration (admin)', response: ResetResponse, admin: true, idempotent: true },
  getConfig: { method: 'GET', path: `${API_PREFIX}/config`, summary: 'Read maxPeers and ttlMs (admin)', response: Config, admin: true, idempotent: true },
  setConfig: { method: 'PUT', path: `${API_PREFIX}/config`, summary: 'Change maxPeers and/or ttlMs (admin)', body: ConfigPatch, response: Config, admin: true, idempotent: true }
} as const satisfies Record<string, Route>;

export type RouteName = keyof typeof routes;

export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
