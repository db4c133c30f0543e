/**
 * Terminal colour: a stable colour per nick, dim system lines, red errors. Off when
 * NO_COLOR is set (no-color.org), when output is not a terminal, and with --json.
 */

/** Foreground colours for nicks; red is kept for errors. */
const NICK_COLOURS = [32, 33, 34, 35, 36, 92, 93, 94, 95, 96] as const;

export interface Style {
  nick(nick: string): string;
  dim(text: string): string;
  error(text: string): string;
}

export function colourWanted(output: { isTTY?: boolean }, json: boolean, env: NodeJS.ProcessEnv): boolean {
  const noColor = env.NO_COLOR;
  return !json && output.isTTY === true && (noColor === undefined || noColor === '');
}

/** FNV-1a: the same nick gets the same colour on every peer and in every run. */
export function nickColour(nick: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < nick.length; i++) {
    hash ^= nick.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return NICK_COLOURS[hash % NICK_COLOURS.length] as number;
}

const paint = (code: number, text: string): string => `\x1b[${code}m${text}\x1b[0m`;

export const PLAIN: Style = { nick: (n) => n, dim: (t) => t, error: (t) => t };

export const COLOURED: Style = {
  nick: (n) => paint(nickColour(n), n),
  dim: (t) => paint(2, t),
  error: (t) => paint(31, t)
};
