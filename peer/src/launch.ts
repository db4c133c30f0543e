/** What `npm start` and `npm run daemon` share: flags in, peer options out. */
import type { Logger } from 'pino';
import type { CliOptions } from './cli/args.ts';
import type { PeerOptions } from './peer.ts';

export function peerOptionsOf(opts: CliOptions, log: Logger): PeerOptions {
  return {
    nick: opts.nick,
    dataDir: opts.dataDir,
    listen: opts.listen,
    bootstrapUrl: opts.bootstrap,
    hostBootstrap: opts.hostBootstrap,
    mdns: opts.mdns,
    membershipProfile: opts.membershipProfile,
    room: opts.room,
    manual: opts.manual,
    historyLimit: opts.historyLimit,
    historyDays: opts.historyDays,
    backlog: opts.backlog,
    roomRateLimit: opts.roomRateLimit,
    maxFileSize: opts.maxFileSize,
    downloadsQuota: opts.downloadsQuota,
    relay: opts.relay,
    rememberMembers: opts.rememberMembers,
    rememberDays: opts.rememberDays,
    ...(opts.adminToken === undefined ? {} : { adminToken: opts.adminToken }),
    log
  };
}
