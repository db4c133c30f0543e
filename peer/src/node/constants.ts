/**
 * Every default of the peer's libp2p node, with the reason for each. The measurements
 * behind them are in LIBP2P-NOTES (one host, 2 cores, libp2p 3.3, gossipsub 17.1).
 */
import type { PeerScoreThresholds, TopicScoreParams } from './gossipsub.ts';

/**
 * libp2p allows 5 inbound connections per second per remote host by default. A cluster
 * on one host, or a seed that many peers join at once, comes from a single IP: with the
 * default only 5 of 29 simultaneous joiners got in.
 */
export const INBOUND_CONNECTION_THRESHOLD = 100;

/**
 * Connections still in their Noise/Yamux upgrade at once (libp2p default 10). Raised with
 * the threshold above so a burst of joiners waits in the handshake instead of being refused.
 */
export const MAX_INCOMING_PENDING_CONNECTIONS = 64;

/**
 * The connection monitor pings every connection on a new stream, and a peer holds one to
 * every member it probes: at libp2p's pace that was most of an idle peer's CPU, and under
 * load its timeouts aborted healthy connections. Finding crashed, frozen or cut-off peers
 * is membership's job (within seconds, closing their connections); the monitor is only a
 * backstop for a dead connection to a peer that is not a member.
 */
export const CONNECTION_MONITOR = {
  pingInterval: 600_000,
  pingTimeout: { minTimeout: 5_000, maxTimeout: 10_000 }
} as const;

/** How often mDNS asks the LAN who is there (the @libp2p/mdns default). Each answer may trigger a dial. */
export const MDNS_QUERY_INTERVAL_MS = 10_000;

/** Bound on one dial to a peer found by mDNS. */
export const DISCOVERY_DIAL_TIMEOUT_MS = 5_000;

/**
 * Gossipsub gives peers that share an IP a quadratic penalty beyond 10 of them, which
 * left a 13-node cluster on 127.0.0.1 with no mesh at all. Loopback is exempt: many peers
 * on one host is how this project is developed and tested.
 */
export const IP_COLOCATION_WHITELIST = ['127.0.0.1', '::1'];

/**
 * Mesh degree: half of gossipsub's defaults (D 6, Dlo 4, Dhi 12, Dout 2, Dscore 4, Dlazy 6).
 * A peer gets a copy of each message from about each mesh link, all but the first of them
 * duplicates that cost a decryption and a decode each. Three links plus gossip to three more
 * peers still reach a member whose copy was lost; the price is a slower repair when two
 * mesh links die at once, and a hop more across a big room.
 */
export const MESH_DEGREE = { D: 3, Dlo: 2, Dhi: 6, Dout: 1, Dscore: 2, Dlazy: 3 } as const;

/**
 * Peer score thresholds (gossipsub defaults, except PX, written out because the room
 * weights below are tuned against them):
 * - below gossipThreshold (-10) no gossip is exchanged with a peer,
 * - below publishThreshold (-50) we do not publish to it,
 * - below graylistThreshold (-80) everything it sends is dropped.
 * acceptPXThreshold is 0: gossipsub's default (10) is a score a seed never reaches in the
 * second after a newcomer joins it, which is exactly when the seed prunes its oversized
 * mesh and hands out other peers (PX). PX records are signed peer records, so the worst a
 * hostile pruner can do is make us dial real peers it chose.
 */
export const SCORE_THRESHOLDS: PeerScoreThresholds = {
  gossipThreshold: -10,
  publishThreshold: -50,
  graylistThreshold: -80,
  acceptPXThreshold: 0,
  opportunisticGraftThreshold: 3
};

/**
 * Score parameters of every room topic. A Reject from the topic validator feeds the
 * score only for topics listed in scoreParams.topics, so each joined room gets these.
 *
 * The invalid-message penalty (P4) is weight x counter^2 and the counter decays by 0.9
 * a second (to zero in about 22 s). One bad message costs 1 point: the sender is pruned
 * from our mesh for a while but stays far above every threshold, so its next valid
 * message is still accepted and forwarded by the peers it publishes to (its own mesh,
 * topped up to D subscribers above publishThreshold). Four quick ones cross
 * gossipThreshold; a steady one a second holds the counter near 10, i.e. -100: graylisted.
 *
 * A flood: each message an author sends us itself beyond its rate limit (chat/constants.ts,
 * 20 a second after a burst of 60) counts as one invalid message of that author, never of a
 * peer forwarding it, and counts at once (penalise() in gossipsub.ts). About ten such
 * messages graylist it: 10^2 = 100 > 80 + at most 10 of positive score. Its RPCs are then
 * dropped unread and it is pruned from the mesh, until the counter has decayed below 9.5
 * (0.5 s from 10, 7 s from 20); let back, it finds only what its bucket refilled meanwhile,
 * and a few messages later it is graylisted again. So a flooder at any rate gets through
 * what the limit lets any author send, and costs each neighbour the reading of its RPCs
 * and a few validations a second. Ten over the limit suffice: no weight needed changing.
 *
 * Mesh delivery penalties (P3, P3b) are off: a quiet chat room delivers nothing for
 * minutes, and gossipsub's default of 20 deliveries per window would graylist every
 * peer of every quiet room. Positive terms (time in mesh, first deliveries) each add at
 * most 10, capped at 10 overall by topicScoreCap.
 */
export const ROOM_TOPIC_SCORE_PARAMS: TopicScoreParams = {
  topicWeight: 1,
  timeInMeshWeight: 0.1,
  timeInMeshQuantum: 1_000,
  timeInMeshCap: 100,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.99,
  firstMessageDeliveriesCap: 20,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 100,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5_000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: -1,
  invalidMessageDeliveriesDecay: 0.9
};

/**
 * The cut-off (cut-off.ts): a peer that authors and sends us itself more than
 * CUT_OFF_FACTOR times a room's rate limit (40 a second, 120 at once, by default) is
 * disconnected and refused for CUT_OFF_MS. A graylisted flooder still costs its neighbours
 * the reading and decoding of everything it sends; a refused one costs a refused handshake
 * per redial. Twice the limit is nothing a person typing does, and the room limit already
 * drops everything between the two; a paste of more than 120 lines at once is cut off. At most CUT_OFF_MAX_PEERS peers are refused at once, the
 * oldest cut-off let back first.
 */
export const CUT_OFF_FACTOR = 2;
export const CUT_OFF_MS = 60_000;
export const CUT_OFF_MAX_PEERS = 1024;
