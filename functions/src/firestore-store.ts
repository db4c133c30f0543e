/**
 * The registry in Firestore: one document per registration, keyed by peer ID, and the
 * config in a document of its own.
 *
 * `update` is one Firestore transaction: it reads every registration and the config,
 * runs the policy's pure `decide`, and writes only what the decision changes. Firestore
 * transactions are serializable and the client retries a transaction that lost a
 * conflict with fresh reads, so two joins racing for the last place cannot both see it
 * free, and no concurrent write is lost. Renewals, the steady-state traffic, each write
 * only their own document, so there is no single hot document to queue behind.
 *
 * Expired leases are never answered (the policy filters every read by `expiresAt`, and
 * `entries` asks Firestore for live ones only) and are deleted by the next transaction
 * that sees them, so they cost storage only until the next join, refill or leave.
 *
 * An instance runs its own transactions one at a time. Every join, refill and leave reads
 * the whole set, so any two in flight conflict, and the client library retries the loser
 * after an exponential backoff (1 s growing by half each time, up to a minute): twenty
 * requests at once on one instance had their last answer after more than a minute on the
 * emulator. Queued, they only wait for each other's commits; instances of one deployment
 * still contend with each other, and Firestore's retries keep that correct.
 */
import { isLive } from '@cli-chat/bootstrap-api';
import type { Config, ConfigPatch, Decision, Registration, RegistryStore } from '@cli-chat/bootstrap-api';
import PQueue from 'p-queue';
import type {
  CollectionReference, DocumentReference, Firestore, FirestoreDataConverter, QueryDocumentSnapshot
} from '@google-cloud/firestore';
import { CONFIG_DOCUMENT, REGISTRATIONS_COLLECTION, TRANSACTION_MAX_ATTEMPTS } from './constants.ts';

/** Firestore allows at most 500 writes in one batch. */
const DELETE_BATCH = 500;

export interface FirestoreStoreOptions {
  /** The config while no config document exists yet. */
  initialConfig: Config;
  now?: () => number;
}

/** Only the fields of a registration, whatever else a document may have gained. */
const registrationConverter: FirestoreDataConverter<Registration> = {
  toFirestore: (r: Registration) => ({
    peerId: r.peerId, addrs: r.addrs, record: r.record, seq: r.seq, registeredAt: r.registeredAt, expiresAt: r.expiresAt
  }),
  fromFirestore: (snapshot: QueryDocumentSnapshot) => {
    const d = snapshot.data();
    return {
      peerId: snapshot.id, addrs: d.addrs, record: d.record, seq: d.seq, registeredAt: d.registeredAt, expiresAt: d.expiresAt
    } as Registration;
  }
};

const configConverter: FirestoreDataConverter<Config> = {
  toFirestore: (c: Config) => ({ maxPeers: c.maxPeers, ttlMs: c.ttlMs }),
  fromFirestore: (snapshot: QueryDocumentSnapshot) => {
    const d = snapshot.data();
    return { maxPeers: d.maxPeers, ttlMs: d.ttlMs } as Config;
  }
};

export class FirestoreStore implements RegistryStore {
  private readonly db: Firestore;
  private readonly registrations: CollectionReference<Registration>;
  private readonly configDoc: DocumentReference<Config>;
  private readonly initialConfig: Config;
  private readonly now: () => number;
  private readonly transactions = new PQueue({ concurrency: 1 });

  constructor(db: Firestore, options: FirestoreStoreOptions) {
    this.db = db;
    this.registrations = db.collection(REGISTRATIONS_COLLECTION).withConverter(registrationConverter);
    this.configDoc = db.doc(CONFIG_DOCUMENT).withConverter(configConverter);
    this.initialConfig = { ...options.initialConfig };
    this.now = options.now ?? Date.now;
  }

  async update<R>(decide: (entries: readonly Registration[], config: Config) => Decision<R>): Promise<R> {
    return this.transactions.add(() => this.db.runTransaction(async (tx) => {
      // One read after the other: the first read starts the transaction.
      const entries = (await tx.get(this.registrations)).docs.map((d) => d.data());
      const config = (await tx.get(this.configDoc)).data() ?? this.initialConfig;
      // An ApiError thrown by the policy ends the transaction without a retry or a write.
      const decision = decide(entries, { ...config });
      const put = new Set(decision.put.map((r) => r.peerId));
      for (const peerId of new Set(decision.remove)) {
        if (!put.has(peerId)) tx.delete(this.registrations.doc(peerId));
      }
      for (const r of decision.put) tx.set(this.registrations.doc(r.peerId), r);
      return decision.result;
    }, { maxAttempts: TRANSACTION_MAX_ATTEMPTS }));
  }

  /** Live registrations only: Firestore filters on `expiresAt` (a single-field index it keeps by default). */
  async entries(): Promise<Registration[]> {
    const snapshot = await this.registrations.where('expiresAt', '>', this.now()).get();
    return snapshot.docs.map((d) => d.data());
  }

  async config(): Promise<Config> {
    return (await this.configDoc.get()).data() ?? { ...this.initialConfig };
  }

  /** In a transaction, so two admins changing different fields at once both keep their change. */
  async setConfig(patch: ConfigPatch): Promise<Config> {
    return this.transactions.add(() => this.db.runTransaction(async (tx) => {
      const current = (await tx.get(this.configDoc)).data() ?? this.initialConfig;
      const next: Config = { ...current, ...patch };
      tx.set(this.configDoc, next);
      return next;
    }, { maxAttempts: TRANSACTION_MAX_ATTEMPTS }));
  }

  /**
   * Deletes every registration in batches and counts the live ones (expired ones were
   * already gone for every client). Not one transaction: a set of up to 1000 peers plus
   * expired leftovers can exceed a transaction's 500 writes, and a join racing a reset
   * may rightly survive it.
   */
  async clear(): Promise<number> {
    const now = this.now();
    let live = 0;
    for (;;) {
      const page = await this.registrations.limit(DELETE_BATCH).get();
      if (page.empty) return live;
      const batch = this.db.batch();
      for (const doc of page.docs) {
        if (isLive(doc.data(), now)) live++;
        batch.delete(doc.ref);
      }
      await batch.commit();
    }
  }
}
