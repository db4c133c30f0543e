/**
 * Ctrl-R reverse history search, as in bash and readline, as a pure state machine: a key
 * in, the new state and what the line editor should do out. Node's readline has history
 * but no search; line-editor.ts feeds keys here while a search is open.
 */

export interface SearchState {
  readonly query: string;
  /** Index into history (newest first) of the entry shown, or -1 if nothing matches. */
  readonly index: number;
  /** The line as it was when the search began, restored on cancel. */
  readonly original: string;
  readonly failed: boolean;
}

export interface Key {
  readonly sequence?: string;
  readonly name?: string;
  readonly ctrl?: boolean;
  readonly meta?: boolean;
}

export type SearchOutcome =
  | { readonly kind: 'searching', readonly state: SearchState }
  /** Put `line` in the editor and run it. */
  | { readonly kind: 'run', readonly line: string }
  /** Put `line` in the editor for editing, then handle `key` (if any) as usual. */
  | { readonly kind: 'edit', readonly line: string, readonly key?: Key }
  /** Give the line back as it was before the search. */
  | { readonly kind: 'cancel', readonly line: string };

/** The newest entry at or after `from` that contains `query`, or -1. */
export function findOlder(history: readonly string[], query: string, from: number): number {
  for (let i = Math.max(0, from); i < history.length; i++) {
    if ((history[i] as string).includes(query)) return i;
  }
  return -1;
}

export function startSearch(line: string): SearchState {
  return { query: '', index: -1, original: line, failed: false };
}

function shown(history: readonly string[], state: SearchState): string {
  return state.index >= 0 ? (history[state.index] as string) : state.original;
}

/** What the search line reads, as bash shows it. */
export function searchPrompt(history: readonly string[], state: SearchState): string {
  const label = state.failed ? 'failing reverse-i-search' : 'reverse-i-search';
  return `(${label})'${state.query}': ${state.index >= 0 ? history[state.index] : ''}`;
}

function requery(history: readonly string[], state: SearchState, query: string, from: number): SearchState {
  if (query === '') return { ...state, query, index: -1, failed: false };
  const found = findOlder(history, query, from);
  // bash keeps showing the last match while the query fails.
  return found >= 0 ? { ...state, query, index: found, failed: false } : { ...state, query, failed: true };
}

export function searchKey(history: readonly string[], state: SearchState, typed: string | undefined, key: Key): SearchOutcome {
  if (key.ctrl && key.name === 'r') {
    const from = state.index < 0 ? 0 : state.index + 1;
    if (state.query === '') return { kind: 'searching', state };
    const found = findOlder(history, state.query, from);
    return { kind: 'searching', state: found >= 0 ? { ...state, index: found, failed: false } : { ...state, failed: true } };
  }
  if (key.ctrl && (key.name === 'g' || key.name === 'c')) return { kind: 'cancel', line: state.original };
  if (key.name === 'return' || key.name === 'enter') return { kind: 'run', line: shown(history, state) };
  if (key.name === 'backspace') {
    const query = state.query.slice(0, -1);
    return { kind: 'searching', state: requery(history, state, query, 0) };
  }
  if (key.name === 'escape') return { kind: 'edit', line: shown(history, state) };
  const printable = typed !== undefined && typed.length > 0 && !key.ctrl && !key.meta && !/[\x00-\x1f\x7f]/.test(typed);
  if (printable) {
    const query = state.query + typed;
    // A longer query still matches the entry shown if it matched before: search from there.
    return { kind: 'searching', state: requery(history, state, query, Math.max(0, state.index)) };
  }
  // Any other key (arrows, Ctrl-A, Tab) ends the search on the match and then does its own job.
  return { kind: 'edit', line: shown(history, state), key };
}
