/**
 * One end of one transfer of the file benchmark, in its own process:
 *
 *   node scripts/bench-files/child.ts receive KIND --dir DIR
 *   node scripts/bench-files/child.ts send KIND --to ADDR --file FILE
 *
 * KIND is
 *   files  FileTransfer end to end: offer, raw stream writes hashed as they are read,
 *          trailer, receiver hashing and writing a partial file, rename, `done`;
 *   tcp    a plain TCP copy: a file read stream piped into a net.Socket, the receiver
 *          piping the socket into a file write stream and answering one byte once the file
 *          is closed;
 *   raw    a bare libp2p stream (same TCP, Noise, Yamux, and the receive window a file
 *          stream gets): bytes from memory in CHUNK_BYTES writes with backpressure,
 *          counted and dropped, one byte back at the end;
 *   lp     the same in length-prefixed frames (lpStream), one frame per CHUNK_BYTES.
 * A receiver prints {"type":"ready","addr":...} and serves one transfer; a sender prints
 * {"type":"result",...} with its timings (process.hrtime in µs, the clock of --cpu-prof
 * profiles) and CPU time. Both exit when done, so a --cpu-prof profile is written.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { identify } from '@libp2p/identify';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { multiaddr } from '@multiformats/multiaddr';
import { lpStream } from '@libp2p/utils';
import type { Stream } from '@libp2p/interface';
import { connectionOptions } from '../../peer/src/node/create-node.ts';
import { FileTransfer } from '../../peer/src/files/index.ts';
import { CHUNK_BYTES, RECEIVE_WINDOW_BYTES } from '../../peer/src/files/constants.ts';
import { drained } from '../../peer/src/files/send-bytes.ts';
import { widenReceiveWindow } from '../../peer/src/node/yamux-window.ts';

const RAW_PROTOCOL = '/cli-chat/bench-raw/1.0.0';
const LP_PROTOCOL = '/cli-chat/bench-lp/1.0.0';
const CHILD_WAIT_MS = 60_000;
/**
 * A frame is one chunk. lpStream buffers whatever arrives, read or not, so its buffer must
 * hold a yamux window (up to 16 MiB) besides the frame being read.
 */
const LP_OPTIONS = { maxDataLength: CHUNK_BYTES, maxBufferSize: RECEIVE_WINDOW_BYTES + 2 * CHUNK_BYTES };

const [role, kind] = process.argv.slice(2, 4);
const { values } = parseArgs({
  args: process.argv.slice(4),
  options: { dir: { type: 'string' }, to: { type: 'string' }, file: { type: 'string' } }
});

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};
function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}
function required(value: string | undefined, flag: string): string {
  if (value === undefined) throw new Error(`${role} ${kind} needs ${flag}`);
  return value;
}

async function node(): Promise<Libp2p> {
  const created = await createLibp2p({ ...connectionOptions(await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0']), services: { identify: identify() } });
  await created.start();
  return created;
}

/** Reads everything a stream delivers until the sender closes its side, then answers one byte. */
async function drainAndAck(stream: Stream, framed: boolean): Promise<number> {
  widenReceiveWindow(stream, RECEIVE_WINDOW_BYTES);
  let bytes = 0;
  if (framed) {
    const lp = lpStream(stream, LP_OPTIONS);
    for (;;) {
      try {
        bytes += (await lp.read()).byteLength;
      } catch (err) {
        // The end of the stream surfaces as an UnexpectedEOFError.
        if (stream.remoteWriteStatus === 'closed' && stream.status !== 'aborted' && stream.status !== 'reset') break;
        throw err;
      }
    }
    lp.unwrap();
  } else {
    await new Promise<void>((resolve) => {
      stream.addEventListener('message', (evt) => { bytes += evt.data.byteLength; });
      stream.addEventListener('remoteCloseWrite', () => resolve(), { once: true });
    });
  }
  stream.send(new Uint8Array([1]));
  await stream.close();
  return bytes;
}

async function receive(): Promise<void> {
  const dir = required(values.dir, '--dir');
  if (kind === 'tcp') {
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      const cpu0 = cpuMs();
      const startUs = nowUs();
      const out = createWriteStream(`${dir}/copy.bin`);
      socket.pipe(out);
      out.on('close', () => {
        emit({ type: 'received', startUs, endUs: nowUs(), cpuMs: cpuMs() - cpu0 });
        socket.end(Buffer.from([1]));
        server.close();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    emit({ type: 'ready', addr: `127.0.0.1:${(server.address() as AddressInfo).port}` });
    await new Promise((resolve) => server.once('close', resolve));
    return;
  }
  const libp2p = await node();
  let finish = (): void => undefined;
  let fail = (_err: Error): void => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  // The sender stops its node once it has the result: then we are done too.
  const senderGone = new Promise((resolve) => libp2p.addEventListener('peer:disconnect', resolve, { once: true }));
  let cpu0 = 0;
  let startUs = 0;
  const begin = (): void => {
    cpu0 = cpuMs();
    startUs = nowUs();
  };
  if (kind === 'files') {
    const files = new FileTransfer({
      node: libp2p, downloadsDir: dir, autoAcceptBytes: Number.MAX_SAFE_INTEGER, quotaBytes: Number.MAX_SAFE_INTEGER,
      isMember: () => true, log: pino({ level: 'silent' })
    });
    files.addEventListener('file-offered', begin);
    files.addEventListener('received', () => finish());
    files.addEventListener('failed', (evt) => fail(new Error(`${evt.detail.reason}: ${evt.detail.message}`)));
    await files.start();
    emit({ type: 'ready', addr: libp2p.getMultiaddrs()[0]?.toString() });
    await done;
    emit({ type: 'received', startUs, endUs: nowUs(), cpuMs: cpuMs() - cpu0 });
    await senderGone;
    await files.stop();
  } else {
    const framed = kind === 'lp';
    await libp2p.handle(framed ? LP_PROTOCOL : RAW_PROTOCOL, (stream) => {
      begin();
      drainAndAck(stream, framed).then(finish, fail);
    });
    emit({ type: 'ready', addr: libp2p.getMultiaddrs()[0]?.toString() });
    await done;
    emit({ type: 'received', startUs, endUs: nowUs(), cpuMs: cpuMs() - cpu0 });
    await senderGone;
  }
  await libp2p.stop();
}

async function send(): Promise<void> {
  const to = required(values.to, '--to');
  const file = required(values.file, '--file');
  const size = (await stat(file)).size;
  if (kind === 'tcp') {
    const [host, port] = to.split(':');
    const cpu0 = cpuMs();
    const startUs = nowUs();
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: host ?? '127.0.0.1', port: Number(port), allowHalfOpen: true }, () => {
        createReadStream(file).pipe(socket);
      });
      socket.on('data', () => resolve());
      socket.on('error', reject);
    });
    emit({ type: 'result', size, startUs, endUs: nowUs(), cpuMs: cpuMs() - cpu0 });
    return;
  }
  const libp2p = await node();
  const target = multiaddr(to);
  await libp2p.dial(target);
  if (kind === 'files') {
    const files = new FileTransfer({ node: libp2p, downloadsDir: `${file}.downloads`, isMember: () => true, log: pino({ level: 'silent' }) });
    await files.start();
    let offeredUs = 0;
    files.addEventListener('offered', () => { offeredUs = nowUs(); });
    const cpu0 = cpuMs();
    const startUs = nowUs();
    const peerId = target.getComponents().findLast((c) => c.name === 'p2p')?.value;
    await (await files.send(required(peerId, 'a /p2p/ address'), file)).result;
    emit({ type: 'result', size, startUs, offeredUs, endUs: nowUs(), cpuMs: cpuMs() - cpu0 });
    await files.stop();
  } else {
    const framed = kind === 'lp';
    // From memory: what the stack costs without the disk or any hashing.
    const data = await readFile(file);
    const cpu0 = cpuMs();
    const startUs = nowUs();
    const stream = await libp2p.dialProtocol(target, framed ? LP_PROTOCOL : RAW_PROTOCOL);
    const acked = new Promise<void>((resolve) => stream.addEventListener('message', () => resolve(), { once: true }));
    const lp = framed ? lpStream(stream, LP_OPTIONS) : undefined;
    for (let at = 0; at < data.byteLength; at += CHUNK_BYTES) {
      const chunk = data.subarray(at, Math.min(at + CHUNK_BYTES, data.byteLength));
      if (lp !== undefined) await lp.write(chunk);
      else if (!stream.send(chunk)) await drained(stream, AbortSignal.timeout(CHILD_WAIT_MS));
    }
    await stream.close();
    await acked;
    emit({ type: 'result', size, startUs, endUs: nowUs(), cpuMs: cpuMs() - cpu0 });
  }
  await libp2p.stop();
}

if (!['files', 'tcp', 'raw', 'lp'].includes(kind ?? '')) throw new Error('KIND is files, tcp, raw or lp');
if (role === 'receive') await receive();
else if (role === 'send') await send();
else throw new Error('usage: child.ts receive|send KIND ...');
process.exit(0);
