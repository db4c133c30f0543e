/**
 * `npm run bench`: every benchmark, one after the other (they share two cores, so running
 * them together would measure each other). Each writes its figures under bench-results/.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const benches: [string, string[]][] = [
  ['bootstrap server', ['scripts/bench-bootstrap.ts']],
  ['chat', ['scripts/bench-chat.ts']],
  ['flood (two peers chatting beside a flooder)', ['scripts/bench-flood.ts']],
  ['backlog (a late joiner shown 10,000 messages)', ['scripts/bench-backlog.ts', '--cpu-prof']],
  ['direct messages (round trip between two peer processes)', ['scripts/bench-dm.ts']],
  ['membership (10 peer processes)', ['scripts/bench-membership.ts', '--members', '10']],
  ['membership (20 peer processes)', ['scripts/bench-membership.ts', '--members', '20', '--rounds', '2']],
  ['membership (50 peer processes)', ['scripts/bench-membership.ts', '--members', '50']],
  // 100 processes do not fit on two cores: peers in one process (on worker threads), with
  // every scenario's subject a real process.
  ['membership (100 peers: 97 in this process, 3 processes)',
    ['scripts/bench-membership.ts', '--members', '100', '--in-process', '97', '--rounds', '2']],
  // 10% of a core: at 50 msg/s a peer needs about 8% to keep up with the room at all.
  ['soak (20 peer processes, one held to 10% of a core, chat at 50 msg/s, 10 minutes)',
    ['scripts/bench-soak.ts', '--cpu-pct', '10']],
  ['functions backend beside Fastify', ['scripts/bench-functions.ts']],
  ['daemon: events through the control API beside --json stdout, idle cost', ['scripts/bench-daemon.ts']],
  ['file transfer (100 MB, beside a plain TCP copy)', ['scripts/bench-files.ts']],
  // Needs root (network namespaces); it says so and exits 1 otherwise.
  ['across NATs (two peers through a relay beside two direct ones, in network namespaces)', ['scripts/bench-nat.ts']],
  ['peer node cost', ['scripts/peer-node-cost.ts']]
];

let failed = 0;
for (const [name, args] of benches) {
  process.stdout.write(`\n=== ${name}: node ${args.join(' ')}\n`);
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    process.stdout.write(`=== ${name} exited with ${result.status ?? result.signal}\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);
