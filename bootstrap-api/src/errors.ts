/** Errors of the bootstrap data API: one code each, one HTTP status each. */

export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  BAD_RECORD: 400,
  BAD_SIGNATURE: 400,
  RECORD_EXPIRED: 400,
  RECORD_FROM_FUTURE: 400,
  UNAUTHORIZED: 401,
  ADMIN_DISABLED: 403,
  NOT_FOUND: 404,
  STALE_RECORD: 409,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error a backend answers with; `toBody()` is the JSON every backend sends. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
  }

  toBody(): { error: { code: string, message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_STATUS, value);
}
