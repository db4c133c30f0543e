/**
 * The peer's command tree: every command a console user, a script or (later) the control
 * API can run, with one line of help each. The layers a peer walks through in order are
 * top-level words (`/bootstrap`, `/members`, `/join`), so `/help` reads as the architecture.
 */
import type { CommandNode } from './command-tree.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = typeof LOG_LEVELS[number];

/** Longest `/sleep`: scripts pause, they do not park a console for hours. */
export const MAX_SLEEP_SECONDS = 3600;

export type Action =
  | 'show-version' | 'show-peers' | 'show-members' | 'show-rooms' | 'show-bootstrap' | 'show-config'
  | 'show-stats' | 'show-processes' | 'show-reachability' | 'show-web' | 'whoami' | 'whois'
  | 'bootstrap-join' | 'bootstrap-leave' | 'bootstrap-list' | 'bootstrap-refill'
  | 'bootstrap-config' | 'bootstrap-config-max-peers' | 'bootstrap-config-ttl'
  | 'members-join' | 'members-leave'
  | 'join' | 'leave' | 'nick' | 'who' | 'msg' | 'history' | 'show-outbox'
  | 'send-file' | 'accept' | 'reject' | 'show-transfers'
  | 'log-status' | 'log-level' | 'log-on' | 'log-off'
  | 'execute' | 'echo' | 'sleep' | 'help' | 'quit' | 'detach' | 'shutdown';

/** Actions the console runs itself; every other one acts on the peer, wherever it runs. */
export const CONSOLE_ACTIONS = ['execute', 'echo', 'sleep', 'help', 'quit', 'detach', 'shutdown'] as const;
export type ConsoleAction = typeof CONSOLE_ACTIONS[number];
export type PeerAction = Exclude<Action, ConsoleAction>;

export function isPeerAction(action: Action): action is PeerAction {
  return !(CONSOLE_ACTIONS as readonly string[]).includes(action);
}

export const COMMAND_TREE: readonly CommandNode<Action>[] = [
  {
    word: 'show', help: 'show the state of this peer and what it knows of the network',
    children: [
      { word: 'version', help: 'versions of cli-chat, its runtime and its protocols', action: 'show-version' },
      { word: 'peers', help: 'open libp2p connections: peer ID, address and gossipsub score (graylisted: ignored)', action: 'show-peers' },
      { word: 'members', help: 'every member: state, nick, peer ID, address, incarnation, last RTT', action: 'show-members' },
      { word: 'rooms', help: 'joined rooms (the current one marked) and rooms other members are in', action: 'show-rooms' },
      { word: 'bootstrap', help: 'the bootstrap lease and the bootstrap set last received', action: 'show-bootstrap' },
      { word: 'config', help: 'the settings this peer runs with', action: 'show-config' },
      { word: 'stats', help: 'membership and chat counters: traffic, refused input, health, graylisted peers', action: 'show-stats' },
      { word: 'processes', help: "this peer's subsystems and their state", action: 'show-processes' },
      { word: 'reachability', help: 'whether other peers can dial this one: the verdict, the last dial-back check, checks answered for others', action: 'show-reachability' },
      { word: 'outbox', help: 'direct messages waiting for their recipient to be reachable', action: 'show-outbox' },
      { word: 'web', help: "a fresh one-time login link to the daemon's web page", action: 'show-web' },
      { word: 'transfers', help: 'file transfers under way and offers waiting for /accept or /reject', action: 'show-transfers' }
    ]
  },
  {
    word: 'bootstrap', help: 'layer 1: the bootstrap data API that hands out seed peers',
    children: [
      { word: 'join', help: 'register this peer (a signed lease, renewed) and fetch the bootstrap set', action: 'bootstrap-join' },
      { word: 'leave', help: 'remove this peer from the bootstrap set and stop renewing', action: 'bootstrap-leave' },
      { word: 'list', help: 'fetch and show the bootstrap set', action: 'bootstrap-list' },
      { word: 'refill', help: 'take the place of the newest entry if the set is full (the way in for a stale set)', action: 'bootstrap-refill' },
      {
        word: 'config', help: "show the API's maxPeers and lease TTL (needs the admin token)", action: 'bootstrap-config',
        children: [
          { word: 'max-peers', help: 'set the size of the bootstrap set (admin)', action: 'bootstrap-config-max-peers', args: [{ name: 'N', help: 'how many peers the set holds' }] },
          { word: 'ttl', help: 'set the lease length (admin)', action: 'bootstrap-config-ttl', args: [{ name: 'SECONDS', help: 'lease length in seconds' }] }
        ]
      }
    ]
  },
  {
    word: 'members', help: 'layer 2: the membership protocol (SWIM); alone, lists the members', action: 'show-members',
    children: [
      {
        word: 'join', help: 'join the membership through the bootstrap set, or through ADDR', action: 'members-join',
        args: [{ name: 'ADDR', help: 'a member\'s multiaddr ending in /p2p/PEER-ID', optional: true }]
      },
      { word: 'leave', help: 'leave the membership gracefully: every member reports member-left', action: 'members-leave' }
    ]
  },
  {
    word: 'join', help: 'layer 3: join ROOM (a gossipsub topic) and make it the current room', action: 'join',
    args: [{ name: 'ROOM', help: 'room name: letters, digits, . _ -', complete: 'rooms' }]
  },
  {
    word: 'leave', help: 'leave ROOM (default: the current room)', action: 'leave',
    args: [{ name: 'ROOM', help: 'a joined room', optional: true, complete: 'joined-rooms' }]
  },
  {
    word: 'who', help: "who is in ROOM (default: the current room): nick, state, peer ID", action: 'who',
    args: [{ name: 'ROOM', help: 'a room name', optional: true, complete: 'rooms' }]
  },
  {
    word: 'msg', help: 'send a direct message to MEMBER, acknowledged on delivery (queued while unreachable)', action: 'msg',
    args: [{ name: 'MEMBER', help: 'a nick, nick#abcd or a peer ID', complete: 'members' }, { name: 'TEXT', help: 'the message', rest: true }]
  },
  {
    word: 'send-file', help: 'send the file at PATH to MEMBER (their peer saves it in its downloads, asking first when large)', action: 'send-file',
    args: [{ name: 'MEMBER', help: 'a nick, nick#abcd or a peer ID', complete: 'members' }, { name: 'PATH', help: 'a file', rest: true, complete: 'paths' }]
  },
  {
    word: 'accept', help: 'accept a file offer waiting for a decision (/show transfers lists them)', action: 'accept',
    args: [{ name: 'ID', help: 'the offer\'s ID, or its start as shown' }]
  },
  {
    word: 'reject', help: 'refuse a file offer waiting for a decision; the sender is told', action: 'reject',
    args: [{ name: 'ID', help: 'the offer\'s ID, or its start as shown' }]
  },
  {
    word: 'history', help: 'the local log of your rooms and direct messages, newest N (default 20)', action: 'history',
    args: [{ name: 'N', help: 'how many messages', optional: true }]
  },
  { word: 'rooms', help: 'same as /show rooms', action: 'show-rooms' },
  { word: 'peers', help: 'same as /show peers', action: 'show-peers' },
  { word: 'stats', help: 'same as /show stats', action: 'show-stats' },
  { word: 'whoami', help: 'your nick, peer ID and addresses', action: 'whoami' },
  {
    word: 'whois', help: 'one member: state, peer ID, addresses, rooms, incarnation, RTT', action: 'whois',
    args: [{ name: 'MEMBER', help: 'a nick or a peer ID', complete: 'members' }]
  },
  { word: 'nick', help: 'change your nick (every member sees member-updated)', action: 'nick', args: [{ name: 'NAME', help: 'new nick' }] },
  {
    word: 'log', help: 'where logs go and how much; alone, shows the current setting', action: 'log-status',
    children: [
      { word: 'level', help: 'log this much and more severe', action: 'log-level', args: [{ name: 'LEVEL', help: 'log level', choices: LOG_LEVELS }] },
      {
        word: 'on', help: 'show logs in this console, or append them to FILE', action: 'log-on',
        args: [{ name: 'FILE', help: 'a file to append JSON log lines to', optional: true, complete: 'paths' }]
      },
      { word: 'off', help: 'stop logging', action: 'log-off' }
    ]
  },
  {
    word: 'execute', help: 'run the lines of FILE as if typed (# starts a comment; -/cmd may fail)', action: 'execute',
    args: [{ name: 'FILE', help: 'a script file', complete: 'paths' }]
  },
  { word: 'echo', help: 'print TEXT (for scripts)', action: 'echo', args: [{ name: 'TEXT', help: 'any text', optional: true, rest: true }] },
  {
    word: 'sleep', help: `wait SECONDS (for scripts, at most ${MAX_SLEEP_SECONDS})`, action: 'sleep',
    args: [{ name: 'SECONDS', help: 'how long, e.g. 1.5' }]
  },
  {
    word: 'help', help: 'list commands, or the commands under COMMAND', action: 'help',
    args: [{ name: 'COMMAND', help: 'command words, e.g. show or bootstrap config', optional: true, rest: true }]
  },
  { word: 'quit', help: 'leave the network gracefully and exit (attached to a daemon: same as /detach)', action: 'quit' },
  { word: 'detach', help: 'close this console and leave the daemon it is attached to running', action: 'detach' },
  { word: 'shutdown', help: 'stop the peer gracefully, daemon included, and exit (typed in full)', action: 'shutdown', whole: true }
];
