/** How events look in the terminal (the `--json` mode prints them as they are). */
import type { PeerEvent } from '../events.ts';
import type { MemberView, MembershipServiceStats } from '../membership/index.ts';
import type { ChatCounters } from '../peer.ts';
import type { HistoryEntry } from '../history/store.ts';
import type { FileTransferStats } from '../files/index.ts';
import type { ReachView } from '../reach/index.ts';
import { describeReachability } from '../reach/describe.ts';
import { formatBytes } from '../files/format.ts';
import { PLAIN } from './colour.ts';
import type { Style } from './colour.ts';

function clock(ts: number): string {
  return new Date(ts).toTimeString().slice(0, 8);
}

export function shortId(peerId: string): string {
  return peerId.length > 12 ? `…${peerId.slice(-8)}` : peerId;
}

/** A file transfer's ID as the console shows it: long enough to be unique, short enough to type after /accept. */
export function shortFileId(id: string): string {
  return id.slice(0, 8);
}

/** Why an offer waits, as the recipient's PendingReason says it. */
const WAIT_REASONS: Record<string, string> = {
  'not-member': 'the sender is not a member',
  'too-large': 'it is over the size limit',
  'over-quota': 'it would take the downloads over their quota'
};
const waitReason = (reason: string): string => WAIT_REASONS[reason] ?? reason;

/** How to name a message's author: its nick, or `nick#abcd` when members share the nick. */
export type NameOf = (peerId: string, nick: string) => string;

export function renderEvent(event: PeerEvent, currentRoom: string | undefined, style: Style = PLAIN,
  nameOf: NameOf = (_, nick) => nick): string | undefined {
  const text = renderText(event, currentRoom, style, nameOf);
  if (text === undefined || event.type === 'message' || event.type === 'sent' || event.type === 'info' || event.type === 'stats') return text;
  if (event.type === 'error') return style.error(text);
  // Membership news carries its time, like a message: when someone failed matters.
  return style.dim('ts' in event && event.type.startsWith('member-') ? `[${clock(event.ts)}] ${text}` : text);
}

function renderText(event: PeerEvent, currentRoom: string | undefined, style: Style, nameOf: NameOf): string | undefined {
  switch (event.type) {
    case 'message': {
      const where = event.room === currentRoom ? '' : `#${event.room} `;
      return `${style.dim(`[${clock(event.ts)}]`)} ${where}<${style.nick(nameOf(event.from, event.nick))}> ${event.text}`;
    }
    case 'sent': {
      const where = event.room === currentRoom ? '' : `#${event.room} `;
      return `${style.dim(`[${clock(event.ts)}]`)} ${where}<you> ${event.text}`;
    }
    case 'ready':
      return `* you are ${event.nick} (${event.peerId})\n* listening on ${event.addrs.join(', ')}\n` + (event.manual
        ? '* step by step: /bootstrap join, then /members join, then /join ROOM (/help explains each)'
        : '* type a line to chat, /help for commands');
    case 'room-joined':
      return `* joined #${event.room}`;
    case 'room-left':
      return `* left #${event.room}`;
    case 'peer-connected':
      return `* connected to ${shortId(event.peerId)}`;
    case 'peer-disconnected':
      return `* disconnected from ${shortId(event.peerId)}`;
    case 'bootstrap':
    case 'membership':
    case 'reachability':
      return `* ${event.message}`;
    case 'rejected':
      return undefined;
    case 'member-joined':
      return `* ${event.nick} (${shortId(event.peerId)}) joined the network`;
    case 'member-updated':
      return undefined;
    case 'member-suspect':
      return `* ${event.nick} (${shortId(event.peerId)}) is not answering`;
    case 'member-alive':
      return `* ${event.nick} (${shortId(event.peerId)}) is answering again`;
    case 'member-left':
      return `* ${event.nick} (${shortId(event.peerId)}) left`;
    case 'member-failed':
      return `* ${event.nick} (${shortId(event.peerId)}) failed`;
    case 'stats':
      return formatStats(event.membership, event.chat, event.files);
    case 'history': {
      const from = event.source === 'local' ? 'this peer\'s history' : `history from ${shortId(event.peer ?? '')}`;
      const lines = event.messages.map((m) => style.dim(`[${clock(m.ts)}] <${nameOf(m.from, m.nick)}> ${m.text}`));
      const refused = event.rejected.length === 0 ? '' : `, ${event.rejected.length} refused (${[...new Set(event.rejected.map((r) => r.reason))].join(', ')})`;
      return [style.dim(`-- #${event.room}: ${event.messages.length} messages from ${from}${refused} --`), ...lines,
        ...(event.messages.length > 0 ? [style.dim(`-- end of history of #${event.room} --`)] : [])].join('\n');
    }
    case 'dm':
      return `${style.dim(`[${clock(event.ts)}]`)} *${style.nick(nameOf(event.from, event.nick))}* ${event.text}`;
    case 'dm-sent':
      return `${style.dim(`[${clock(event.ts)}]`)} -> *${event.toNick}* ${event.text}`;
    case 'dm-delivered':
      return style.dim(`* delivered to ${event.toNick ?? shortId(event.to)}${event.queued ? ' (from the outbox)' : ''}`);
    case 'dm-queued':
      return `* ${event.message}`;
    case 'dm-failed':
      return `! a direct message to ${shortId(event.to)} failed: ${event.reason}`;
    case 'file-sending':
      return `* sending ${event.name} (${formatBytes(event.size)}) to ${event.toNick} [${shortFileId(event.id)}]`;
    case 'file-waiting':
      return `* ${event.toNick} is asked before taking ${event.name} [${shortFileId(event.id)}]: ${waitReason(event.reason)}`;
    case 'file-offered': {
      const what = `${event.name} (${formatBytes(event.size)}, ${event.mime})`;
      const id = shortFileId(event.id);
      if (!event.needsAccept) return `* receiving ${what} from ${nameOf(event.from, event.nick)} [${id}]`;
      return `* ${nameOf(event.from, event.nick)} offers ${what} [${id}]; it waits because ${event.why.map(waitReason).join(', and ')}: ` +
        `/accept ${id} or /reject ${id}`;
    }
    case 'file-progress': {
      const pct = event.size === 0 ? 100 : Math.floor((100 * event.bytes) / event.size);
      return `* ${event.name} [${shortFileId(event.id)}] ${event.direction === 'send' ? 'sent' : 'received'} ${pct}% ` +
        `(${formatBytes(event.bytes)} of ${formatBytes(event.size)})`;
    }
    case 'file-sent':
      return `* ${event.toNick} has ${event.name} (${formatBytes(event.size)}, SHA-256 checked) [${shortFileId(event.id)}]`;
    case 'file-received':
      return `* saved ${event.name} (${formatBytes(event.size)}, SHA-256 checked) from ${nameOf(event.from, event.nick)} at ${event.path}`;
    case 'file-failed':
      return `! ${event.direction === 'send' ? 'sending' : 'receiving'} ${event.name} [${shortFileId(event.id)}] failed (${event.reason}): ` +
        `${event.message}${event.direction === 'receive' ? '; nothing was kept' : ''}`;
    case 'info':
      return event.message;
    case 'error':
      return `! ${event.message}`;
  }
}

/** One line of `/history`. */
export function historyLine(e: HistoryEntry, names: ReadonlyMap<string, string>): string {
  const when = new Date(e.ts).toISOString().replace('T', ' ').slice(0, 19);
  const who = names.get(e.peer) ?? e.nick;
  if (e.kind === 'room') return `${when} #${e.room} <${e.outgoing ? 'you' : who}> ${e.text}`;
  return e.outgoing ? `${when} -> *${who}* ${e.text}` : `${when} *${who}* ${e.text}`;
}

/** `/show reachability`: the verdict, what the last check asked and each helper's answer, and what we did for others. */
export function reachabilityText(view: ReachView, now: number): string {
  const head = formatPairs({
    verdict: describeReachability(view.reachability).replace(/^reachability /, ''),
    addresses: view.addrs.length === 0 ? 'none of its own (TCP)' : view.addrs.join(' '),
    'last check': view.lastCheck === undefined ? 'none yet' : `${clock(view.lastCheck)}, next in ${Math.max(0, Math.round((view.nextCheck - now) / 1000))} s`,
    'for others': `${view.served.answered} checks answered, ${view.served.refused} refused; ${view.served.dialBacks} dial-backs, ${view.served.reached} reached`
  });
  const rows = view.answers.flatMap((a) => 'error' in a.results
    ? [[shortId(a.peerId), '', `no answer: ${a.results.error}`]]
    : a.results.map((r) => [shortId(a.peerId), r.addr, r.mapped ? `${r.result} (its IP, our port)` : r.result]));
  return rows.length === 0 ? head : `${head}\n${formatTable(['HELPER', 'ADDRESS', 'DIAL-BACK'], rows)}`;
}

/** Columns padded to their widest cell, two spaces apart. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** Aligned `key  value` lines. */
export function formatPairs(pairs: Record<string, string>): string {
  const width = Math.max(...Object.keys(pairs).map((k) => k.length));
  return Object.entries(pairs).map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** The /members table: one member a line, this peer marked. */
export function formatMembers(members: readonly MemberView[], self: string): string {
  const rows = members.map((m) => [
    m.id === self ? `${m.state}*` : m.state,
    m.meta.nick,
    shortId(m.id),
    m.meta.addrs[0] ?? '-',
    String(m.incarnation),
    m.rtt === undefined ? '-' : `${m.rtt.toFixed(1)} ms`
  ]);
  return formatTable(['STATE', 'NICK', 'PEER', 'ADDRESS', 'INC', 'RTT'], rows);
}

/** The /stats text: membership traffic since start, then what was refused or lost, then chat. */
export function formatStats(s: MembershipServiceStats, chat: ChatCounters, files: FileTransferStats): string {
  return [
    `membership sent      ${s.sentFrames} frames, ${s.sentBytes} bytes`,
    `membership received  ${s.receivedFrames} frames, ${s.receivedBytes} bytes`,
    `refused              ${s.badFrames} bad frames, ${s.rateLimitedFrames} over the rate limit, ${s.rejectedClaims} rejected claims`,
    `not sent             ${s.droppedSends} dropped (backpressure), ${s.unreachable} unreachable`,
    `self                 incarnation ${s.incarnation}, ${s.refutations} refutations, health ${s.health} (0 is healthy)`,
    `chat                 ${chat.sent} sent, ${chat.received} received, ${chat.rejected} rejected, ${chat.graylisted} peers graylisted, ${chat.cutOff} cut off`,
    `files                ${files.sent} sent, ${files.received} received, ${files.failed} failed, ${files.badOffers} bad offers, ${files.refused} refused`
  ].join('\n');
}

/** A member's new nick, as a line; undefined when its nick did not change. */
export function renderNickChange(before: string | undefined, event: { peerId: string, nick: string, ts: number }): string | undefined {
  if (before === undefined || before === event.nick) return undefined;
  return `[${clock(event.ts)}] * ${before} (${shortId(event.peerId)}) is now known as ${event.nick}`;
}
