/**
 * Public face of the Fastify backend: the app factory for tests and embedding, and
 * `startServer` for a peer that hosts the bootstrap server in-process (the zero-setup path).
 */
import { buildServer } from './app.ts';
import type { ServerOptions } from './app.ts';

export { buildServer } from './app.ts';
export type { ServerOptions } from './app.ts';
export { DataFileError } from './data-file.ts';

export interface StartOptions extends ServerOptions {
  host: string;
  /** 0 picks a free port; `url` tells which. */
  port: number;
}

export interface RunningServer {
  /** Base URL of the API, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Stops listening, finishes the requests under way and flushes the data file. */
  close(): Promise<void>;
}

/**
 * Builds the server and listens. A port already taken rejects with the listen error
 * itself, whose `code` is 'EADDRINUSE', so a caller can use the server that holds it.
 */
export async function startServer(options: StartOptions): Promise<RunningServer> {
  const { host, port, ...serverOptions } = options;
  const app = buildServer(serverOptions);
  try {
    await app.listen({ host, port });
  } catch (err) {
    await app.close();
    throw err;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error(`server listens on ${String(address)}, not a TCP port`);
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${hostPart}:${address.port}`,
    close: async () => { await app.close(); }
  };
}
