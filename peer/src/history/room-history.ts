/**
 * A room's past, as the user sees it: on joining, what the local database holds, then
 * what one or two members of the room send (verified, merged without duplicates), then
 * the live messages that arrived meanwhile. Every room message is stored as it arrives.
 */
import type { Logger } from 'pino';
import type { ChatMessageEvent } from '../chat/index.ts';
import { MAX_CLOCK_SKEW_MS } from '../chat/constants.ts';
import type { MemberView } from '../membership/index.ts';
import type { PeerEvent } from '../events.ts';
import { BACKLOG_SOURCES, BACKLOG_WAIT_MS, BACKLOG_WINDOW_MS } from './constants.ts';
import type { Backlog } from './backlog.ts';
import type { VerifiedRecord } from './record.ts';
import type { HistoryEntry, HistoryStore } from './store.ts';

export interface RoomHistoryOptions {
  store: HistoryStore;
  backlog: Backlog;
  selfId: () => string;
  members: () => readonly MemberView[];
  /** Messages shown from the local database and asked of members on joining. */
  backlogCount: number;
  emit: (event: PeerEvent) => void;
  log: Logger;
  now?: () => number;
}

interface RoomState {
  joinedAt: number;
  /** Live messages held back until the backlog is shown. */
  held: ChatMessageEvent[];
  asked: Set<string>;
  inFlight: number;
  /** A member answered: nobody else is asked. */
  answered: boolean;
  timer: NodeJS.Timeout | undefined;
}

export type HistoryMessage = Pick<HistoryEntry, 'id' | 'nick' | 'text' | 'ts'> & { from: string };

export interface RoomHistoryStats {
  /** Entries members sent that failed verification. */
  rejected: number;
  /** Entries received from members and new to this peer. */
  merged: number;
}

const toMessage = (e: HistoryEntry): HistoryMessage => ({ id: e.id, from: e.peer, nick: e.nick, text: e.text, ts: e.ts });
const byTime = (a: { ts: number, id: string }, b: { ts: number, id: string }): number => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class RoomHistory {
  private readonly options: RoomHistoryOptions;
  private readonly now: () => number;
  private readonly rooms = new Map<string, RoomState>();
  private readonly counters: RoomHistoryStats = { rejected: 0, merged: 0 };

  constructor(options: RoomHistoryOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
  }

  stats(): RoomHistoryStats {
    return { ...this.counters };
  }

  /** A room was joined: show its local past, then ask members who announce it. */
  joined(room: string): void {
    if (this.rooms.has(room)) return;
    const { store, backlogCount, emit } = this.options;
    const local = store.roomTail(room, backlogCount);
    if (local.length > 0) emit({ type: 'history', room, source: 'local', peer: null, messages: local.map(toMessage), rejected: [] });
    const state: RoomState = { joinedAt: this.now(), held: [], asked: new Set(), inFlight: 0, answered: false, timer: undefined };
    this.rooms.set(room, state);
    for (const member of this.options.members()) this.memberSeen(member);
    // Nobody to ask yet: live messages wait a moment for one to show up, then flow.
    if (state.inFlight === 0) state.timer = setTimeout(() => this.release(room), BACKLOG_WAIT_MS);
  }

  left(room: string): void {
    const state = this.rooms.get(room);
    if (state?.timer !== undefined) clearTimeout(state.timer);
    this.rooms.delete(room);
  }

  stop(): void {
    for (const room of [...this.rooms.keys()]) this.left(room);
  }

  /** A live message: stored, then shown now or after the backlog. */
  live(message: ChatMessageEvent): void {
    this.store([{ ...message, outgoing: false }]);
    const state = this.rooms.get(message.room);
    if (state !== undefined && this.holding(state)) state.held.push(message);
    else this.show(message);
  }

  /** Our own message, as published. */
  sent(room: string, id: string, text: string, ts: number, nick: string, record: Uint8Array | undefined): void {
    this.store([{ room, id, from: this.options.selfId(), nick, text, ts, record: record ?? null, outgoing: true }]);
  }

  /** A member appeared or changed: if it is in a room still waiting for its backlog, ask it. */
  memberSeen(member: MemberView): void {
    if (member.id === this.options.selfId() || member.state !== 'alive') return;
    for (const room of member.meta.rooms) {
      const state = this.rooms.get(room);
      if (state === undefined || state.answered || state.asked.has(member.id)) continue;
      if (state.asked.size >= BACKLOG_SOURCES || this.now() - state.joinedAt > BACKLOG_WINDOW_MS) continue;
      state.asked.add(member.id);
      void this.fetch(room, state, member.id);
    }
  }

  private holding(state: RoomState): boolean {
    return state.inFlight > 0 || state.timer !== undefined;
  }

  private async fetch(room: string, state: RoomState, peer: string): Promise<void> {
    const { store, backlog, backlogCount, emit, log } = this.options;
    state.inFlight++;
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = undefined;
    try {
      // From a little before the newest message held: what was missed while away, with overlap the merge absorbs.
      const newest = store.newestTs(room);
      const since = newest === undefined ? 0 : Math.max(0, newest - MAX_CLOCK_SKEW_MS);
      const answer = await backlog.fetch(peer, room, since, backlogCount);
      if (this.rooms.get(room) !== state) return;
      state.answered = true;
      const added = this.store(answer.entries.map((e) => ({ ...e, outgoing: e.from === this.options.selfId() })));
      this.counters.rejected += answer.rejected.length;
      this.counters.merged += added.length;
      if (answer.rejected.length > 0) log.warn({ peer, room, rejected: answer.rejected.length }, `backlog from ${peer}: ${answer.rejected.length} entries failed verification`);
      if (added.length > 0 || answer.rejected.length > 0) {
        emit({ type: 'history', room, source: 'peer', peer, messages: added.sort(byTime).map(toMessage), rejected: answer.rejected });
      }
    } catch (err) {
      log.info({ peer, room, err }, `could not fetch the backlog of ${room} from ${peer}`);
    } finally {
      state.inFlight--;
      if (this.rooms.get(room) === state && !this.holding(state)) this.release(room);
    }
  }

  /** Shows the live messages held back, in arrival order. */
  private release(room: string): void {
    const state = this.rooms.get(room);
    if (state === undefined) return;
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = undefined;
    if (state.inFlight > 0) return;
    const held = state.held.splice(0);
    for (const message of held) this.show(message);
  }

  private show(message: ChatMessageEvent): void {
    const { record: _record, ...shown } = message;
    this.options.emit({ type: 'message', ...shown });
  }

  private store(entries: (Omit<VerifiedRecord, 'record'> & { record: Uint8Array | null, outgoing: boolean })[]): HistoryEntry[] {
    return this.options.store.add(entries.map((e) => ({
      id: e.id, kind: 'room', room: e.room, peer: e.from, outgoing: e.outgoing, nick: e.nick, text: e.text, ts: e.ts, record: e.record
    })));
  }
}
