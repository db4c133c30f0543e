/**
 * Noise whose connections decrypt a message that arrived in pieces without first joining
 * the pieces into one buffer.
 *
 * `@chainsafe/libp2p-noise` 17 decrypts each message into a `dst` it cuts from the
 * ciphertext, `chunk.subarray(...)`, which copies whenever the message spans two of the
 * socket's reads. A Noise message is 65,537 bytes on the wire and a loopback read 64 KiB,
 * so nearly every message did: a file receiver copied every byte once more and spent a
 * tenth of its time there and in the garbage collector behind it. Node's cipher, which the
 * package uses for messages of 1,200 bytes and more, never writes into `dst` and takes the
 * pieces as they are. The package exports neither the stream class nor an option, so the
 * prototype of the first encrypted connection gets the rule below.
 */
import { noise as chainsafeNoise } from '@chainsafe/libp2p-noise';
import { Uint8ArrayList } from 'uint8arraylist';

/** Smallest message that goes through Node's cipher rather than the package's own (which needs one buffer). */
const NODE_CIPHER_MIN_BYTES = 1200;

/** Largest Noise message, tag included: one length-prefixed frame. */
const NOISE_MESSAGE_MAX_BYTES = 65535;

/** The connection fields the rule reads: private in the package, plain fields in its code. */
interface EncryptedConnection {
  handshake: { decrypt(ciphertext: Uint8Array | Uint8ArrayList, dst?: Uint8Array): Uint8Array | Uint8ArrayList };
  metrics?: { decryptedPackets: { increment(): void }, decryptErrors: { increment(): void } };
  decrypt(chunk: Uint8Array | Uint8ArrayList): Uint8ArrayList;
}

/** Whether `chunk` is one message in several buffers, which the package would join before decrypting. */
export function isSplitMessage(chunk: Uint8Array | Uint8ArrayList): chunk is Uint8ArrayList {
  if (chunk instanceof Uint8Array || chunk.byteLength < NODE_CIPHER_MIN_BYTES || chunk.byteLength > NOISE_MESSAGE_MAX_BYTES) return false;
  let pieces = 0;
  for (const _ of chunk) if (++pieces > 1) return true;
  return false;
}

const patched = new WeakSet<object>();

function install(connection: unknown): void {
  const proto = typeof connection === 'object' && connection !== null ? Object.getPrototypeOf(connection) as Partial<EncryptedConnection> | null : null;
  if (proto === null || patched.has(proto)) return;
  const original = proto.decrypt;
  if (typeof original !== 'function') {
    throw new Error('@chainsafe/libp2p-noise changed: its connection has no decrypt; see peer/src/node/noise-decrypt.ts');
  }
  proto.decrypt = function decryptWithoutJoining(this: EncryptedConnection, chunk) {
    if (!isSplitMessage(chunk)) return original.call(this, chunk);
    try {
      const plaintext = this.handshake.decrypt(chunk);
      this.metrics?.decryptedPackets.increment();
      return plaintext instanceof Uint8Array ? new Uint8ArrayList(plaintext) : plaintext;
    } catch (err) {
      this.metrics?.decryptErrors.increment();
      throw err;
    }
  };
  patched.add(proto);
}

/** The connection encrypter every node of ours uses: Noise with the decryption rule above. */
export function noise(...args: Parameters<typeof chainsafeNoise>): ReturnType<typeof chainsafeNoise> {
  const create = chainsafeNoise(...args);
  return (components) => {
    const encrypter = create(components);
    const secureInbound = encrypter.secureInbound.bind(encrypter);
    const secureOutbound = encrypter.secureOutbound.bind(encrypter);
    encrypter.secureInbound = async (connection, options) => {
      const secured = await secureInbound(connection, options);
      install(secured.connection);
      return secured;
    };
    encrypter.secureOutbound = async (connection, options) => {
      const secured = await secureOutbound(connection, options);
      install(secured.connection);
      return secured;
    };
    return encrypter;
  };
}
