/**
 * Serves a registered function through the Functions Framework's own server, the one
 * `functions-framework` runs in production (Express with the framework's body parsers
 * and middleware), but bound to the host we choose: the framework's command line
 * listens on every interface, and local runs and tests must stay on 127.0.0.1.
 */
import { getTestServer } from '@google-cloud/functions-framework/testing';

export interface LocalServer {
  /** e.g. http://127.0.0.1:8081 */
  url: string;
  close(): Promise<void>;
}

/** Listens for the function registered under `name`; port 0 picks a free one. Rejects with the listen error (e.g. EADDRINUSE). */
export async function serveFunction(name: string, options: { host: string, port: number }): Promise<LocalServer> {
  const server = getTestServer(name);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error(`function server listens on ${String(address)}, not a TCP port`);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () => new Promise<void>((resolve, reject) => {
      server.close((err) => (err ? reject(err) : resolve()));
      // Idle keep-alive connections would hold close() open.
      server.closeIdleConnections();
    })
  };
}
