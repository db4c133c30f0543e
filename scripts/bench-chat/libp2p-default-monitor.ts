/**
 * Experiment only, for `bench-chat.ts --connection-monitor libp2p`: loaded into a chat peer
 * with `node --import`, it empties the peer's CONNECTION_MONITOR constant before the node is
 * created, so the peer runs libp2p's default connection monitor (a ping every 10 s, timeout
 * 5-60 s) instead of its own (CONNECTION_MONITOR, rarer: membership finds dead peers). ES
 * modules are instantiated once per URL, so createPeerNode reads this same, now empty,
 * object. Nothing in the peer changes.
 */
import { CONNECTION_MONITOR } from '../../peer/src/node/constants.ts';

const monitor = CONNECTION_MONITOR as { pingInterval?: number, pingTimeout?: unknown };
delete monitor.pingInterval;
delete monitor.pingTimeout;
