/**
 * Wires one function instance: a Firestore client, the store on it, the shared registry
 * service and the HTTP handler. Everything an instance keeps between requests (the
 * client's connections, compiled schemas) lives here, once per cold start.
 */
import { Firestore } from '@google-cloud/firestore';
import { RegistryService } from '@cli-chat/bootstrap-api';
import type { HttpFunction } from '@google-cloud/functions-framework';
import type { FunctionsConfig } from './config.ts';
import { FirestoreStore } from './firestore-store.ts';
import { createHandler } from './handler.ts';
import { BACKEND_NAME } from './constants.ts';

export interface BootstrapFunction {
  handler: HttpFunction;
  store: FirestoreStore;
  /** Closes the Firestore client; for tests and the local runner (Cloud Functions just stops the instance). */
  close(): Promise<void>;
}

export function createBootstrapFunction(config: FunctionsConfig): BootstrapFunction {
  const db = new Firestore({
    ...(config.projectId !== undefined ? { projectId: config.projectId } : {}),
    // Plain-text to the emulator; the client then also sends the emulator's owner token.
    ...(config.emulatorHost !== undefined ? { host: config.emulatorHost, ssl: false } : {})
  });
  const store = new FirestoreStore(db, { initialConfig: config.initialConfig });
  const service = new RegistryService(store, { backend: BACKEND_NAME });
  return {
    handler: createHandler({ service, adminToken: config.adminToken }),
    store,
    close: () => db.terminate()
  };
}
