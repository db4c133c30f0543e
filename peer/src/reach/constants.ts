/**
 * The reachability protocol's name, version and every default, with the reason for each
 * (the protocol itself is specified in docs/reach.md).
 */

export const REACH_PROTOCOL = '/cli-chat/reach/1.0.0';
export const REACH_VERSION = 1;

/** Addresses one request may name: a peer's TCP listen addresses, one per interface and family. */
export const MAX_REQUEST_ADDRS = 8;
/** Longest address in a request; a TCP address with an IPv6 zone is well under it. */
export const MAX_ADDR_LENGTH = 256;
/** A request of MAX_REQUEST_ADDRS addresses of MAX_ADDR_LENGTH, with room for the JSON around them. */
export const MAX_REQUEST_BYTES = 3_072;
export const MAX_RESPONSE_BYTES = 4_096;

/**
 * Dial-backs one request may cost a helper: the requested addresses at the requester's IP,
 * plus that IP with the ports of the others (a router forwarding a port keeps its number).
 */
export const MAX_DIAL_BACKS = 4;
/** One dial-back: long enough for a TCP and Noise handshake across the internet; a NAT that drops the SYN takes all of it. */
export const DIAL_BACK_TIMEOUT_MS = 5_000;
/** A request from the asker's side: the dial-backs run at once, so one timeout and room for the answer. */
export const REQUEST_TIMEOUT_MS = 8_000;

/** Peers asked in one check: one answer decides, a few more cover a helper that cannot dial out. */
export const HELPERS_PER_CHECK = 3;
/** A settled verdict is checked again this often: a router restarted or a forward removed shows up within it. */
export const RECHECK_INTERVAL_MS = 10 * 60_000;
/** With nobody to ask, or no answer, asking again this soon (and at once when a new peer that can answer connects). */
export const RETRY_INTERVAL_MS = 30_000;

/**
 * What one requester may ask of us: two checks at once, then one every 30 s. A peer checks
 * every ten minutes, or on an address change; more is a peer using us to dial for it.
 */
export const PER_REQUESTER_LIMIT = { rate: 1 / 30, burst: 2 } as const;
/** What all requesters together may ask: bounds the dials a crowd can make us do. */
export const GLOBAL_LIMIT = { rate: 1, burst: 20 } as const;
/** Requesters whose buckets are remembered; the idlest is forgotten first. */
export const MAX_TRACKED_REQUESTERS = 1_024;
/** Dial-back requests answered at once; more are refused as busy. */
export const MAX_CONCURRENT_REQUESTS = 8;
