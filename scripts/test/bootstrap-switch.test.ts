/** `.bootstrap-switch`, sourced by real shells as a user would. */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtemp, copyFile, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../../.bootstrap-switch', import.meta.url));

function hasShell(shell: string): boolean {
  try {
    execFileSync(shell, ['-c', 'true']);
    return true;
  } catch {
    return false;
  }
}

// zsh is not on every machine; bash always is. Each shell present is tested the same way.
const shells = ['bash', 'zsh'].filter(hasShell);

/** Runs `script` in a fresh shell from `dir` and returns stdout+stderr. */
function run(shell: string, dir: string, script: string, env: Record<string, string> = {}): string {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOOTSTRAP_')));
  return execFileSync(shell, ['-c', `{\n${script}\n} 2>&1`], { cwd: dir, env: { ...clean, ...env }, encoding: 'utf8' });
}

describe.each(shells)('.bootstrap-switch in %s', (shell) => {
  it('toggles between local and cloud, prints old and new, and leaves no helpers behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switch-'));
    try {
      await copyFile(SCRIPT, join(dir, '.bootstrap-switch'));
      const out = run(shell, dir, [
        'source ./.bootstrap-switch; echo "A=$BOOTSTRAP_DATA_SERVER"',
        'source ./.bootstrap-switch; echo "B=$BOOTSTRAP_DATA_SERVER"',
        'source ./.bootstrap-switch local; echo "C=$BOOTSTRAP_DATA_SERVER"',
        'typeset -f __bs_main __bs_switch >/dev/null 2>&1 && echo LEAKED || echo CLEAN'
      ].join('\n'), { BOOTSTRAP_CLOUD_URL: 'https://cloud.example/bootstrap' });
      expect(out).toContain('BOOTSTRAP_DATA_SERVER: unset -> https://cloud.example/bootstrap (cloud)');
      expect(out).toContain('A=https://cloud.example/bootstrap');
      expect(out).toContain('BOOTSTRAP_DATA_SERVER: https://cloud.example/bootstrap -> http://127.0.0.1:8080 (local)');
      expect(out).toContain('B=http://127.0.0.1:8080');
      expect(out).toContain('C=http://127.0.0.1:8080');
      expect(out).toContain('CLEAN');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads the cloud URL from bootstrap-cloud.url and refuses to switch without one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switch-'));
    try {
      await copyFile(SCRIPT, join(dir, '.bootstrap-switch'));
      const without = run(shell, dir, 'source ./.bootstrap-switch cloud; echo "rc=$? now=${BOOTSTRAP_DATA_SERVER:-unset}"');
      expect(without).toContain('no cloud URL');
      expect(without).toContain('rc=1 now=unset');
      await writeFile(join(dir, 'bootstrap-cloud.url'), '# my deployment\n\nhttps://file.example/b\n');
      const withFile = run(shell, dir, 'source ./.bootstrap-switch cloud; echo "now=$BOOTSTRAP_DATA_SERVER"');
      expect(withFile).toContain('now=https://file.example/b');
      const bad = run(shell, dir, 'source ./.bootstrap-switch sideways; echo "rc=$?"');
      expect(bad).toContain('usage: source .bootstrap-switch [local|cloud]');
      expect(bad).toContain('rc=2');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
