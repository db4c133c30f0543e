/**
 * File transfer: the pure parts (safe names, the codec), then three real libp2p nodes in
 * this process over TCP on 127.0.0.1 (mDNS off). A and B count each other as members, C
 * is a member of nobody. Hostile senders are written here with the codec and dialProtocol.
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino } from 'pino';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { identify } from '@libp2p/identify';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { lpStream } from '@libp2p/utils';
import { connectionOptions } from '../src/node/create-node.ts';
import { FileTransfer, FileTransferError } from '../src/files/index.ts';
import type { FileTransferEvents, FileTransferInit } from '../src/files/index.ts';
import { decodeOffer, decodeReply, decodeResult, decodeTrailerFrame, encodeFileMessage, encodeTrailerFrame, trailerFrameLength } from '../src/files/codec.ts';
import { WireError } from '../src/wire/json-frame.ts';
import type { FileOffer, FileReply, FileResult } from '../src/files/codec.ts';
import {
  CHUNK_BYTES, FILE_PROTOCOL_ID, MAX_HEADER_BYTES, MAX_SAVED_NAME_BYTES, MAX_TRAILER_BYTES, OFFER_BURST
} from '../src/files/constants.ts';
import { safeFileName, uniqueName } from '../src/files/safe-name.ts';
import { drained, openForSending, sendBytes } from '../src/files/send-bytes.ts';
import type { Stream } from '@libp2p/interface';

const WAIT_MS = 5_000;
const CONTROL = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const newId = (): string => randomBytes(16).toString('hex');

describe('safeFileName', () => {
  it('keeps the last path segment and drops what could escape or hide', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('a/b\\c')).toBe('c');
    expect(safeFileName('C:\\Users\\x\\report.pdf')).toBe('report.pdf');
    expect(safeFileName('dir/')).toBe('dir');
    expect(safeFileName('..')).toBe('file');
    expect(safeFileName('.')).toBe('file');
    expect(safeFileName('')).toBe('file');
    expect(safeFileName('../..')).toBe('file');
    expect(safeFileName('.bashrc')).toBe('bashrc');
    expect(safeFileName('...hidden.txt')).toBe('hidden.txt');
    expect(safeFileName('trailing. . ')).toBe('trailing');
    expect(safeFileName('bell\u0007\u001b[31mred\u0085\u007f.txt')).toBe('bell__[31mred__.txt');
    // A right-to-left override would show "invoice_txt.exe" as "invoice_exe.txt".
    expect(safeFileName('invoice\u202etxt.exe')).toBe('invoicetxt.exe');
    expect(safeFileName('a<b>c:d"e|f?g*h')).toBe('a_b_c_d_e_f_g_h');
    expect(safeFileName('CON.txt')).toBe('_CON.txt');
    expect(safeFileName('e\u0301t\u00e9.md')).toBe('\u00e9t\u00e9.md');
  });

  it('shortens long names by bytes, at a code point, keeping the extension', () => {
    const long = `${'é'.repeat(300)}.tar.gz`;
    const safe = safeFileName(long);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(MAX_SAVED_NAME_BYTES);
    expect(safe.endsWith('é.tar.gz')).toBe(true);
    expect(safeFileName('x'.repeat(500))).toBe('x'.repeat(MAX_SAVED_NAME_BYTES));
    expect(safeFileName(`a.${'b'.repeat(400)}`).length).toBe(MAX_SAVED_NAME_BYTES);
  });

  it('picks the first free name', () => {
    const taken = new Set(['a.txt', 'a (1).txt', 'README']);
    expect(uniqueName('a.txt', (n) => taken.has(n))).toBe('a (2).txt');
    expect(uniqueName('README', (n) => taken.has(n))).toBe('README (1)');
    expect(uniqueName('b.txt', (n) => taken.has(n))).toBe('b.txt');
  });

  it('gives one safe path segment inside the directory for any input', () => {
    const dir = join(tmpdir(), 'downloads');
    const piece = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.constantFrom('/', '\\', '.', '..', ' ', '\u0000', '\u001b', '\u0085', '\u202e', '\u200d', '\ud800', 'C:', 'con', '.partial-')
    );
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')), (input) => {
      const name = safeFileName(input);
      expect(name.length).toBeGreaterThan(0);
      expect(name).not.toMatch(/[/\\]/);
      expect(name.startsWith('.')).toBe(false);
      expect(CONTROL.test(name)).toBe(false);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_SAVED_NAME_BYTES);
      const path = join(dir, name);
      expect(path.startsWith(dir + sep)).toBe(true);
      expect(dirname(path)).toBe(dir);
      expect(safeFileName(name)).toBe(name);
    }), { numRuns: 2_000 });
  });
});

describe('file codec', () => {
  const offer: FileOffer = { v: 2, type: 'offer', id: newId(), name: 'a.txt', size: 3, mime: 'text/plain' };
  const encoded = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
  const reasonOf = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(WireError);
      return (err as WireError).reason;
    }
    throw new Error('expected a WireError');
  };

  it('round-trips every message', () => {
    expect(decodeOffer(encodeFileMessage(offer))).toEqual(offer);
    for (const reply of [{ v: 2, type: 'accept' }, { v: 2, type: 'pending', reason: 'too-large' }, { v: 2, type: 'reject', reason: 'declined' }] as FileReply[]) {
      expect(decodeReply(encodeFileMessage(reply))).toEqual(reply);
    }
    for (const result of [{ v: 2, type: 'done' }, { v: 2, type: 'failed', reason: 'hash-mismatch' }] as FileResult[]) {
      expect(decodeResult(encodeFileMessage(result))).toEqual(result);
    }
    const hash = sha256(Buffer.from('abc'));
    const trailer = encodeTrailerFrame(hash);
    expect(trailerFrameLength(trailer)).toBe(trailer.byteLength);
    expect(trailer.byteLength).toBeLessThanOrEqual(MAX_TRAILER_BYTES);
    expect(decodeTrailerFrame(trailer)).toBe(hash);
  });

  it('reads a trailer only whole and exact', () => {
    const trailer = encodeTrailerFrame(sha256(Buffer.from('abc')));
    expect(trailerFrameLength(new Uint8Array(0))).toBeUndefined();
    expect(trailerFrameLength(Uint8Array.of(0x81))).toBeUndefined();
    expect(trailerFrameLength(Uint8Array.of(0x81, 0x01))).toBe(2 + 129);
    // A prefix of three bytes or more declares more than any trailer may be.
    expect(trailerFrameLength(Uint8Array.of(0x80, 0x80, 0x01))).toBeGreaterThan(MAX_TRAILER_BYTES);
    expect(reasonOf(() => decodeTrailerFrame(trailer.subarray(0, -1)))).toBe('bad-shape');
    expect(reasonOf(() => decodeTrailerFrame(Buffer.concat([trailer, Uint8Array.of(0)])))).toBe('bad-shape');
    const framed = (value: unknown): Uint8Array => lpFrame(encoded(value));
    expect(reasonOf(() => decodeTrailerFrame(framed({ v: 2, type: 'trailer', sha256: 'A'.repeat(64) })))).toBe('bad-shape');
    expect(reasonOf(() => decodeTrailerFrame(framed({ v: 1, type: 'trailer', sha256: 'a'.repeat(64) })))).toBe('unsupported-version');
    expect(reasonOf(() => decodeTrailerFrame(framed({ v: 2, type: 'done' })))).toBe('bad-shape');
  });

  it('refuses anything but the exact shape, each with its reason', () => {
    expect(reasonOf(() => decodeOffer(new Uint8Array(MAX_HEADER_BYTES + 1)))).toBe('too-large');
    expect(reasonOf(() => decodeOffer(new Uint8Array([0xff, 0xfe])))).toBe('not-utf8');
    expect(reasonOf(() => decodeOffer(new TextEncoder().encode('{"v":1,')))).toBe('not-json');
    expect(reasonOf(() => decodeOffer(encoded([offer])))).toBe('bad-shape');
    expect(reasonOf(() => decodeOffer(encoded({ ...offer, v: 1 })))).toBe('unsupported-version');
    // Version 1's offer carried the hash: a field version 2 does not have.
    expect(reasonOf(() => decodeOffer(encoded({ ...offer, sha256: 'a'.repeat(64) })))).toBe('bad-shape');
    expect(reasonOf(() => decodeOffer(encoded({ ...offer, type: 'accept' })))).toBe('bad-shape');
    expect(reasonOf(() => decodeReply(encoded(offer)))).toBe('bad-shape');
    expect(reasonOf(() => decodeResult(encoded({ v: 2, type: 'accept' })))).toBe('bad-shape');
    expect(reasonOf(() => decodeOffer(encoded({ ...offer, extra: 1 })))).toBe('bad-shape');
    expect(reasonOf(() => decodeOffer(encoded({ ...offer, size: -1 })))).toBe('bad-shape');
    expect(reasonOf(() => decodeOffer(encoded({ ...offer, size: 1.5 })))).toBe('bad-shape');
    expect(reasonOf(() => decodeOffer(encoded({ ...offer, id: 'ab' })))).toBe('bad-shape');
    expect(reasonOf(() => decodeOffer(encoded({ ...offer, mime: 'text/html; charset=utf-8' })))).toBe('bad-shape');
    expect(reasonOf(() => decodeOffer(encoded({ ...offer, name: '' })))).toBe('bad-shape');
    expect(reasonOf(() => decodeReply(encoded({ v: 2, type: 'reject', reason: 'Bad Reason\u001b' })))).toBe('bad-shape');
    expect(reasonOf(() => decodeResult(encoded({ v: 2, type: 'done', reason: 'x' })))).toBe('bad-shape');
  });
});

describe('sendBytes', () => {
  /** Lets pending I/O callbacks and promise continuations run `n` times over. */
  const turns = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('writes again only after each drain, then the trailer with the bytes\' hash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-chat-send-bytes-'));
    const path = join(dir, 'three-chunks.bin');
    const data = randomBytes(3 * CHUNK_BYTES);
    await writeFile(path, data);
    const file = await openForSending(path);
    try {
      // A stream whose buffer is full after every write, as a slow reader's is.
      const writes: number[] = [];
      const written: Uint8Array[] = [];
      const stream = Object.assign(new EventTarget(), {
        writableNeedsDrain: false,
        send(chunk: Uint8Array): boolean {
          writes.push(chunk.byteLength);
          written.push(Uint8Array.from(chunk));
          stream.writableNeedsDrain = true;
          return false;
        }
      });
      let finished = false;
      const sending = sendBytes(stream as unknown as Stream, file, path, 3 * CHUNK_BYTES, { onBytes: () => undefined, signal: new AbortController().signal })
        .then((hash) => {
          finished = true;
          return hash;
        });
      for (let n = 1; n <= 4; n++) {
        const deadline = Date.now() + WAIT_MS;
        while (writes.length < n && Date.now() < deadline) await turns(1);
        await turns(50);
        expect(writes).toHaveLength(n);
        expect(finished).toBe(false);
        stream.writableNeedsDrain = false;
        stream.dispatchEvent(new Event('drain'));
      }
      expect(await sending).toBe(sha256(data));
      const trailer = encodeTrailerFrame(sha256(data));
      expect(writes).toEqual([CHUNK_BYTES, CHUNK_BYTES, CHUNK_BYTES, trailer.byteLength]);
      expect(Buffer.concat(written.slice(0, 3)).equals(data)).toBe(true);
      expect(written[3]).toEqual(trailer);
    } finally {
      await file.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

type EventName = keyof FileTransferEvents;
interface Recorded { type: EventName, detail: Record<string, unknown> }

/** Every event of one FileTransfer, and waits for one with a deadline. */
class Recorder {
  readonly events: Recorded[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(files: FileTransfer) {
    const types: EventName[] = ['offered', 'waiting', 'file-offered', 'progress', 'sent', 'received', 'failed'];
    for (const type of types) {
      files.addEventListener(type, (evt: CustomEvent) => {
        this.events.push({ type, detail: evt.detail as Record<string, unknown> });
        for (const wake of this.#waiters) wake();
      });
    }
  }

  of(type: EventName, id?: string): Record<string, unknown>[] {
    return this.events.filter((e) => e.type === type && (id === undefined || e.detail.id === id)).map((e) => e.detail);
  }

  /** The first `type` event (of transfer `id`, if given), now or within WAIT_MS. */
  async next(type: EventName, id?: string): Promise<Record<string, unknown>> {
    const found = (): Record<string, unknown> | undefined => this.of(type, id)[0];
    const now = found();
    if (now !== undefined) return now;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        reject(new Error(`no ${type} event${id === undefined ? '' : ` for ${id}`} within ${WAIT_MS} ms`));
      }, WAIT_MS);
      const wake = (): void => {
        const event = found();
        if (event === undefined) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve(event);
      };
      this.#waiters.add(wake);
    });
  }
}

async function startNode(): Promise<Libp2p> {
  const node = await createLibp2p({ ...connectionOptions(await generateKeyPair('Ed25519'), ['/ip4/127.0.0.1/tcp/0']), services: { identify: identify() } });
  await node.start();
  return node;
}

/**
 * A sender that follows no rules but the ones it chooses: the offer bytes, then `data` as
 * given and `trailer` (by default the one `data` deserves).
 */
async function rawSend(from: Libp2p, to: Libp2p, offer: FileOffer | Uint8Array, data?: Uint8Array,
  trailer: Uint8Array = data === undefined ? new Uint8Array(0) : encodeTrailerFrame(sha256(data))): Promise<{ reply: FileReply, result?: FileResult }> {
  const stream = await from.dialProtocol(to.peerId, FILE_PROTOCOL_ID);
  const lp = lpStream(stream);
  await lp.write(offer instanceof Uint8Array ? offer : encodeFileMessage(offer));
  const reply = decodeReply((await lp.read({ signal: AbortSignal.timeout(WAIT_MS) })).subarray());
  if (reply.type !== 'accept' || data === undefined) {
    // A stream left open counts against the receiver's inbound stream limit for this connection.
    stream.abort(new Error('done with this offer'));
    return { reply };
  }
  for (const bytes of [data, trailer]) {
    if (bytes.byteLength > 0 && !stream.send(bytes)) await drained(stream, AbortSignal.timeout(WAIT_MS));
  }
  await stream.close().catch(() => undefined);
  const result = decodeResult((await lp.read({ signal: AbortSignal.timeout(WAIT_MS) })).subarray());
  return { reply, result };
}

/** `payload` with its varint length prefix, as lpStream writes it. */
function lpFrame(payload: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  for (let n = payload.byteLength; ; n >>>= 7) {
    if (n < 0x80) {
      prefix.push(n);
      break;
    }
    prefix.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from(prefix), payload]);
}

function offerFor(data: Uint8Array, name: string, overrides: Partial<FileOffer> = {}): FileOffer {
  return { v: 2, type: 'offer', id: newId(), name, size: data.byteLength, mime: 'application/octet-stream', ...overrides };
}

async function expectReason(promise: Promise<unknown>, reason: string): Promise<void> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FileTransferError);
  expect((err as FileTransferError).reason).toBe(reason);
}

describe('file transfer between three nodes', () => {
  const log = pino({ level: 'silent' });
  let a: Libp2p, b: Libp2p, c: Libp2p;
  let root: string;
  let filesA: FileTransfer, filesB: FileTransfer, filesC: FileTransfer;
  let seenA: Recorder, seenB: Recorder;
  let downloadsB: string;
  const members = new Set<string>();

  async function transfer(node: Libp2p, name: string, init: Partial<FileTransferInit> = {}): Promise<FileTransfer> {
    const files = new FileTransfer({
      node, downloadsDir: join(root, name, 'downloads'), isMember: (id) => members.has(id), log, ...init
    });
    await files.start();
    return files;
  }

  /** Replaces B's FileTransfer with one made with `init`, in a fresh directory `name`. */
  async function restartB(name: string, init: Partial<FileTransferInit>): Promise<void> {
    await filesB.stop();
    filesB = await transfer(b, name, init);
    seenB = new Recorder(filesB);
    downloadsB = join(root, name, 'downloads');
  }

  /** B's downloads directory holds exactly `names` (no partial files). */
  async function expectDownloads(...names: string[]): Promise<void> {
    expect((await readdir(downloadsB)).sort()).toEqual(names.sort());
  }

  beforeAll(async () => {
    [a, b, c] = await Promise.all([startNode(), startNode(), startNode()]);
    await Promise.all([a.dial(b.getMultiaddrs()), c.dial(b.getMultiaddrs())]);
    members.add(a.peerId.toString()).add(b.peerId.toString());
  });

  afterAll(async () => {
    await Promise.all([a, b, c].map((node) => node?.stop()));
  });

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cli-chat-files-'));
    await mkdir(join(root, 'src'));
    [filesA, filesB, filesC] = await Promise.all([transfer(a, 'a'), transfer(b, 'b', { autoAcceptBytes: 1024 * 1024 }), transfer(c, 'c')]);
    [seenA, seenB] = [new Recorder(filesA), new Recorder(filesB)];
    downloadsB = join(root, 'b', 'downloads');
  });

  afterEach(async () => {
    await Promise.all([filesA, filesB, filesC].map((files) => files?.stop()));
    await rm(root, { recursive: true, force: true });
  });

  it('sends a file of a few MB byte-identical, with progress and completion on both sides', async () => {
    await restartB('b4', { autoAcceptBytes: 8 * 1024 * 1024 });
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const path = join(root, 'src', 'holiday photos.tar.gz');
    await writeFile(path, data);

    const sent = await (await filesA.send(b.peerId.toString(), path)).result;
    const received = await seenB.next('received', sent.id);
    expect(sent).toMatchObject({ to: b.peerId.toString(), name: 'holiday photos.tar.gz', size: data.byteLength, sha256: sha256(data) });
    expect(received).toMatchObject({
      from: a.peerId.toString(), name: 'holiday photos.tar.gz', size: data.byteLength, sha256: sha256(data), mime: 'application/gzip',
      path: join(downloadsB, 'holiday photos.tar.gz')
    });
    expect((await readFile(received.path as string)).equals(data)).toBe(true);
    expect(seenB.of('file-offered', sent.id)).toMatchObject([{ needsAccept: false, why: [] }]);
    expect(seenA.of('offered', sent.id)).toHaveLength(1);
    for (const progress of [seenA.of('progress', sent.id), seenB.of('progress', sent.id)]) {
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toMatchObject({ bytes: data.byteLength, size: data.byteLength });
    }
    expect(seenA.of('failed')).toEqual([]);
    expect(seenB.of('failed')).toEqual([]);

    // The same name again is saved beside it, not over it.
    const again = await (await filesA.send(b.peerId.toString(), path)).result;
    expect((await seenB.next('received', again.id)).name).toBe('holiday photos (1).tar.gz');
    await expectDownloads('holiday photos (1).tar.gz', 'holiday photos.tar.gz');
  });

  it('sends an empty file', async () => {
    const path = join(root, 'src', 'empty');
    await writeFile(path, '');
    const sent = await (await filesA.send(b.peerId.toString(), path)).result;
    const received = await seenB.next('received', sent.id);
    expect(received).toMatchObject({ name: 'empty', size: 0, sha256: sha256(new Uint8Array(0)) });
    expect(await readFile(received.path as string)).toHaveLength(0);
  });

  it('saves remote names that try to escape or hide inside downloads/, and nothing elsewhere', async () => {
    const cases: [string, string][] = [
      ['../../etc/passwd', 'passwd'],
      ['a/b\\c', 'c'],
      ['..', 'file'],
      ['.\u0000evil\u001b]0;title\u0007\u202egpj.exe', '_evil_]0;title_gpj.exe']
    ];
    for (const [remote, saved] of cases) {
      const data = randomBytes(1000);
      const offer = offerFor(data, remote);
      const { result } = await rawSend(a, b, offer, data);
      expect(result).toEqual({ v: 2, type: 'done' });
      const received = await seenB.next('received', offer.id);
      expect(received.name).toBe(saved);
      expect(dirname(received.path as string)).toBe(downloadsB);
      expect((await readFile(received.path as string)).equals(data)).toBe(true);
    }
    await expectDownloads('passwd', 'c', 'file', '_evil_]0;title_gpj.exe');
    // Nothing beside the downloads directory, nor above the temp root.
    expect((await readdir(join(root, 'b'))).sort()).toEqual(['downloads']);
    expect((await readdir(root)).sort()).toEqual(['a', 'b', 'c', 'src']);
  });

  it('keeps an oversize offer waiting; reject leaves nothing and tells the sender', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const path = join(root, 'src', 'big.bin');
    await writeFile(path, data);
    const sending = await filesA.send(b.peerId.toString(), path);
    const offered = await seenB.next('file-offered');
    expect(offered).toMatchObject({ id: sending.id, from: a.peerId.toString(), name: 'big.bin', size: data.byteLength, needsAccept: true, why: ['too-large'] });
    const id = offered.id as string;
    expect(await seenA.next('waiting', id)).toMatchObject({ reason: 'too-large' });
    expect(filesB.pending()).toMatchObject([{ id, name: 'big.bin', why: ['too-large'] }]);
    expect(filesA.transfers()).toMatchObject([{ id, direction: 'send', state: 'waiting', bytes: 0 }]);
    expect(filesB.transfers()).toMatchObject([{ id, direction: 'receive', state: 'pending', size: data.byteLength }]);
    expect(() => filesB.accept('0'.repeat(32))).toThrow(FileTransferError);
    expect(() => filesB.accept('not hex')).toThrow(/no offer/);

    // The start of an ID names it, as the console shows IDs shortened.
    expect(filesB.reject(id.slice(0, 8).toUpperCase())).toBe(id);
    await expectReason(sending.result, 'rejected');
    expect(await seenA.next('failed', id)).toMatchObject({ direction: 'send', reason: 'rejected' });
    expect(await seenB.next('failed', id)).toMatchObject({ direction: 'receive', reason: 'rejected' });
    expect(filesB.pending()).toEqual([]);
    expect(() => filesB.reject(id)).toThrow(/no offer/);
    await expectDownloads();
  });

  it('receives an oversize offer once accepted, and asks about a non-member\'s small file', async () => {
    const data = randomBytes(2 * 1024 * 1024);
    const path = join(root, 'src', 'big.bin');
    await writeFile(path, data);
    const sending = await filesA.send(b.peerId.toString(), path);
    const id = (await seenB.next('file-offered')).id as string;
    expect(filesB.accept(id)).toBe(id);
    const sent = await sending.result;
    const received = await seenB.next('received', id);
    expect(sent.id).toBe(id);
    expect((await readFile(received.path as string)).equals(data)).toBe(true);

    const small = join(root, 'src', 'note.txt');
    await writeFile(small, 'hello from a stranger');
    const fromC = await filesC.send(b.peerId.toString(), small);
    const offered = await seenB.next('file-offered', fromC.id);
    expect(offered).toMatchObject({ from: c.peerId.toString(), needsAccept: true, why: ['not-member'], mime: 'text/plain' });
    filesB.accept(offered.id as string);
    await fromC.result;
    await seenB.next('received', offered.id as string);
    await expectDownloads('big.bin', 'note.txt');
  });

  it('asks before a member\'s file would take the downloads directory over its quota', async () => {
    await restartB('q', { quotaBytes: 10_000 });
    await writeFile(join(downloadsB, 'existing.bin'), randomBytes(9_000));
    const path = join(root, 'src', 'two-k.bin');
    await writeFile(path, randomBytes(2_000));
    const sending = await filesA.send(b.peerId.toString(), path);
    const offered = await seenB.next('file-offered');
    expect(offered).toMatchObject({ needsAccept: true, why: ['over-quota'] });
    // Stopping ends the waiting offer: both sides are told.
    await filesB.stop();
    await expectReason(sending.result, 'rejected');
    expect(await seenB.next('failed', offered.id as string)).toMatchObject({ reason: 'stopped' });
    await expectDownloads('existing.bin');
  });

  it('stop() ends a transfer under way and deletes its partial file', async () => {
    await restartB('s', { autoAcceptBytes: 64 * 1024 * 1024 });
    const path = join(root, 'src', 'large.bin');
    await writeFile(path, randomBytes(40 * 1024 * 1024));
    const sending = await filesA.send(b.peerId.toString(), path);
    const id = (await seenB.next('progress', sending.id)).id as string;
    await filesB.stop();
    expect(await seenB.next('failed', id)).toMatchObject({ direction: 'receive', reason: 'stopped' });
    await expectDownloads();
    const err = await sending.result.then(() => undefined, (e: unknown) => e);
    expect(['stopped', 'connection']).toContain((err as FileTransferError).reason);
    expect(seenB.of('received')).toEqual([]);
  });

  it('deletes bytes that do not match the trailer\'s hash, and tells both sides', async () => {
    const data = randomBytes(300_000);
    const offer = offerFor(data, 'swapped.bin');
    const { result } = await rawSend(a, b, offer, data, encodeTrailerFrame(sha256(Buffer.from('something else'))));
    expect(result).toEqual({ v: 2, type: 'failed', reason: 'hash-mismatch' });
    expect(await seenB.next('failed', offer.id)).toMatchObject({ direction: 'receive', reason: 'hash-mismatch' });
    await expectDownloads();
  });

  it('deletes a short transfer and a long one, and tells both sides', async () => {
    const data = randomBytes(500_000);
    const short = offerFor(data, 'short.bin');
    expect((await rawSend(a, b, short, data.subarray(0, 400_000))).result).toEqual({ v: 2, type: 'failed', reason: 'too-short' });
    expect(await seenB.next('failed', short.id)).toMatchObject({ reason: 'too-short' });

    // All the bytes but no trailer is short too.
    const untrailed = offerFor(data, 'untrailed.bin');
    expect((await rawSend(a, b, untrailed, data, new Uint8Array(0))).result).toEqual({ v: 2, type: 'failed', reason: 'too-short' });

    // More than a trailer can be after the bytes: refused as it arrives, the sender still sending.
    const long = offerFor(data, 'long.bin');
    expect((await rawSend(a, b, long, Buffer.concat([data, randomBytes(1000)]))).result).toEqual({ v: 2, type: 'failed', reason: 'too-long' });
    expect(await seenB.next('failed', long.id)).toMatchObject({ reason: 'too-long' });
    // A right trailer with one byte more.
    const trailed = offerFor(data, 'trailed.bin');
    const extra = Buffer.concat([encodeTrailerFrame(sha256(data)), Uint8Array.of(0)]);
    expect((await rawSend(a, b, trailed, data, extra)).result).toEqual({ v: 2, type: 'failed', reason: 'too-long' });
    expect(await seenB.next('failed', trailed.id)).toMatchObject({ reason: 'too-long' });

    // A trailer of the right length that says something else.
    const garbled = offerFor(data, 'garbled.bin');
    const lie = lpFrame(new TextEncoder().encode(JSON.stringify({ v: 2, type: 'done' })));
    expect((await rawSend(a, b, garbled, data, lie)).result).toEqual({ v: 2, type: 'failed', reason: 'protocol' });
    expect(await seenB.next('failed', garbled.id)).toMatchObject({ reason: 'protocol' });
    await expectDownloads();
    expect(seenB.of('received')).toEqual([]);
  });

  it('refuses malformed offers without crashing, and still receives the next good one', async () => {
    const bad = [
      new TextEncoder().encode('{"v":2,"type":"offer"'),
      new TextEncoder().encode(JSON.stringify({ ...offerFor(Buffer.from('x'), 'x'), extra: true })),
      new TextEncoder().encode(JSON.stringify({ ...offerFor(Buffer.from('x'), 'x'), size: -5 })),
      new Uint8Array([0xc3, 0x28])
    ];
    for (const bytes of bad) expect((await rawSend(a, b, bytes)).reply).toEqual({ v: 2, type: 'reject', reason: 'bad-offer' });

    // A frame over the header limit is not even read: the stream is reset.
    const stream = await a.dialProtocol(b.peerId, FILE_PROTOCOL_ID);
    const lp = lpStream(stream);
    await lp.write(new Uint8Array(MAX_HEADER_BYTES + 1));
    await expect(lp.read({ signal: AbortSignal.timeout(WAIT_MS) })).rejects.toThrow();
    expect(filesB.stats().badOffers).toBe(bad.length + 1);

    const data = randomBytes(10_000);
    const offer = offerFor(data, 'fine.bin');
    expect((await rawSend(a, b, offer, data)).result).toEqual({ v: 2, type: 'done' });
    await expectDownloads('fine.bin');
    expect(seenB.of('file-offered').map((o) => o.id)).toEqual([offer.id]);
  });

  it('refuses offers from a peer that makes them too fast, and counts them', async () => {
    const bad = new TextEncoder().encode('{"v":2,"type":"offer"');
    const replies: string[] = [];
    while (replies.length < 2 * OFFER_BURST && !replies.includes('rate-limited')) {
      const { reply } = await rawSend(c, b, bad);
      replies.push(reply.type === 'reject' ? reply.reason : reply.type);
    }
    expect(replies.filter((r) => r === 'bad-offer').length).toBeGreaterThanOrEqual(OFFER_BURST);
    expect(replies.at(-1)).toBe('rate-limited');
    expect(filesB.stats()).toMatchObject({ refused: 1 });
  });

  it('survives a sender that streams bytes before any decision', async () => {
    const data = randomBytes(200_000);
    // C is no member: its offer waits, and the early bytes overflow what an offer may buffer.
    const waiting = offerFor(data, 'early.bin');
    const stream = await c.dialProtocol(b.peerId, FILE_PROTOCOL_ID);
    stream.send(lpFrame(encodeFileMessage(waiting)));
    stream.send(data);
    expect(await seenB.next('failed', waiting.id)).toMatchObject({ reason: 'connection' });
    // A's is accepted at once: early bytes then count as the file's, and these are too many.
    const accepted = offerFor(data, 'early.bin');
    const second = await a.dialProtocol(b.peerId, FILE_PROTOCOL_ID);
    second.send(lpFrame(encodeFileMessage(accepted)));
    second.send(data);
    second.send(data);
    // B resets the stream once it has seen too much, maybe before our side is flushed.
    await second.close().catch(() => undefined);
    expect((await seenB.next('failed', accepted.id)).reason).toMatch(/too-long|connection/);
    await expectDownloads();
  });

  it('refuses to send a directory, a missing file or to a malformed peer ID, before any network', async () => {
    const to = b.peerId.toString();
    await expectReason(filesA.send(to, join(root, 'src')), 'not-a-file');
    await expectReason(filesA.send(to, join(root, 'src', 'missing.txt')), 'not-found');
    await writeFile(join(root, 'src', 'x.txt'), 'x');
    await expectReason(filesA.send('not-a-peer', join(root, 'src', 'x.txt')), 'bad-peer');
    expect(seenA.events).toEqual([]);
    expect(seenB.events).toEqual([]);
  });
});
