/**
 * The deployable form of `functions/`: one ES module bundled by esbuild, beside a
 * package.json naming only the Google libraries Cloud Build installs.
 *
 * Why a bundle: the workspace packages (`@cli-chat/bootstrap-api`) are not on npm, so
 * Cloud Build could not install them; and the sources are TypeScript that Node runs by
 * type stripping only outside node_modules and only from Node 22.18, which the nodejs22
 * runtime does not promise.
 */
import { build } from 'esbuild';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FUNCTION_NAME } from '../functions/src/constants.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const FUNCTIONS_DIR = join(REPO, 'functions');
/** Installed by Cloud Build from the generated package.json rather than bundled: they load native or data files at run time. */
const EXTERNAL = ['@google-cloud/functions-framework', '@google-cloud/firestore'];

export interface Bundle {
  dir: string;
  /** What `gcloud functions deploy --entry-point` names: the function index.js registers. */
  entryPoint: string;
  /** Size of index.js in bytes. */
  bytes: number;
}

/** Writes index.js and package.json into `outDir`, replacing what was there. */
export async function buildFunctionsBundle(outDir: string): Promise<Bundle> {
  const manifest = JSON.parse(await readFile(join(FUNCTIONS_DIR, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const dependencies = Object.fromEntries(EXTERNAL.map((name) => {
    const version = manifest.dependencies[name];
    if (version === undefined) throw new Error(`functions/package.json does not depend on ${name}`);
    return [name, version];
  }));
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const result = await build({
    entryPoints: [join(FUNCTIONS_DIR, 'src', 'index.ts')],
    outfile: join(outDir, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    external: EXTERNAL,
    // Bundled CommonJS dependencies call require(); an ES module has none of its own.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    metafile: true,
    logLevel: 'warning'
  });
  await writeFile(join(outDir, 'package.json'), `${JSON.stringify({
    name: 'cli-chat-bootstrap-functions',
    private: true,
    type: 'module',
    main: 'index.js',
    engines: { node: '22' },
    dependencies
  }, null, 2)}\n`);
  const output = result.metafile.outputs[Object.keys(result.metafile.outputs).find((f) => f.endsWith('index.js')) ?? ''];
  return { dir: outDir, entryPoint: FUNCTION_NAME, bytes: output?.bytes ?? 0 };
}
