/**
 * A bare TCP probe for the NAT topology's own check, run inside a namespace:
 *   tcp-probe.ts listen HOST       prints {"type":"listening","port":N}, then {"type":"accepted","from":IP} per connection
 *   tcp-probe.ts connect HOST PORT prints {"type":"connected"} or {"type":"failed","code":...} and exits
 * One JSON object a line, for `Proc`.
 */
import { connect, createServer } from 'node:net';

/** Long enough for a SYN to be answered across two routers on a busy machine; a dropped one stays unanswered. */
const CONNECT_TIMEOUT_MS = 3_000;

const [mode, hostArg, portArg] = process.argv.slice(2);
const say = (line: object): void => { process.stdout.write(`${JSON.stringify(line)}\n`); };

if (mode === 'listen' && hostArg !== undefined) {
  const server = createServer((socket) => {
    say({ type: 'accepted', from: socket.remoteAddress });
    socket.destroy();
  });
  server.listen(0, hostArg, () => {
    const address = server.address();
    say({ type: 'listening', port: typeof address === 'object' && address !== null ? address.port : null });
  });
} else if (mode === 'connect' && hostArg !== undefined && portArg !== undefined) {
  const socket = connect({ host: hostArg, port: Number(portArg), timeout: CONNECT_TIMEOUT_MS });
  socket.once('connect', () => { say({ type: 'connected' }); socket.destroy(); });
  socket.once('timeout', () => { say({ type: 'failed', code: 'ETIMEDOUT' }); socket.destroy(); });
  socket.once('error', (err: NodeJS.ErrnoException) => say({ type: 'failed', code: err.code ?? err.message }));
} else {
  process.stderr.write('usage: tcp-probe.ts listen HOST | connect HOST PORT\n');
  process.exit(2);
}
