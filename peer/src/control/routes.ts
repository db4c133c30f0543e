/**
 * The control API's route table: every endpoint once, with its schemas. The server
 * validates with them, the console's client calls through them, and the OpenAPI document
 * is made from them. Each console command that acts on the peer is a route of its own,
 * generated from the command tree, so the API can do whatever the console can.
 */
import Type from 'typebox';
import type { TSchema } from 'typebox';
import { COMMAND_TREE, isPeerAction } from '../cli/commands.ts';
import type { PeerAction } from '../cli/commands.ts';
import type { ArgSpec, CommandNode } from '../cli/command-tree.ts';
import { CONTROL_PREFIX, MAX_HISTORY_PAGE } from './constants.ts';
import { REACHABILITIES } from '../reach/index.ts';

const strict = { additionalProperties: false } as const;
/** Command arguments are words or a line of text: none is longer than a chat message's bound. */
const MAX_ARG_LENGTH = 8192;

export const ErrorResponse = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }, strict)
}, { ...strict, description: 'What went wrong; nothing changed' });

/** Peer events as `--json` prints them; their shapes are listed in the README. */
export const PeerEventSchema = Type.Object({ type: Type.String() }, { description: 'A peer event, as --json prints it' });

const Member = Type.Object({
  id: Type.String(),
  state: Type.String(),
  incarnation: Type.Number(),
  meta: Type.Object({ nick: Type.String(), rooms: Type.Array(Type.String()), version: Type.String(), addrs: Type.Array(Type.String()) }),
  rtt: Type.Optional(Type.Number()),
  since: Type.Optional(Type.Number())
});

export const StateResponse = Type.Object({
  peerId: Type.String(),
  nick: Type.String(),
  currentRoom: Type.Union([Type.String(), Type.Null()]),
  rooms: Type.Array(Type.String(), { description: 'Joined rooms, the current one last' }),
  knownRooms: Type.Array(Type.Object({ room: Type.String(), members: Type.Integer() }), { description: 'Rooms live members announce' }),
  members: Type.Array(Member),
  reachability: Type.Union(REACHABILITIES.map((r) => Type.Literal(r)), { description: 'Whether other peers can dial this one (docs/reach.md)' })
});

export const SayRequest = Type.Object({
  text: Type.String({ minLength: 1, maxLength: MAX_ARG_LENGTH }),
  room: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'A joined room; the current room when absent' }))
}, strict);
export const SayResponse = Type.Object({ room: Type.String(), id: Type.String(), ts: Type.Number() });

export const CommandResponse = Type.Object({
  events: Type.Array(PeerEventSchema, { description: 'What the command answered: info and stats events' })
});

export const HistoryQuery = Type.Object({
  room: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'One room; all rooms and direct messages when absent' })),
  limit: Type.Optional(Type.String({ pattern: `^[1-9][0-9]{0,${String(MAX_HISTORY_PAGE).length - 1}}$`, description: `Newest N, at most ${MAX_HISTORY_PAGE}` }))
}, strict);
export const HistoryResponse = Type.Object({
  messages: Type.Array(Type.Object({
    id: Type.String(), kind: Type.String(), room: Type.Union([Type.String(), Type.Null()]), peer: Type.String(),
    outgoing: Type.Boolean(), nick: Type.String(), text: Type.String(), ts: Type.Number()
  }), { description: 'Oldest first' })
});

export const ShutdownResponse = Type.Object({ stopping: Type.Literal(true) });

export const UploadQuery = Type.Object({
  member: Type.String({ minLength: 1, maxLength: 128, description: 'A nick, nick#abcd or a peer ID' }),
  name: Type.String({ minLength: 1, maxLength: 255, description: 'The file name offered to the recipient' })
}, strict);
export const UploadResponse = Type.Object({ id: Type.String(), name: Type.String(), size: Type.Integer() });
export const DownloadsResponse = Type.Object({
  files: Type.Array(Type.Object({ name: Type.String(), size: Type.Integer(), mtime: Type.Number() }), { description: 'Newest first' })
});
export const DownloadParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, strict);

export interface ControlRoute {
  method: 'GET' | 'POST';
  path: string;
  summary: string;
  body?: TSchema;
  query?: TSchema;
  /** Absent for the event stream, which answers text/event-stream, and downloads, which answer the file. */
  response?: TSchema;
  /** The body is the raw bytes of a file (application/octet-stream). */
  upload?: boolean;
}

export const routes = {
  state: { method: 'GET', path: `${CONTROL_PREFIX}/state`, summary: 'The peer: identity, rooms, members', response: StateResponse },
  events: { method: 'GET', path: `${CONTROL_PREFIX}/events`, summary: 'Server-sent events: every peer event as --json prints it, `ready` first' },
  say: { method: 'POST', path: `${CONTROL_PREFIX}/say`, summary: 'Send a line to a joined room', body: SayRequest, response: SayResponse },
  history: { method: 'GET', path: `${CONTROL_PREFIX}/history`, summary: 'Messages in the local history', query: HistoryQuery, response: HistoryResponse },
  shutdown: { method: 'POST', path: `${CONTROL_PREFIX}/shutdown`, summary: 'Stop the peer gracefully (others see member-left)', response: ShutdownResponse },
  upload: {
    method: 'POST', path: `${CONTROL_PREFIX}/files`, summary: 'Send the file in the body (application/octet-stream) to a member, as /send-file does',
    query: UploadQuery, response: UploadResponse, upload: true
  },
  downloads: { method: 'GET', path: `${CONTROL_PREFIX}/downloads`, summary: 'The files received, in the downloads directory', response: DownloadsResponse },
  download: { method: 'GET', path: `${CONTROL_PREFIX}/downloads/:name`, summary: 'One received file, as an attachment' }
} as const satisfies Record<string, ControlRoute>;

/** A console command as a route: its action, its words, and its arguments by name. */
export interface CommandRoute extends ControlRoute {
  method: 'POST';
  action: PeerAction;
  args: readonly ArgSpec[];
  body: TSchema;
}

/** `MEMBER` in the command tree is `member` in a request body. */
export function argName(spec: ArgSpec): string {
  return spec.name.toLowerCase();
}

function argSchema(spec: ArgSpec): TSchema {
  const options = { description: spec.help, minLength: 1, maxLength: MAX_ARG_LENGTH };
  const schema = spec.choices ? Type.Union(spec.choices.map((c) => Type.Literal(c)), { description: spec.help }) : Type.String(options);
  return spec.optional ? Type.Optional(schema) : schema;
}

function commandRoutes(): CommandRoute[] {
  const found = new Map<PeerAction, CommandRoute>();
  const visit = (nodes: readonly CommandNode[], path: string[]): void => {
    for (const node of nodes) {
      const words = [...path, node.word];
      const action = node.action as PeerAction | undefined;
      // Aliases (`/rooms`, `/show rooms`) share an action: the first path in the tree names it.
      if (action !== undefined && isPeerAction(action) && !found.has(action)) {
        const args = node.args ?? [];
        found.set(action, {
          method: 'POST',
          path: `${CONTROL_PREFIX}/commands/${action}`,
          summary: `/${words.join(' ')}${args.map((a) => ` ${a.optional ? `[${a.name}]` : a.name}`).join('')}: ${node.help}`,
          action,
          args,
          body: Type.Object(Object.fromEntries(args.map((a) => [argName(a), argSchema(a)])), strict),
          response: CommandResponse
        });
      }
      if (node.children) visit(node.children, words);
    }
  };
  visit(COMMAND_TREE, []);
  return [...found.values()];
}

export const COMMAND_ROUTES: readonly CommandRoute[] = commandRoutes();

/** The body of a command request from the arguments in the order the tree lists them. */
export function commandBody(route: CommandRoute, args: readonly string[]): Record<string, string> {
  const body: Record<string, string> = {};
  route.args.forEach((spec, i) => {
    const value = args[i];
    if (value !== undefined) body[argName(spec)] = value;
  });
  return body;
}

/** The arguments in tree order from a validated command body. */
export function commandArgs(route: CommandRoute, body: Record<string, string | undefined>): string[] {
  const args: string[] = [];
  for (const spec of route.args) {
    const value = body[argName(spec)];
    if (value === undefined) break;
    args.push(value);
  }
  return args;
}

export function commandRoute(action: PeerAction): CommandRoute {
  const route = COMMAND_ROUTES.find((r) => r.action === action);
  if (!route) throw new Error(`no route for action ${action}`);
  return route;
}
