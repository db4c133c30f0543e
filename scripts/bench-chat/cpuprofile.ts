/**
 * Summarises a V8 .cpuprofile (as written by `node --cpu-prof`) over time windows:
 * self time by function, time by category (each sample goes to the nearest frame that
 * belongs to a known owner, except that anything under an Ed25519 sign or verify counts
 * as signing or verification), and inclusive time of a few functions of interest.
 *
 * Sample times are V8's monotonic clock in µs, the same clock as process.hrtime in any
 * process on the host, so a window measured in the bench selects the same stretch here.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A stretch of time in µs of the monotonic clock (process.hrtime.bigint() / 1000). */
export interface Window {
  startUs: number;
  endUs: number;
}

export interface Share {
  name: string;
  ms: number;
  /** Percent of the sampled wall time in the windows. */
  pct: number;
}

export interface TopFunction extends Share {
  where: string;
  category: string;
}

export interface ProfileSummary {
  file: string;
  /** Wall time covered by samples inside the windows. */
  sampledMs: number;
  samples: number;
  categories: Share[];
  top: TopFunction[];
  inclusive: Share[];
}

/** This checkout's root, as it appears in the profile's script URLs (a worktree's too). */
const REPO_MARKER = fileURLToPath(new URL('../../', import.meta.url));

/** A function whose inclusive time is reported: [label, url part, function name]. */
export type Watched = [string, string, string];

/** The functions a chat profile watches: the path of a message, sent and received. */
const WATCHED: Watched[] = [
  ['cli: Session.handle (stdin line -> send)', 'peer/src/cli/session.ts', 'handle'],
  ['chat: Chat.send (encode, id, publish)', 'peer/src/chat/service.ts', 'send'],
  ['chat: encodeChatMessage', 'peer/src/chat/codec.ts', 'encodeChatMessage'],
  ['chat: Chat.validate (topic validator)', 'peer/src/chat/service.ts', 'validate'],
  ['chat: Chat.deliver (id, dedupe, decode, event)', 'peer/src/chat/service.ts', 'deliver'],
  ['chat: decodeChatMessage', 'peer/src/chat/codec.ts', 'decodeChatMessage'],
  ['chat: Chat.messageId (sha256 by the chat service)', 'peer/src/chat/service.ts', 'messageId'],
  ['cli: Session.show (JSON event to stdout)', 'peer/src/cli/session.ts', 'show'],
  ['bare: publish loop / emit (JSON event to stdout)', 'scripts/bench-chat/bare-node.ts', 'emit'],
  ['gossipsub: publish', '@libp2p/gossipsub/dist/src/gossipsub.js', 'publish'],
  ['gossipsub: handleReceivedMessage', '@libp2p/gossipsub/dist/src/gossipsub.js', 'handleReceivedMessage'],
  ['gossipsub: forwardMessage', '@libp2p/gossipsub/dist/src/gossipsub.js', 'forwardMessage'],
  ['gossipsub: msgIdFn (sha256, ours)', 'peer/src/node/gossipsub.ts', 'msgIdFn'],
  ['Ed25519 sign (hashAndSign)', '@libp2p/crypto/dist/src/keys/ed25519', 'hashAndSign'],
  ['Ed25519 verify (hashAndVerify)', '@libp2p/crypto/dist/src/keys/ed25519', 'hashAndVerify']
];

const STREAMS = 'libp2p streams & buffers';
const PEER_STORE = 'libp2p peer store';
const LOGGER = 'libp2p logger (weald)';
const CORE = 'libp2p connections, protocols, events';
const FORMATS = 'multiformats, peer IDs, byte utils';
const PACKAGE_CATEGORIES: Record<string, string> = {
  '@libp2p/gossipsub': 'gossipsub',
  '@chainsafe/libp2p-noise': 'noise (encryption)',
  '@noble/ciphers': 'noise (encryption)',
  '@noble/hashes': 'noise (encryption)',
  '@noble/curves': 'noise (encryption)',
  '@chainsafe/as-chacha20poly1305': 'noise (encryption)',
  '@chainsafe/libp2p-yamux': 'yamux',
  typebox: 'chat codec (decode, schema, rules)',
  'protons-runtime': 'protobuf',
  pino: 'logging (pino)',
  'sonic-boom': 'logging (pino)',
  '@libp2p/tcp': 'tcp transport',
  '@libp2p/crypto': 'crypto (other)',
  '@libp2p/utils': STREAMS,
  uint8arraylist: STREAMS,
  'race-signal': STREAMS,
  'p-event': STREAMS,
  'p-defer': STREAMS,
  '@libp2p/peer-store': PEER_STORE,
  'datastore-core': PEER_STORE,
  'interface-datastore': PEER_STORE,
  weald: LOGGER,
  debug: LOGGER,
  'supports-color': LOGGER,
  '@libp2p/logger': LOGGER,
  libp2p: CORE,
  '@libp2p/multistream-select': CORE,
  '@libp2p/interface': CORE,
  '@libp2p/interface-internal': CORE,
  '@libp2p/identify': CORE,
  '@libp2p/ping': CORE,
  '@libp2p/peer-collections': CORE,
  'main-event': CORE,
  multiformats: FORMATS,
  '@multiformats/multiaddr': FORMATS,
  '@libp2p/peer-id': FORMATS,
  uint8arrays: FORMATS
};

function packageCategory(pkg: string): string {
  const known = PACKAGE_CATEGORIES[pkg];
  if (known !== undefined) return known;
  if (pkg.startsWith('it-')) return STREAMS;
  if (pkg.startsWith('@multiformats/')) return FORMATS;
  if (pkg.startsWith('@libp2p/')) return CORE;
  return 'other libraries';
}

function packageName(url: string): string | undefined {
  const at = url.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const parts = url.slice(at + '/node_modules/'.length).split('/');
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

function repoPath(url: string): string | undefined {
  const at = url.indexOf(REPO_MARKER);
  return at < 0 ? undefined : url.slice(at + REPO_MARKER.length);
}

/** The category a frame's own code belongs to, or undefined for native and Node-internal frames. */
function owner(frame: CallFrame): string | undefined {
  const { url, functionName } = frame;
  if (url === '' || url.startsWith('node:')) return undefined;
  const pkg = packageName(url);
  if (pkg !== undefined) return packageCategory(pkg);
  const path = repoPath(url) ?? url;
  if (path.startsWith('peer/src/chat/codec.ts')) {
    return functionName === 'chatMessageId' || functionName === 'formatMessageId' ? 'message ids (sha256)' : 'chat codec (decode, schema, rules)';
  }
  if (path.startsWith('peer/src/chat/')) return 'chat service (validator, dedupe, events)';
  if (path.startsWith('peer/src/node/gossipsub.ts')) return 'message ids (sha256)';
  if (path.startsWith('peer/src/cli/') || path.startsWith('peer/src/peer.ts') || path.startsWith('peer/src/main.ts')) {
    return 'stdin & JSON events (peer CLI)';
  }
  if (path.startsWith('scripts/bench-chat/bare-node.ts')) return 'stdin & JSON events (bare node)';
  if (path.startsWith('peer/src/seeding/')) return 'seeding (bootstrap lease, dialer)';
  if (path.startsWith('peer/src/history/store.ts')) return 'history store (SQLite)';
  if (path.startsWith('peer/src/history/')) return 'history (backlog stream, record checks, merge)';
  return 'other project code';
}

function override(frame: CallFrame): string | undefined {
  // node:crypto's one-shot calls, which history records use directly rather than through @libp2p/crypto.
  if (frame.url === 'node:internal/crypto/sig' && frame.functionName === 'verifyOneShot') return 'verification (Ed25519)';
  if (!frame.url.includes('@libp2p/crypto')) return undefined;
  if (frame.functionName === 'hashAndSign') return 'signing (Ed25519)';
  if (frame.functionName === 'hashAndVerify') return 'verification (Ed25519)';
  return undefined;
}

const SPECIAL = new Map([
  ['(idle)', 'idle'],
  ['(program)', '(program): native, outside JS'],
  ['(garbage collector)', 'garbage collection'],
  ['(root)', '(program): native, outside JS']
]);

function where(frame: CallFrame): string {
  if (frame.url === '') return 'native';
  const pkg = packageName(frame.url);
  const tail = pkg !== undefined
    ? `${pkg}/${frame.url.slice(frame.url.lastIndexOf('/') + 1)}`
    : repoPath(frame.url) ?? frame.url;
  return `${tail}:${frame.lineNumber + 1}`;
}

export function summariseProfile(file: string, windows: Window[], topN = 12, watchList: readonly Watched[] = WATCHED): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const path = (id: number): ProfileNode[] => {
    const frames: ProfileNode[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at);
      if (node) frames.push(node);
    }
    return frames;
  };
  const categoryCache = new Map<number, string>();
  const category = (id: number): string => {
    const known = categoryCache.get(id);
    if (known !== undefined) return known;
    const frames = path(id);
    const leaf = frames[0]?.callFrame;
    let result: string | undefined = leaf && leaf.url === '' ? SPECIAL.get(leaf.functionName) : undefined;
    result ??= frames.map((f) => override(f.callFrame)).find((c) => c !== undefined);
    result ??= frames.map((f) => owner(f.callFrame)).find((c) => c !== undefined);
    result ??= 'node runtime (streams, timers, microtasks)';
    categoryCache.set(id, result);
    return result;
  };
  const watchedCache = new Map<number, string[]>();
  const watched = (id: number): string[] => {
    const known = watchedCache.get(id);
    if (known) return known;
    const frames = path(id).map((f) => f.callFrame);
    const hits = watchList.filter(([, url, fn]) => frames.some((f) => f.functionName === fn && f.url.includes(url))).map(([label]) => label);
    watchedCache.set(id, hits);
    return hits;
  };

  const self = new Map<number, number>();
  let sampledUs = 0;
  let samples = 0;
  let t = profile.startTime;
  const times: number[] = [];
  for (const delta of profile.timeDeltas) {
    t += delta;
    times.push(t);
  }
  for (let i = 0; i < profile.samples.length; i++) {
    const at = times[i] ?? 0;
    if (!windows.some((w) => at >= w.startUs && at < w.endUs)) continue;
    const next = times[i + 1];
    // A sample stands for the time until the next one (capped: a long gap is not this frame's).
    const duration = next === undefined ? 0 : Math.min(next - at, 20_000);
    const id = profile.samples[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + duration);
    sampledUs += duration;
    samples++;
  }

  const categories = new Map<string, number>();
  const functions = new Map<string, { us: number, frame: CallFrame, category: string }>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of self) {
    const cat = category(id);
    categories.set(cat, (categories.get(cat) ?? 0) + us);
    const frame = byId.get(id)?.callFrame;
    if (frame) {
      const key = `${frame.functionName}@${frame.url}:${frame.lineNumber}:${frame.columnNumber}`;
      const entry = functions.get(key) ?? { us: 0, frame, category: cat };
      entry.us += us;
      functions.set(key, entry);
    }
    for (const label of watched(id)) inclusive.set(label, (inclusive.get(label) ?? 0) + us);
  }
  const share = (name: string, us: number): Share => ({
    name,
    ms: Math.round(us / 100) / 10,
    pct: sampledUs > 0 ? Math.round((1000 * us) / sampledUs) / 10 : 0
  });
  return {
    file,
    sampledMs: Math.round(sampledUs / 1000),
    samples,
    categories: [...categories].sort((a, b) => b[1] - a[1]).map(([name, us]) => share(name, us)),
    top: [...functions.values()].sort((a, b) => b.us - a.us).slice(0, topN).map((f) => ({
      ...share(f.frame.functionName === '' ? '(anonymous)' : f.frame.functionName, f.us),
      where: where(f.frame),
      category: f.category
    })),
    inclusive: watchList.map(([label]) => share(label, inclusive.get(label) ?? 0)).filter((s) => s.ms > 0)
  };
}
