/**
 * Deploys the bootstrap API to Google Cloud Functions (2nd gen, Node.js 22):
 *
 *   GOOGLE_CLOUD_PROJECT=my-project GOOGLE_CLOUD_REGION=europe-west1 node scripts/deploy-functions.ts
 *
 * Builds the bundle (scripts/functions-bundle.ts) into .deploy/functions, runs
 * `gcloud functions deploy`, then writes the function's URL into bootstrap-cloud.url so
 * that `source .bootstrap-switch cloud` finds it. `--dry-run` builds and prints the
 * gcloud command without running it. The admin token never passes through this script:
 * name a Secret Manager secret in BOOTSTRAP_ADMIN_TOKEN_SECRET and the function reads it
 * as BOOTSTRAP_ADMIN_TOKEN; without one, reset and config stay disabled.
 */
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildFunctionsBundle } from './functions-bundle.ts';
import { ENV } from '../functions/src/config.ts';
import { FUNCTION_NAME } from '../functions/src/constants.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
/** Settings the function reads from its environment, passed on when set here. */
const PASSED_ON = [ENV.ttl, ENV.maxPeers];

const { values: flags } = parseArgs({
  options: {
    'dry-run': { type: 'boolean', default: false },
    name: { type: 'string', default: FUNCTION_NAME },
    help: { type: 'boolean', short: 'h', default: false }
  }
});

function fail(message: string): never {
  process.stderr.write(`deploy-functions: ${message}\n`);
  process.exit(2);
}

function required(name: string, hint: string): string {
  const value = process.env[name]?.trim();
  if (!value) fail(`set ${name} (${hint})`);
  return value;
}

if (flags.help) {
  process.stdout.write(`usage: GOOGLE_CLOUD_PROJECT=<project> GOOGLE_CLOUD_REGION=<region> node scripts/deploy-functions.ts [--dry-run] [--name ${FUNCTION_NAME}]
optional: BOOTSTRAP_ADMIN_TOKEN_SECRET (a Secret Manager secret), ${PASSED_ON.join(', ')}
`);
  process.exit(0);
}

const project = required('GOOGLE_CLOUD_PROJECT', 'the Google Cloud project ID');
const region = required('GOOGLE_CLOUD_REGION', 'for example europe-west1');
const bundle = await buildFunctionsBundle(join(REPO, '.deploy', 'functions'));
process.stdout.write(`bundle: ${bundle.dir} (index.js ${(bundle.bytes / 1024).toFixed(0)} KiB)\n`);

const envVars = [`${ENV.project}=${project}`, ...PASSED_ON.filter((n) => process.env[n]).map((n) => `${n}=${process.env[n]}`)];
const secret = process.env.BOOTSTRAP_ADMIN_TOKEN_SECRET?.trim();
const args = [
  'functions', 'deploy', flags.name, '--gen2', '--runtime', 'nodejs22', '--trigger-http', '--allow-unauthenticated',
  '--entry-point', bundle.entryPoint, '--source', bundle.dir, '--region', region, '--project', project,
  '--set-env-vars', envVars.join(','),
  ...(secret ? ['--set-secrets', `${ENV.adminToken}=${secret}:latest`] : [])
];
process.stdout.write(`gcloud ${args.join(' ')}\n`);
if (flags['dry-run']) process.exit(0);

const deployed = spawnSync('gcloud', args, { stdio: 'inherit' });
if (deployed.error) fail(`could not run gcloud: ${deployed.error.message} (install the Google Cloud CLI)`);
if (deployed.status !== 0) fail(`gcloud functions deploy exited with ${deployed.status}`);
const described = spawnSync('gcloud', ['functions', 'describe', flags.name, '--gen2', '--region', region, '--project', project,
  '--format=value(serviceConfig.uri)'], { encoding: 'utf8' });
const url = described.stdout.trim();
if (described.status !== 0 || !url.startsWith('https://')) fail(`deployed, but could not read the function's URL: ${described.stderr.trim()}`);
await writeFile(join(REPO, 'bootstrap-cloud.url'), `# written by scripts/deploy-functions.ts\n${url}\n`);
process.stdout.write(`deployed: ${url}\nwritten to bootstrap-cloud.url; now: source .bootstrap-switch cloud\n`);
