/**
 * Finds a member by what a person types: a nick, a full peer ID, or the end of one (as
 * shown, `…abcd1234`). Two members may share a nick, so an ambiguous name is refused
 * with the candidates rather than guessed.
 */
import type { MemberView } from './membership/index.ts';

export class MemberLookupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MemberLookupError';
  }
}

export function findMember(members: readonly MemberView[], name: string): MemberView {
  const byId = members.find((m) => m.id === name);
  if (byId) return byId;
  const tail = name.replace(/^…/, '');
  // `nick#abcd`, as members who share a nick are shown.
  const suffixed = /^(.+)#([1-9A-HJ-NP-Za-km-z]{4,})$/.exec(name);
  const found = members.filter((m) => m.meta.nick === name || (tail.length >= 6 && m.id.endsWith(tail)) ||
    (suffixed !== null && m.meta.nick === suffixed[1] && m.id.endsWith(suffixed[2] as string)));
  if (found.length === 1) return found[0] as MemberView;
  if (found.length === 0) throw new MemberLookupError(`no member is called ${name}; /members lists them`);
  const candidates = found.map((m) => `${m.meta.nick} (…${m.id.slice(-8)})`).join(', ');
  throw new MemberLookupError(`${name} is ambiguous: ${candidates}; use the peer ID`);
}
