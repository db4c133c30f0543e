import { timingSafeEqual, createHash } from 'node:crypto';
import { ApiError } from './errors.ts';
import { ADMIN_AUTH_SCHEME } from './constants.ts';

/**
 * Checks `Authorization: Bearer <token>` against the configured admin token. Without a
 * configured token the admin endpoints are off rather than open.
 */
export function checkAdmin(authorization: string | undefined, adminToken: string | undefined): void {
  if (!adminToken) throw new ApiError('ADMIN_DISABLED', 'admin endpoints are disabled: the backend has no admin token configured');
  const prefix = `${ADMIN_AUTH_SCHEME} `;
  if (!authorization?.startsWith(prefix)) {
    throw new ApiError('UNAUTHORIZED', `admin endpoint needs "Authorization: ${ADMIN_AUTH_SCHEME} <token>"`);
  }
  // Hash both sides so the comparison takes the same time whatever the lengths.
  const given = createHash('sha256').update(authorization.slice(prefix.length)).digest();
  const expected = createHash('sha256').update(adminToken).digest();
  if (!timingSafeEqual(given, expected)) throw new ApiError('UNAUTHORIZED', 'admin token is not valid');
}
