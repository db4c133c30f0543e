/**
 * Files between two peer processes, driven through stdin with --json: a few-MB file
 * arrives identical in the recipient's DATA_DIR/downloads/; an offer over the recipient's
 * --max-file-size waits, `/reject` leaves nothing and tells the sender, `/accept` on the
 * next one gets it; bad /send-file input is an error and sends nothing. The hostile cases
 * (path-traversal names, short, long and lying transfers) need a sender that breaks the
 * protocol, so they are in files.test.ts over real nodes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killAll, startBootstrapServer, startPeer } from './support/processes.ts';
import type { PeerProc } from './support/processes.ts';
import type { PeerEvent } from '../src/events.ts';

const dirs: string[] = [];
afterAll(async () => {
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type Of<T extends PeerEvent['type']> = Extract<PeerEvent, { type: T }>;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function waitType<T extends PeerEvent['type']>(proc: PeerProc, type: T, what: string, match: (e: Of<T>) => boolean = () => true): Promise<Of<T>> {
  return proc.waitFor((e) => e.type === type && match(e as Of<T>), what) as Promise<Of<T>>;
}

describe('files between peer processes', () => {
  it('arrive identical, wait over the size limit, and are rejected or accepted', async () => {
    const { url } = await startBootstrapServer(['--no-data-file']);
    const dir = await mkdtemp(join(tmpdir(), 'cli-chat-files-'));
    dirs.push(dir);
    const src = join(dir, 'src');
    await mkdir(src);
    const start = (nick: string, ...args: string[]): PeerProc =>
      startPeer(['--nick', nick, '--bootstrap', url, '--data-dir', join(dir, nick), ...args]);
    const alice = start('alice');
    const bob = start('bob', '--max-file-size', '4MiB');
    const [, bobId] = await Promise.all([alice, bob].map(async (p) => (await waitType(p, 'ready', 'ready')).peerId));
    await alice.waitFor((e) => e.type === 'member-joined' && e.peerId === bobId, 'alice to see bob');
    const downloads = join(dir, 'bob', 'downloads');

    // Bad input: an error each, and nothing offered.
    alice.write(`/send-file bob ${join(src, 'missing.bin')}`);
    await waitType(alice, 'error', 'the missing-file error', (e) => e.message.includes('no file at'));
    alice.write(`/send-file bob ${src}`);
    await waitType(alice, 'error', 'the directory error', (e) => e.message.includes('is a directory'));
    const small = randomBytes(3 * 2 ** 20 + 5);
    await writeFile(join(src, 'small photo.jpg'), small);
    alice.write(`/send-file nobody ${join(src, 'small photo.jpg')}`);
    await waitType(alice, 'error', 'the unknown-member error', (e) => e.message.includes('no member is called nobody'));

    // Within the limit: accepted at once (the path has a space in it).
    alice.write(`/send-file bob ${join(src, 'small photo.jpg')}`);
    const sending = await waitType(alice, 'file-sending', 'alice to start sending');
    expect(sending).toMatchObject({ to: bobId, toNick: 'bob', name: 'small photo.jpg', size: small.byteLength, mime: 'image/jpeg' });
    const received = await waitType(bob, 'file-received', 'bob to save the file', (e) => e.id === sending.id);
    expect(received).toMatchObject({ nick: 'alice', name: 'small photo.jpg', path: join(downloads, 'small photo.jpg'), sha256: sha256(small) });
    expect(sha256(await readFile(received.path))).toBe(sha256(small));
    expect(await waitType(alice, 'file-sent', 'alice to hear it was saved', (e) => e.id === sending.id)).toMatchObject({ sha256: sha256(small) });
    expect(bob.items.find((e) => e.type === 'file-offered' && e.id === sending.id)).toMatchObject({ needsAccept: false, why: [] });
    for (const p of [alice, bob]) {
      const progress = p.items.filter((e): e is Of<'file-progress'> => e.type === 'file-progress' && e.id === sending.id);
      expect(progress.at(-1)).toMatchObject({ bytes: small.byteLength, size: small.byteLength });
    }
    expect(alice.items.filter((e) => e.type === 'file-sending')).toHaveLength(1);

    // Over bob's limit: it waits; rejected, nothing stays and alice is told.
    const big = randomBytes(5 * 2 ** 20);
    await writeFile(join(src, 'big.bin'), big);
    alice.write(`/send-file bob ${join(src, 'big.bin')}`);
    const offered = await waitType(bob, 'file-offered', 'the big offer', (e) => e.name === 'big.bin');
    expect(offered).toMatchObject({ nick: 'alice', size: big.byteLength, needsAccept: true, why: ['too-large'] });
    await waitType(alice, 'file-waiting', 'alice to hear bob is asked', (e) => e.id === offered.id && e.reason === 'too-large');
    bob.write('/show transfers');
    await waitType(bob, 'info', 'the transfers table', (e) => e.message.includes(`waits for /accept ${offered.id.slice(0, 8)}`));
    bob.write(`/reject ${offered.id.slice(0, 8)}`);
    expect(await waitType(alice, 'file-failed', 'alice to hear of the rejection', (e) => e.id === offered.id))
      .toMatchObject({ direction: 'send', reason: 'rejected' });
    await waitType(bob, 'file-failed', 'bob to report the rejection', (e) => e.id === offered.id && e.reason === 'rejected');
    expect(await readdir(downloads)).toEqual(['small photo.jpg']);

    // The same offer again, accepted this time.
    alice.write(`/send-file bob ${join(src, 'big.bin')}`);
    const again = await waitType(bob, 'file-offered', 'the second big offer', (e) => e.name === 'big.bin' && e.id !== offered.id);
    bob.write(`/accept ${again.id}`);
    const saved = await waitType(bob, 'file-received', 'bob to save the accepted file', (e) => e.id === again.id);
    expect(sha256(await readFile(saved.path))).toBe(sha256(big));
    await waitType(alice, 'file-sent', 'alice to hear the accepted file was saved', (e) => e.id === again.id);
    expect((await readdir(downloads)).sort()).toEqual(['big.bin', 'small photo.jpg']);

    bob.write('/stats');
    expect((await waitType(bob, 'stats', 'bob\'s stats')).files).toMatchObject({ received: 2, failed: 1, badOffers: 0 });
    for (const p of [alice, bob]) p.write('/quit');
    for (const p of [alice, bob]) expect((await p.exited).code).toBe(0);
  }, 60_000);
});
