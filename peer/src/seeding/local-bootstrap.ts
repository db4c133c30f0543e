/**
 * The zero-setup path: when no bootstrap server answers at a loopback URL, the peer
 * hosts the local Fastify server itself, through the server's public factory. If another
 * peer wins the race for the port, this one simply uses that server.
 */
export interface HostedBootstrap {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Only a loopback http URL can be hosted here: any other URL names somebody else's server. */
export function canHostLocally(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && (LOOPBACK_HOSTS.has(u.hostname) || u.hostname.startsWith('127.')) &&
      (u.pathname === '/' || u.pathname === '');
  } catch {
    return false;
  }
}

/** Starts the server on the URL's host and port; resolves `undefined` if the port is taken. */
export async function hostLocalBootstrap(url: string): Promise<HostedBootstrap | undefined> {
  const u = new URL(url);
  const host = u.hostname === 'localhost' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port === '' ? 80 : Number(u.port);
  // Loaded only when needed: importing Fastify costs every peer ~0.1 s and ~10 MB otherwise.
  const { startServer } = await import('@cli-chat/bootstrap-server');
  try {
    return await startServer({ host, port });
  } catch (err) {
    if ((err as { code?: string }).code === 'EADDRINUSE') return undefined;
    throw err;
  }
}
