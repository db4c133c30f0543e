/**
 * Everything a peer reports, as one union. The terminal UI renders these, `--json`
 * prints them one per line, and scripts subscribe to them through `Peer.on`.
 */
import type { MemberEventType, MembershipServiceStats } from './membership/index.ts';
import type { ChatCounters } from './peer.ts';
import type { HistoryMessage } from './history/room-history.ts';
import type { FileFailReason, FileTransferStats } from './files/index.ts';
import type { SeedSource } from './seeding/seed-source.ts';
import type { Reachability } from './reach/index.ts';

export type PeerEvent =
  | {
    type: 'ready', peerId: string, addrs: string[], nick: string, room: string | null, bootstrap: string, manual: boolean,
    reachability: Reachability, ts: number
  }
  | { type: 'reachability', reachability: Reachability, previous: Reachability, message: string }
  | { type: 'message', room: string, id: string, from: string, nick: string, text: string, ts: number }
  | { type: 'sent', room: string, id: string, text: string, ts: number }
  | { type: 'room-joined', room: string }
  | { type: 'room-left', room: string }
  | { type: 'peer-connected', peerId: string }
  | { type: 'peer-disconnected', peerId: string }
  | { type: 'bootstrap', state: 'registered' | 'full' | 'hosting' | 'unreachable' | 'refused' | 'left', url: string, message: string }
  | { type: 'membership', state: 'joined' | 'left', seeds: number, source: SeedSource | null, message: string }
  | {
    type: 'history', room: string, source: 'local' | 'peer', peer: string | null,
    messages: HistoryMessage[], rejected: { reason: string, message: string }[]
  }
  | { type: 'dm', id: string, from: string, nick: string, text: string, ts: number }
  | { type: 'dm-sent', id: string, to: string, toNick: string, text: string, ts: number }
  | { type: 'dm-delivered', id: string, to: string, toNick: string | null, queued: boolean }
  | { type: 'dm-queued', id: string, to: string, toNick: string, message: string }
  | { type: 'dm-failed', id: string, to: string, reason: string }
  | { type: 'rejected', from: string, room: string, reason: string, count: number }
  // Files. Sender: file-sending, maybe file-waiting, file-progress, then file-sent or file-failed.
  // Recipient: file-offered, file-progress once accepted, then file-received or file-failed.
  | { type: 'file-sending', id: string, to: string, toNick: string, name: string, size: number, mime: string }
  | { type: 'file-waiting', id: string, to: string, toNick: string, name: string, reason: string }
  | {
    type: 'file-offered', id: string, from: string, nick: string, name: string, size: number, mime: string,
    needsAccept: boolean, why: string[]
  }
  | { type: 'file-progress', id: string, peer: string, direction: 'send' | 'receive', name: string, bytes: number, size: number }
  | { type: 'file-sent', id: string, to: string, toNick: string, name: string, size: number, sha256: string }
  | { type: 'file-received', id: string, from: string, nick: string, name: string, path: string, size: number, mime: string, sha256: string }
  | { type: 'file-failed', id: string, peer: string, direction: 'send' | 'receive', name: string, reason: FileFailReason, message: string }
  | { type: MemberEventType, peerId: string, nick: string, incarnation: number, ts: number }
  | { type: 'stats', ts: number, membership: MembershipServiceStats, chat: ChatCounters, files: FileTransferStats }
  | { type: 'info', message: string }
  | { type: 'error', message: string };

export type PeerEventType = PeerEvent['type'];
export type PeerListener = (event: PeerEvent) => void;
