/**
 * The daemon's web page in a real browser: headless Chromium from Debian's `chromium`
 * package, driven by playwright-core (Playwright's own browser download cannot work here).
 * A daemon serves the page; a console peer talks to it; a third peer is SIGKILLed. Each
 * step waits for text on the page or an event of a peer, with a deadline, and saves a
 * screenshot (to WEB_TEST_SCREENSHOTS when set, which is kept; else the test's temp dir).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { killAll, startBootstrapServer, startDaemon, startPeer } from './support/processes.ts';
import type { DaemonLine, DaemonProc, PeerProc } from './support/processes.ts';
import type { PeerEvent } from '../src/events.ts';

const CHROMIUM = '/usr/bin/chromium';
/** One step's deadline: failure detection with the local profile takes about 2 s, the rest far less. */
const STEP_MS = 10_000;

const dirs: string[] = [];
let browser: Browser | undefined;
afterAll(async () => {
  await browser?.close();
  await killAll();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type Ready = Extract<PeerEvent, { type: 'ready' }>;

/** The status of one request made exactly as given (node's fetch would not send a forged Host). */
function statusOf(url: string, headers: Record<string, string>, method = 'GET'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{"text":"from another site"}' : undefined);
  });
}

/**
 * Gossipsub needs a moment to learn who subscribes to a room; until then a line may reach
 * nobody. The console peer sends numbered lines until the daemon has one.
 */
async function warmUp(sender: PeerProc, daemon: DaemonProc): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (let i = 0; ; i++) {
    sender.write(`warm-${i}`);
    const got = await daemon.waitFor((e) => e.type === 'message' && e.text.startsWith('warm-'), 'a warm-up line', 400).then(() => true, () => false);
    if (got) return;
    if (Date.now() > deadline) throw new Error('the room mesh did not form');
  }
}

describe('the web page', () => {
  it('logs in, chats both ways, writes directly, counts unread, shows a crash, refuses other sites', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no ${CHROMIUM}: this test needs Debian's chromium package (apt-get install chromium; .ci/run installs it)`);
    }
    const dir = await mkdtemp(join(tmpdir(), 'cli-chat-web-'));
    dirs.push(dir);
    const shots = process.env.WEB_TEST_SCREENSHOTS ?? join(dir, 'screenshots');
    await mkdir(shots, { recursive: true });

    const { url } = await startBootstrapServer(['--no-data-file']);
    // The local profile detects a crash in about two seconds on loopback.
    const common = (nick: string) => ['--nick', nick, '--bootstrap', url, '--data-dir', join(dir, nick), '--membership-profile', 'local'];
    const { proc: daemon, started } = startDaemon([...common('webby'), '--web']);
    const bob = startPeer(common('bob'));
    const carol = startPeer(common('carol'));
    const line: DaemonLine = await started;
    const [b, c] = await Promise.all([bob, carol].map(async (p) => await p.waitFor((e) => e.type === 'ready', 'ready') as Ready));
    for (const id of [b!.peerId, c!.peerId]) await daemon.waitFor((e) => e.type === 'member-joined' && e.peerId === id, 'the daemon to see both peers');
    await warmUp(bob, daemon);
    expect(line.web).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const web = line.web as string;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext();
    const page = await context.newPage();
    // A CSP violation or a script error shows up here, not on the page.
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(err.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`${m.text()} ${m.location().url}`); });
    let step = 0;
    const shot = async (name: string, p: Page = page) => p.screenshot({ path: join(shots, `${++step}-${name}.png`) });
    const shows = (selector: string, text: string) => page.locator(selector, { hasText: text }).first().waitFor({ timeout: STEP_MS });

    // 1. The one-time link sets the cookie and shows the current room and its members.
    await page.goto(line.login as string);
    expect(new URL(page.url()).pathname).toBe('/');
    await shows('#title', '#lobby');
    await shows('#members li[data-state="alive"]', 'bob');
    await shows('#members li[data-state="alive"]', 'carol');
    await shows('#link', 'live');
    await shot('logged-in');

    // 2. The page sends; the console peer receives.
    await page.fill('#send-text', 'hello from the page');
    await page.press('#send-text', 'Enter');
    const got = await bob.waitFor((e) => e.type === 'message' && e.text === 'hello from the page', 'bob to get the page\'s line', STEP_MS);
    expect(got).toMatchObject({ nick: 'webby', room: 'lobby' });
    await shows('#messages li.outgoing', 'hello from the page');
    await shot('sent');

    // 3. The console peer sends; the page shows it live.
    bob.write('hello from the console');
    await shows('#messages li', 'hello from the console');
    expect(await page.locator('#messages li', { hasText: 'hello from the console' }).innerText()).toContain('bob');
    // Another member's text is shown as text, never run as markup.
    bob.write('<img src=x onerror="document.title=1"> <b>bold</b>');
    await shows('#messages li', '<img src=x onerror="document.title=1"> <b>bold</b>');
    expect(await page.locator('#messages img, #messages b').count()).toBe(0);
    await shot('received');

    // 4. Direct messages both ways, with the delivery noted.
    await page.click('#members button:text-is("bob")');
    await shows('#title', 'bob');
    await page.fill('#send-text', 'psst bob');
    await page.press('#send-text', 'Enter');
    await bob.waitFor((e) => e.type === 'dm' && e.text === 'psst bob' && e.nick === 'webby', 'bob to get the direct message', STEP_MS);
    await shows('#messages li.outgoing', 'delivered');
    bob.write('/msg webby psst back');
    await shows('#messages li', 'psst back');
    await shot('direct');

    // 4b. Files: the page sends one to bob, bob sends one back, the page downloads it.
    const upload = join(dir, 'from-the-page.txt');
    await writeFile(upload, 'bytes chosen in the browser\n');
    await page.setInputFiles('#send-file', upload);
    const sent = await bob.waitFor((e) => e.type === 'file-received' && e.name === 'from-the-page.txt', 'bob to get the page\'s file', STEP_MS) as Extract<PeerEvent, { type: 'file-received' }>;
    expect(await readFile(sent.path, 'utf8')).toBe('bytes chosen in the browser\n');
    await shows('#messages li.file.outgoing', 'sent');
    const back = join(dir, 'from-bob.txt');
    await writeFile(back, 'bob\'s bytes\n');
    bob.write(`/send-file webby ${back}`);
    await shows('#messages li.file', 'from-bob.txt');
    const link = page.locator('#messages li.file', { hasText: 'from-bob.txt' }).locator('a.download');
    await link.waitFor({ timeout: STEP_MS });
    const downloaded = await context.request.get(new URL(await link.getAttribute('href') as string, web).toString());
    expect(downloaded.status()).toBe(200);
    expect(await downloaded.text()).toBe('bob\'s bytes\n');
    await shot('files');

    // 5. Another room joined from the page; a line in the room not open counts as unread, and opening the room shows it.
    await page.fill('#join-room', 'dev');
    await page.press('#join-room', 'Enter');
    await shows('#title', '#dev');
    await shows('#rooms li', '#dev');
    bob.write('while you were in dev');
    await page.locator('#rooms li', { hasText: '#lobby' }).locator('.unread', { hasText: '1' }).waitFor({ timeout: STEP_MS });
    await shot('unread');
    await page.click('#rooms button:has-text("#lobby")');
    await shows('#title', '#lobby');
    await shows('#messages li', 'while you were in dev');
    // History and live events carry the same messages: each shows once.
    expect(await page.locator('#messages li', { hasText: 'hello from the console' }).count()).toBe(1);
    expect(await page.locator('#rooms .unread').count()).toBe(0);
    await shot('history');

    // 6. A crashed peer turns failed (not left).
    carol.kill('SIGKILL');
    await shows('#members li[data-state="dead"]', 'carol');
    expect(await page.locator('#members li', { hasText: 'carol' }).innerText()).toContain('failed');
    await shot('failed');

    // 7. Other sites and missing cookies are refused, whatever they ask.
    const [session] = await context.cookies(web);
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Strict');
    const cookie = `${session!.name}=${session!.value}`;
    expect(await statusOf(`${web}/v1/state`, { cookie })).toBe(200);
    expect(await statusOf(`${web}/v1/state`, { cookie, origin: 'http://evil.example' })).toBe(403);
    expect(await statusOf(`${web}/v1/say`, { cookie, origin: 'http://evil.example', 'content-type': 'application/json' }, 'POST')).toBe(403);
    // DNS rebinding: a page at evil.example whose name now points at 127.0.0.1.
    expect(await statusOf(`${web}/v1/state`, { cookie, host: 'evil.example' })).toBe(403);
    expect(await statusOf(`${web}/v1/state`, {})).toBe(401);
    expect(await statusOf(`${web}/`, {})).toBe(401);
    // The link was spent; a browser without the cookie sees the refusal.
    const stranger = await browser.newPage();
    const spent = await stranger.goto(line.login as string);
    expect(spent?.status()).toBe(401);
    expect(await stranger.locator('body').innerText()).toContain('used up or expired');
    await shot('spent-link', stranger);
    expect(bob.items.some((e) => e.type === 'message' && e.text === 'from another site')).toBe(false);

    expect(problems).toEqual([]);
  }, 60_000);
});
