/**
 * Everything a peer reports, as one union. The terminal UI renders these, `--json`
 * prints them one per line, and scripts subscribe to them through `Peer.on`.
 */
import type { MemberEventType, MembershipServiceStats } from './membership/index.ts';
import type { ChatCounters } from './peer.ts';
import type { HistoryMessage } from './history/room-history.ts';

export type PeerEvent =
  | { type: 'ready', peerId: string, addrs: string[], nick: string, room: string | null, bootstrap: string, manual: boolean, ts: number }
  | { type: 'message', room: string, id: string, from: string, nick: string, text: string, ts: number }
  | { type: 'sent', room: string, id: string, text: string, ts: number }
  | { type: 'room-joined', room: string }
  | { type: 'room-left', room: string }
  | { type: 'peer-connected', peerId: string }
  | { type: 'peer-disconnected', peerId: string }
  | { type: 'bootstrap', state: 'registered' | 'full' | 'hosting' | 'unreachable' | 'refused' | 'left', url: string, message: string }
  | { type: 'membership', state: 'joined' | 'left', seeds: number, message: string }
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
  | { type: MemberEventType, peerId: string, nick: string, incarnation: number, ts: number }
  | { type: 'stats', ts: number, membership: MembershipServiceStats, chat: ChatCounters }
  | { type: 'info', message: string }
  | { type: 'error', message: string };

export type PeerEventType = PeerEvent['type'];
export type PeerListener = (event: PeerEvent) => void;
