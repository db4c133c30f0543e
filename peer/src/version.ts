/** The peer's version: package.json is its one source. */
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
