/**
 * Simulated members with realistic sizes: IDs shaped like Ed25519 libp2p peer IDs (52
 * base58 characters), two listen addresses, a nick, a room and a version, so that the
 * byte counts the simulator reports are the ones real peers would see.
 */
import type { MemberMeta } from '../member.ts';
import { seededRandom } from '../random.ts';

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function simulatedId(index: number, seed: number): string {
  const random = seededRandom((seed * 7919 + index * 104_729) | 0);
  let id = '12D3KooW';
  for (let i = 0; i < 44; i++) id += BASE58[Math.floor(random() * 58)];
  return id;
}

export function simulatedMeta(index: number): MemberMeta {
  const host = `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
  return {
    nick: `user${index}`,
    addrs: [`/ip4/${host}/tcp/${4001 + (index % 1000)}`, `/ip4/127.0.0.1/tcp/${4001 + (index % 1000)}`],
    rooms: ['lobby'],
    version: '0.1.0'
  };
}
