/**
 * What a console needs of a peer, whether the peer runs in the console's own process or in
 * a daemon it is attached to: the peer's state to show and complete from, its events, and
 * the commands that act on it. The console is the same code over either link.
 */
import type { PeerEvent, PeerListener } from '../events.ts';
import type { Peer } from '../peer.ts';
import type { MemberView } from '../membership/index.ts';
import type { PeerAction } from '../cli/commands.ts';
import type { PeerActions } from './peer-actions.ts';

/** The peer's state as a console shows it: its prompt, nicks in messages, completions. */
export interface PeerView {
  peerId: string;
  nick: string;
  currentRoom: string | undefined;
  rooms: string[];
  /** Rooms live members announce, with how many are in each. */
  knownRooms: [string, number][];
  members: MemberView[];
}

export interface PeerLink {
  /** Where the peer is, for messages: "this process" or the daemon's socket. */
  readonly where: string;
  readonly attached: boolean;
  /** The latest view; a remote link keeps it fresh from the events it receives. */
  view(): PeerView;
  on(listener: PeerListener): () => void;
  /** Sends a line to the current room. */
  say(text: string): Promise<void>;
  /** Runs an action on the peer; resolves with what it answered, throws a CommandError when refused. */
  run(action: PeerAction, args: readonly string[]): Promise<PeerEvent[]>;
  /** Stops the peer gracefully. */
  shutdown(): Promise<void>;
}

export function viewOf(peer: Peer): PeerView {
  return {
    peerId: peer.peerId,
    nick: peer.nick,
    currentRoom: peer.currentRoom,
    rooms: peer.rooms(),
    knownRooms: [...peer.knownRooms()],
    members: peer.members()
  };
}

/** A peer in this process: the standalone console, and the daemon's own API handlers. */
export class LocalLink implements PeerLink {
  readonly where = 'this process';
  readonly attached = false;
  private readonly peer: Peer;
  private readonly actions: PeerActions;

  constructor(peer: Peer, actions: PeerActions) {
    this.peer = peer;
    this.actions = actions;
  }

  view(): PeerView {
    return viewOf(this.peer);
  }

  on(listener: PeerListener): () => void {
    return this.peer.on(listener);
  }

  async say(text: string): Promise<void> {
    await this.peer.send(text);
  }

  run(action: PeerAction, args: readonly string[]): Promise<PeerEvent[]> {
    return this.actions.run(action, args);
  }

  shutdown(): Promise<void> {
    return this.peer.stop();
  }
}
