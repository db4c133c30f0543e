/**
 * Prints where the Firestore emulator is, or fails naming what is missing: CI runs this
 * before the tests, so a machine without the Google Cloud CLI's emulator (or the Java it
 * runs on) fails at once and says why, not minutes later inside a test.
 *
 *   node functions/src/dev/find-emulator.ts
 */
import { execFileSync } from 'node:child_process';
import { EmulatorError, findEmulatorBinary } from './firestore-emulator.ts';

try {
  const binary = findEmulatorBinary();
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore', timeout: 20_000 });
  } catch {
    throw new EmulatorError(`the Firestore emulator at ${binary} needs Java, and \`java -version\` failed: install a JRE (11 or later)`);
  }
  process.stdout.write(`Firestore emulator: ${binary}\n`);
} catch (err) {
  if (!(err instanceof EmulatorError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
