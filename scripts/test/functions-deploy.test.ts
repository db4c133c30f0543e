/**
 * The deploy artifact, run as Cloud Functions runs it: the bundle `scripts/deploy-functions.ts`
 * uploads, served by the Functions Framework's own command line (what the nodejs22 runtime
 * starts) against the official Firestore emulator; then peer processes started with
 * `--bootstrap` pointing at it find each other and chat, exactly as with the Fastify server.
 * Only the Google infrastructure is absent: the emulator stands in for Firestore.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BootstrapClient } from '@cli-chat/bootstrap-api';
import { buildFunctionsBundle } from '../functions-bundle.ts';
import { startFirestoreEmulator } from '../../functions/src/dev/firestore-emulator.ts';
import type { FirestoreEmulator } from '../../functions/src/dev/firestore-emulator.ts';
import { Proc, REPO_ROOT, freePort, killAll, startPeer } from '../../peer/test/support/processes.ts';
import type { PeerProc } from '../../peer/test/support/processes.ts';
import type { PeerEvent } from '../../peer/src/events.ts';

const FRAMEWORK_CLI = join(REPO_ROOT, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
const PROJECT = 'demo-deploy-bundle';
const START_DEADLINE_MS = 90_000;
const MEMBER_DEADLINE_MS = 30_000;

// Inside the repository, so the bundle's external imports resolve from node_modules as
// Cloud Build's `npm install` would provide them.
const bundleDir = join(REPO_ROOT, '.deploy', `test-${process.pid}`);
const dirs: string[] = [bundleDir];
let emulator: FirestoreEmulator | undefined;

afterAll(async () => {
  await killAll();
  await emulator?.stop();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}, 30_000);

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cli-chat-functions-e2e-'));
  dirs.push(dir);
  return dir;
}

/** Polls ping until the framework answers, or fails with its output. */
async function answering(client: BootstrapClient, framework: Proc<string>): Promise<string> {
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    try {
      return (await client.ping()).backend;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the function did not answer: ${(err as Error).message}\n${framework.stderr.join('\n')}`);
      await Promise.race([framework.exited.then(({ code }) => { throw new Error(`the framework exited with ${code}:\n${framework.stderr.join('\n')}`); }),
        new Promise((resolve) => setTimeout(resolve, 200))]);
    }
  }
}

type Message = Extract<PeerEvent, { type: 'message' }>;
const isMessage = (e: PeerEvent): e is Message => e.type === 'message';

/** Sends numbered lines until `receiver` has one: gossipsub needs a moment to learn the room's subscribers. */
async function reaches(sender: PeerProc, receiver: PeerProc, tag: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (let i = 0; ; i++) {
    sender.write(`${tag} ${i}`);
    const got = await receiver.waitFor((e) => isMessage(e) && e.text.startsWith(`${tag} `), tag, 500).then(() => true, () => false);
    if (got) return;
    if (Date.now() > deadline) throw new Error(`"${tag}" never arrived`);
  }
}

describe('the deployed functions bundle', () => {
  it('serves the API from the Functions Framework, and peers registered through it chat', async () => {
    const [bundle, started] = await Promise.all([buildFunctionsBundle(bundleDir), startFirestoreEmulator({ startTimeoutMs: START_DEADLINE_MS })]);
    emulator = started;
    expect(bundle.bytes).toBeGreaterThan(0);
    const port = await freePort();
    const framework = new Proc<string>([FRAMEWORK_CLI, '--target', bundle.entryPoint, '--source', bundle.dir, '--port', String(port)], (line) => line, {
      FIRESTORE_EMULATOR_HOST: emulator.host, GOOGLE_CLOUD_PROJECT: PROJECT, METADATA_SERVER_DETECTION: 'none', BOOTSTRAP_ADMIN_TOKEN: ''
    });
    const url = `http://127.0.0.1:${port}`;
    const client = new BootstrapClient({ baseUrl: url, retries: 0 });
    expect(await answering(client, framework)).toBe('functions');

    // Debug logs, so that a timeout below shows what each peer did (the stderr tail).
    const peerArgs = async (nick: string): Promise<string[]> =>
      ['--nick', nick, '--bootstrap', url, '--data-dir', await tempDir(), '--no-host-bootstrap', '--log-level', 'debug'];
    // One after the other, as a user starts them in two terminals. Started together, their
    // first joins contend in the emulator, which can take longer than the client's 5 s
    // timeout at a cold start; the peers then get in at a later retry (the contract suite
    // covers concurrent joins, with longer timeouts).
    const alice = startPeer(await peerArgs('alice'));
    const registered = (p: PeerProc): Promise<unknown> =>
      p.waitFor((e) => e.type === 'bootstrap' && e.state === 'registered', 'registered', START_DEADLINE_MS);
    await registered(alice);
    const bob = startPeer(await peerArgs('bob'));
    await registered(bob);
    const [a, b] = await Promise.all([alice, bob].map((p) => p.waitFor((e) => e.type === 'ready', 'ready', 30_000))) as Extract<PeerEvent, { type: 'ready' }>[];
    await alice.waitFor((e) => e.type === 'member-joined' && e.peerId === b!.peerId, 'alice to learn of bob', MEMBER_DEADLINE_MS);
    await bob.waitFor((e) => e.type === 'member-joined' && e.peerId === a!.peerId, 'bob to learn of alice', MEMBER_DEADLINE_MS);
    await reaches(alice, bob, 'hello from alice');
    await reaches(bob, alice, 'hello from bob');
    const got = bob.items.filter(isMessage).find((m) => m.text.startsWith('hello from alice'));
    expect(got).toMatchObject({ from: a!.peerId, nick: 'alice', room: 'lobby' });

    const listed = await client.list();
    expect(listed.peers.map((p) => p.peerId).sort()).toEqual([a!.peerId, b!.peerId].sort());
    // Admin endpoints stay closed without a token, as on the Fastify server.
    await expect(new BootstrapClient({ baseUrl: url, adminToken: 'guess', retries: 0 }).reset()).rejects.toMatchObject({ code: 'ADMIN_DISABLED' });
  }, 150_000);
});
