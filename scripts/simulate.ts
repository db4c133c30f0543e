/**
 * The membership simulator's command line: many protocol cores in one process, virtual
 * time, a lossy network and injected faults; prints detection times, false positives and
 * traffic per member. `--ablation` runs the same seed with Lifeguard off and on.
 *
 *   npm run simulate -- --members 1000 --loss 0.05 --seed 7 --duration 600
 *   npm run simulate -- --members 200 --slow 20 --slow-delay 600 --ablation
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { profileByName, MEMBERSHIP_PROFILES } from '../peer/src/membership/profiles.ts';
import { runScenario, scenarioProblem } from '../peer/src/membership/simulator/scenario.ts';
import type { FaultStats, ScenarioOptions, ScenarioResult } from '../peer/src/membership/simulator/scenario.ts';
import type { DelayDistribution } from '../peer/src/membership/simulator/network.ts';
import { seconds } from '../peer/src/membership/simulator/stats.ts';

/** Heap a run needs: each member's table has a slot per member (about 40 bytes on the V8 heap). */
function heapNeededMb(members: number): number {
  return Math.ceil(1024 + (members * members * 40) / 2 ** 20);
}

function integer(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(`${name} must be an integer in [${min}, ${max}]`);
    return value;
  };
}

function decimal(name: string, min: number, max: number) {
  return (text: string): number => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || value > max) throw new InvalidArgumentError(`${name} must be a number in [${min}, ${max}]`);
    return value;
  };
}

function partitionPlan(text: string): { at: number, duration: number, fraction: number } {
  const parts = text.split(':').map(Number);
  const [at, duration, fraction] = parts;
  if (parts.length !== 3 || parts.some((x) => !Number.isFinite(x)) || at! < 0 || duration! <= 0 || fraction! <= 0 || fraction! >= 1) {
    throw new InvalidArgumentError('partition is AT:DURATION:FRACTION, e.g. 60:30:0.3 (seconds, seconds, share cut off)');
  }
  return { at: at! * 1000, duration: duration! * 1000, fraction: fraction! };
}

interface Options {
  members: number;
  duration: number;
  seed: number;
  loss: number;
  delay: number;
  jitter: number;
  delayDist: DelayDistribution;
  profile: string;
  lifeguard: 'on' | 'off';
  crashes: number;
  silentCrashes: number;
  freezes: number;
  freezeDuration: number;
  leaves: number;
  joins: number;
  slow: number;
  slowDelay: number;
  partition?: { at: number, duration: number, fraction: number };
  warmup: number;
  settle: number;
  wire: boolean;
  ablation: boolean;
  out?: string;
}

const program = new Command()
  .name('simulate')
  .description('Deterministic simulation of the SWIM + Lifeguard membership protocol')
  .option('--members <n>', 'members in the initial cluster', integer('members', 2, 20_000), 100)
  .option('--duration <s>', 'virtual seconds to simulate', decimal('duration', 1, 86_400), 600)
  .option('--seed <n>', 'random seed (same seed, same run)', integer('seed', 0, 2 ** 31 - 1), 1)
  .option('--loss <p>', 'probability that a message is lost (0..0.5)', decimal('loss', 0, 0.5), 0)
  .option('--delay <ms>', 'smallest one-way delay', decimal('delay', 0, 10_000), 0.5)
  .option('--jitter <ms>', 'mean extra one-way delay', decimal('jitter', 0, 10_000), 1)
  .addOption(new Option('--delay-dist <kind>', 'distribution of the extra delay').choices(['fixed', 'uniform', 'exponential', 'pareto']).default('exponential'))
  .addOption(new Option('--profile <name>', 'membership profile').choices(Object.keys(MEMBERSHIP_PROFILES)).default('lan'))
  .addOption(new Option('--lifeguard <on|off>', 'Lifeguard refinements').choices(['on', 'off']).default('on'))
  .option('--crashes <n>', 'crashes with connection reset (SIGKILL)', integer('crashes', 0), 10)
  .option('--silent-crashes <n>', 'crashes without any signal', integer('silent-crashes', 0), 0)
  .option('--freezes <n>', 'freezes (SIGSTOP, then SIGCONT)', integer('freezes', 0), 5)
  .option('--freeze-duration <s>', 'how long a freeze lasts', decimal('freeze-duration', 0.1, 3600), 20)
  .option('--leaves <n>', 'graceful leaves', integer('leaves', 0), 5)
  .option('--joins <n>', 'new members joining', integer('joins', 0), 5)
  .option('--slow <n>', 'members whose message processing is slowed all run long', integer('slow', 0), 0)
  .option('--slow-delay <ms>', 'mean processing delay of a slowed member', decimal('slow-delay', 0, 60_000), 500)
  .option('--partition <at:dur:frac>', 'split the network at AT s for DUR s, cutting off FRAC of the members', partitionPlan)
  .option('--warmup <s>', 'seconds before the first fault', decimal('warmup', 0, 3600), 10)
  .option('--settle <s>', 'no fault starts in the last SETTLE seconds', decimal('settle', 0, 3600), 30)
  .option('--wire', 'encode and decode every message (slower)', false)
  .option('--ablation', 'run Lifeguard off and on with the same seed, side by side', false)
  .option('--out <file>', 'write the results as JSON')
  .addHelpText('after', `
Faults start at seeded random times between the warmup and the settle period, on distinct
members; slowed members are never fault subjects. A crash "with reset" tells the members
that talked to it in the last 30 s (TCP reset) and refuses later dials; a silent crash and
a freeze tell nobody. Detection times are per surviving member and until all knew.`)
  .parse();

const opts = program.opts<Options>();

if (opts.settle + opts.warmup >= opts.duration) {
  program.error('error: --duration must exceed --warmup plus --settle');
}

const needed = heapNeededMb(opts.members);
if (getHeapStatistics().heap_size_limit / 2 ** 20 < needed && process.env.SIMULATE_REEXEC !== '1') {
  // A larger cluster needs a larger V8 heap than Node's default: run again with one.
  const result = spawnSync(process.execPath, [`--max-old-space-size=${needed}`, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit', env: { ...process.env, SIMULATE_REEXEC: '1' }
  });
  process.exit(result.status ?? 1);
}

function scenario(lifeguard: boolean): ScenarioOptions {
  return {
    members: opts.members,
    seed: opts.seed,
    profile: { ...profileByName(opts.profile), lifeguard },
    network: { loss: opts.loss, baseDelay: opts.delay, jitter: opts.jitter, distribution: opts.delayDist },
    duration: opts.duration * 1000,
    warmup: opts.warmup * 1000,
    settle: opts.settle * 1000,
    crashes: opts.crashes,
    silentCrashes: opts.silentCrashes,
    freezes: opts.freezes,
    freezeDuration: opts.freezeDuration * 1000,
    leaves: opts.leaves,
    joins: opts.joins,
    slow: opts.slow,
    slowDelay: opts.slowDelay,
    partition: opts.partition,
    wire: opts.wire
  };
}

function row(label: string, stats: FaultStats): string {
  const per = `${seconds(stats.perObserver.median)} / ${seconds(stats.perObserver.p99)}`;
  const all = `${seconds(stats.allKnown.median)} / ${seconds(stats.allKnown.p99)}`;
  return `  ${label.padEnd(24)} ${String(stats.faults).padStart(6)}  ${per.padStart(15)}  ${all.padStart(15)}  ${String(stats.missed).padStart(6)}`;
}

function report(result: ScenarioResult): void {
  const net = result.network;
  console.log(`\n${result.members} members, profile ${result.profile}, Lifeguard ${result.lifeguard ? 'on' : 'off'}, seed ${result.seed}, ` +
    `${result.durationSeconds} virtual s, loss ${net.loss}, delay ${net.baseDelay} ms + ${net.distribution} ${net.jitter} ms`);
  console.log(`  ${'scenario'.padEnd(24)} ${'faults'.padStart(6)}  ${'each: med / p99'.padStart(15)}  ${'all: med / p99'.padStart(15)}  ${'missed'.padStart(6)}   (seconds)`);
  const rows: [string, FaultStats][] = [
    ['crash (reset) -> failed', result.crash], ['silent crash -> failed', result.silentCrash],
    ['freeze -> failed', result.freeze], ['freeze end -> alive', result.rejoinAfterFreeze],
    ['leave -> left', result.leave], ['join -> joined', result.join]
  ];
  for (const [label, stats] of rows) if (stats.faults > 0) console.log(row(label, stats));
  const fp = result.falsePositives;
  console.log(`  false positives: ${fp.total} (about healthy members ${fp.aboutHealthy}, slowed ${fp.aboutSlowed}, just resumed ${fp.aboutResumed}); ` +
    `needless suspicions: ${result.needlessSuspicions}`);
  if (result.partition) console.log(`  partition healed: every member sees every live member after ${seconds(result.partition.convergedAfterHeal)} s`);
  console.log(`  load: ${result.load.messagesPerMemberSecond.toFixed(2)} msg/member/s, ${result.load.bytesPerMemberSecond.toFixed(0)} B/member/s sent`);
  console.log(`  wall ${result.wallSeconds.toFixed(1)} s, ${(result.events / 1e6).toFixed(2)} M events`);
}

const problem = scenarioProblem(scenario(true));
if (problem !== undefined) program.error(`error: ${problem}`);

const results: ScenarioResult[] = [];
if (opts.ablation) {
  for (const lifeguard of [false, true]) {
    const result = runScenario(scenario(lifeguard));
    results.push(result);
    report(result);
  }
  const [off, on] = results as [ScenarioResult, ScenarioResult];
  console.log('\nLifeguard ablation (same seed):');
  console.log(`  ${''.padEnd(34)} ${'off'.padStart(10)} ${'on'.padStart(10)}`);
  const line = (label: string, a: string | number, b: string | number): void => console.log(`  ${label.padEnd(34)} ${String(a).padStart(10)} ${String(b).padStart(10)}`);
  line('false positives (all)', off.falsePositives.total, on.falsePositives.total);
  line('  about healthy members', off.falsePositives.aboutHealthy, on.falsePositives.aboutHealthy);
  line('  about slowed members', off.falsePositives.aboutSlowed, on.falsePositives.aboutSlowed);
  line('needless suspicions', off.needlessSuspicions, on.needlessSuspicions);
  line('crash detected, each, median s', seconds(off.crash.perObserver.median), seconds(on.crash.perObserver.median));
  line('crash detected, all, median s', seconds(off.crash.allKnown.median), seconds(on.crash.allKnown.median));
  line('freeze detected, each, median s', seconds(off.freeze.perObserver.median), seconds(on.freeze.perObserver.median));
  line('freeze detected, all, median s', seconds(off.freeze.allKnown.median), seconds(on.freeze.allKnown.median));
  line('bytes/member/s', off.load.bytesPerMemberSecond.toFixed(0), on.load.bytesPerMemberSecond.toFixed(0));
} else {
  const result = runScenario(scenario(opts.lifeguard === 'on'));
  results.push(result);
  report(result);
}

if (opts.out) {
  writeFileSync(opts.out, JSON.stringify(opts.ablation ? { ablation: results } : results[0], null, 2) + '\n');
  console.log(`\nresults written to ${opts.out}`);
}
