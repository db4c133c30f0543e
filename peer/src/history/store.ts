/**
 * The peer's local history: room messages (with their signed records, so they can be
 * handed to late joiners and verified there), direct messages, and the outbox of direct
 * messages waiting for their recipient. One SQLite file in the data directory.
 */
import { DatabaseSync } from './sqlite.ts';
import type { StatementSync } from 'node:sqlite';

export interface Retention {
  /** Messages kept per room and per direct conversation; older ones are deleted. */
  maxPerConversation: number;
  /** Messages older than this are deleted, in ms. */
  maxAgeMs: number;
}

/** One message of the local log. */
export interface HistoryEntry {
  id: string;
  kind: 'room' | 'dm';
  /** The room, for room messages; null for direct messages. */
  room: string | null;
  /** The author of a received message, the recipient of a sent direct message, us for our own room messages. */
  peer: string;
  outgoing: boolean;
  nick: string;
  text: string;
  ts: number;
}

/** A room message with the signed record it was verified from. */
export interface RoomEntry extends HistoryEntry {
  kind: 'room';
  room: string;
  record: Uint8Array | null;
}

/** A direct message waiting for its recipient. */
export interface OutboxEntry {
  id: string;
  peer: string;
  nick: string;
  text: string;
  ts: number;
}

interface Row {
  id: string;
  kind: 'room' | 'dm';
  room: string | null;
  peer: string;
  outgoing: number;
  nick: string;
  text: string;
  ts: number;
  record?: Uint8Array | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('room', 'dm')),
  room TEXT,
  peer TEXT NOT NULL,
  outgoing INTEGER NOT NULL,
  nick TEXT NOT NULL,
  text TEXT NOT NULL,
  ts INTEGER NOT NULL,
  record BLOB
) STRICT;
CREATE INDEX IF NOT EXISTS messages_room_ts ON messages (room, ts);
CREATE INDEX IF NOT EXISTS messages_kind_ts ON messages (kind, ts);
CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY,
  peer TEXT NOT NULL,
  nick TEXT NOT NULL,
  text TEXT NOT NULL,
  ts INTEGER NOT NULL
) STRICT;
`;

/** A conversation is a room, or the direct messages with one peer. */
const conversationOf = (e: { kind: 'room' | 'dm', room: string | null, peer: string }): string =>
  e.kind === 'room' ? `room:${e.room ?? ''}` : `dm:${e.peer}`;

function entryOf(row: Row): HistoryEntry {
  return { id: row.id, kind: row.kind, room: row.room, peer: row.peer, outgoing: row.outgoing === 1, nick: row.nick, text: row.text, ts: row.ts };
}

export class HistoryStore {
  private readonly db: DatabaseSync;
  private readonly retention: Retention;
  private readonly now: () => number;
  /** Rows per conversation, so pruning runs only when one has grown past its bound. */
  private readonly counts = new Map<string, number>();
  private readonly insert: StatementSync;
  private readonly queue: StatementSync;

  constructor(path: string, retention: Retention, now: () => number = Date.now) {
    this.db = new DatabaseSync(path);
    this.retention = retention;
    this.now = now;
    // WAL with NORMAL sync: a crash may lose the last messages, never corrupt the file.
    this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    this.db.exec(SCHEMA);
    this.insert = this.db.prepare(
      'INSERT OR IGNORE INTO messages (id, kind, room, peer, outgoing, nick, text, ts, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'
    );
    this.queue = this.db.prepare('INSERT OR IGNORE INTO outbox (id, peer, nick, text, ts) VALUES (?, ?, ?, ?, ?)');
    this.db.prepare('DELETE FROM messages WHERE ts < ?').run(this.now() - retention.maxAgeMs);
    const rows = this.db.prepare("SELECT kind, room, peer, COUNT(*) AS n FROM messages GROUP BY kind, CASE kind WHEN 'room' THEN room ELSE peer END")
      .all() as unknown as { kind: 'room' | 'dm', room: string | null, peer: string, n: number }[];
    for (const row of rows) this.counts.set(conversationOf(row), row.n);
    for (const [conversation] of this.counts) this.prune(conversation, retention.maxPerConversation);
  }

  /** Stores entries not stored yet (by ID) in one transaction; returns those that were new, in the order given. */
  add(entries: readonly (HistoryEntry & { record?: Uint8Array | null })[]): HistoryEntry[] {
    const added: HistoryEntry[] = [];
    this.db.exec('BEGIN');
    try {
      for (const e of entries) {
        const { changes } = this.insert.run(e.id, e.kind, e.room, e.peer, e.outgoing ? 1 : 0, e.nick, e.text, e.ts, e.record ?? null);
        if (changes === 0) continue;
        added.push(e);
        const conversation = conversationOf(e);
        this.counts.set(conversation, (this.counts.get(conversation) ?? 0) + 1);
      }
      this.db.exec('COMMIT');
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
    for (const conversation of new Set(added.map(conversationOf))) this.pruneIfOver(conversation);
    return added;
  }

  has(id: string): boolean {
    return this.db.prepare('SELECT 1 FROM messages WHERE id = ?').get(id) !== undefined;
  }

  /** The newest `limit` messages of a room, oldest first. */
  roomTail(room: string, limit: number): HistoryEntry[] {
    const rows = this.db.prepare('SELECT id, kind, room, peer, outgoing, nick, text, ts FROM messages WHERE kind = ? AND room = ? ORDER BY ts DESC, id DESC LIMIT ?')
      .all('room', room, limit) as unknown as Row[];
    return rows.reverse().map(entryOf);
  }

  /** Signed records of a room from `since` on (ms), at most `limit` of the newest, oldest first: a backlog answer. */
  roomRecords(room: string, since: number, limit: number): Uint8Array[] {
    const rows = this.db.prepare('SELECT record FROM messages WHERE kind = ? AND room = ? AND ts >= ? AND record IS NOT NULL ORDER BY ts DESC, id DESC LIMIT ?')
      .all('room', room, since, limit) as unknown as { record: Uint8Array }[];
    return rows.reverse().map((r) => r.record);
  }

  /** The newest timestamp stored for a room, or undefined. */
  newestTs(room: string): number | undefined {
    const row = this.db.prepare('SELECT MAX(ts) AS ts FROM messages WHERE kind = ? AND room = ?').get('room', room) as { ts: number | null } | undefined;
    return row?.ts ?? undefined;
  }

  /** The newest `limit` entries of the given rooms and of every direct conversation, oldest first. */
  recent(rooms: readonly string[], limit: number): HistoryEntry[] {
    const marks = rooms.map(() => '?').join(', ');
    const where = rooms.length === 0 ? "kind = 'dm'" : `(kind = 'dm' OR room IN (${marks}))`;
    const rows = this.db.prepare(`SELECT id, kind, room, peer, outgoing, nick, text, ts FROM messages WHERE ${where} ORDER BY ts DESC, id DESC LIMIT ?`)
      .all(...rooms, limit) as unknown as Row[];
    return rows.reverse().map(entryOf);
  }

  /** Queues a direct message for a recipient who could not be reached. */
  enqueue(entry: OutboxEntry): void {
    this.queue.run(entry.id, entry.peer, entry.nick, entry.text, entry.ts);
  }

  /** Direct messages waiting, oldest first; those for one peer when given. */
  outbox(peer?: string): OutboxEntry[] {
    const rows = peer === undefined
      ? this.db.prepare('SELECT id, peer, nick, text, ts FROM outbox ORDER BY ts, id').all()
      : this.db.prepare('SELECT id, peer, nick, text, ts FROM outbox WHERE peer = ? ORDER BY ts, id').all(peer);
    return rows as unknown as OutboxEntry[];
  }

  /** Removes a delivered message from the outbox; false if it was not there (delivered already). */
  dequeue(id: string): boolean {
    return this.db.prepare('DELETE FROM outbox WHERE id = ?').run(id).changes > 0;
  }

  close(): void {
    this.db.close();
  }

  /** Prunes a conversation once it is a tenth over its bound, so deletes run in batches, not per message. */
  private pruneIfOver(conversation: string): void {
    const limit = this.retention.maxPerConversation;
    if ((this.counts.get(conversation) ?? 0) > limit + Math.max(10, Math.floor(limit / 10))) this.prune(conversation, limit);
  }

  private prune(conversation: string, limit: number): void {
    const [kind, key] = [conversation.slice(0, conversation.indexOf(':')), conversation.slice(conversation.indexOf(':') + 1)];
    const column = kind === 'room' ? 'room' : 'peer';
    this.db.prepare(`DELETE FROM messages WHERE kind = ? AND ${column} = ? AND id NOT IN ` +
      `(SELECT id FROM messages WHERE kind = ? AND ${column} = ? ORDER BY ts DESC, id DESC LIMIT ?)`).run(kind, key, kind, key, limit);
    const row = this.db.prepare(`SELECT COUNT(*) AS n FROM messages WHERE kind = ? AND ${column} = ?`).get(kind, key) as { n: number };
    this.counts.set(conversation, row.n);
  }
}
