/**
 * Lets the function answer request-body errors itself, in the contract's JSON.
 *
 * The Functions Framework reads every body with Express body parsers before it calls the
 * function. When one of them fails (invalid JSON, a content length that does not match
 * the body, an unknown charset), it passes the error on, and the framework installs no
 * error handler (functions-framework-nodejs issue #686): Express's default one answers
 * with an HTML page. The function is never called, so it cannot say
 * `{"error":{"code":"BAD_REQUEST",...}}` as the Fastify backend does.
 *
 * So, before the framework builds its app, we wrap `application.all` of the very Express
 * the framework loads. The framework calls it once, to route every path to the function;
 * the wrapper first adds an error middleware that takes a body parser's error off the
 * request's way (it is kept on the request) so routing goes on to the function, which
 * then answers it in order: unknown route, admin token, content type, size, body.
 * Only public Express behaviour is relied on: `use` with a four-argument function, and
 * `next()` from an error middleware resuming normal routing.
 */
import { createRequire } from 'node:module';
import type { Request } from '@google-cloud/functions-framework';

/** Shared through the symbol registry, so a module loaded twice (test isolation) still agrees. */
const BODY_ERROR = Symbol.for('cli-chat.functions.body-error');
const INSTALLED = Symbol.for('cli-chat.functions.body-error-recovery');

/** What the body parsers raise (http-errors): a status, and usually a machine-readable type. */
export interface BodyReadError {
  status: number;
  type?: string;
  message: string;
}

type Next = (err?: unknown) => void;
type Middleware = (err: unknown, req: Request, res: unknown, next: Next) => void;

interface ExpressApplication {
  all(this: ExpressApplication, ...args: unknown[]): unknown;
  use(this: ExpressApplication, fn: Middleware): unknown;
  [INSTALLED]?: true;
}

function isBodyReadError(err: unknown): err is BodyReadError {
  const e = err as Partial<BodyReadError> | null;
  // Client errors only: anything else is ours and keeps going to the framework.
  return typeof e === 'object' && e !== null && typeof e.status === 'number' && e.status >= 400 && e.status < 500;
}

/** The client-caused error a body parser met on this request, if any. */
export function bodyReadError(req: Request): BodyReadError | undefined {
  return (req as Request & { [BODY_ERROR]?: BodyReadError })[BODY_ERROR];
}

const keepBodyReadError: Middleware = (err, req, _res, next) => {
  if (!isBodyReadError(err)) return next(err);
  (req as Request & { [BODY_ERROR]?: BodyReadError })[BODY_ERROR] = err;
  next();
};

/** The Express instance the Functions Framework itself requires, not one of our own. */
function frameworkExpressApplication(): ExpressApplication {
  const here = createRequire(import.meta.url);
  const framework = createRequire(here.resolve('@google-cloud/functions-framework'));
  const express = framework('express') as { application?: Partial<ExpressApplication> };
  const application = express.application;
  if (typeof application?.all !== 'function' || typeof application.use !== 'function') {
    throw new Error('the Functions Framework\'s Express has no application.all/use: cannot install body error recovery');
  }
  return application as ExpressApplication;
}

/** Idempotent; must run before the framework builds its server (importing the function module does). */
export function recoverBodyReadErrors(): void {
  const application = frameworkExpressApplication();
  if (application[INSTALLED]) return;
  const all = application.all;
  application.all = function allAfterBodyRecovery(this: ExpressApplication, ...args: unknown[]) {
    this.use(keepBodyReadError);
    return all.apply(this, args);
  };
  application[INSTALLED] = true;
}
