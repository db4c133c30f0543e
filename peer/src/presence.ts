/**
 * Who is where, from membership metadata: every member announces its nick and rooms in its
 * signed claims. Nicks are not unique, so members who share one are shown apart by the end
 * of their peer ID wherever they appear.
 */
import type { MemberView } from './membership/index.ts';

/** Characters of the peer ID that tell two members with one nick apart. */
export const NICK_SUFFIX_LENGTH = 4;

const present = (m: MemberView): boolean => m.state === 'alive' || m.state === 'suspect';

/** The name to show for each present member: the nick, or `nick#abcd` when others share it. */
export function displayNames(members: readonly MemberView[]): Map<string, string> {
  const byNick = new Map<string, number>();
  for (const m of members) if (present(m)) byNick.set(m.meta.nick, (byNick.get(m.meta.nick) ?? 0) + 1);
  const names = new Map<string, string>();
  for (const m of members) {
    const shared = (byNick.get(m.meta.nick) ?? 0) > 1;
    names.set(m.id, shared ? `${m.meta.nick}#${m.id.slice(-NICK_SUFFIX_LENGTH)}` : m.meta.nick);
  }
  return names;
}

/** Present members who announce `room`, by nick. */
export function roomMembers(members: readonly MemberView[], room: string): MemberView[] {
  return members.filter((m) => present(m) && m.meta.rooms.includes(room))
    .sort((a, b) => a.meta.nick.localeCompare(b.meta.nick) || a.id.localeCompare(b.id));
}
