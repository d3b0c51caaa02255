/**
 * No library: the bench's floor for "a new tab has its token". One bare IndexedDB open + read of one record, the
 * least any IndexedDB-backed client must do before it can hand out a stored token. `signIn` stores the record
 * (the bench seeds it with a token response the size of a real one); a tab that finds it marks itself usable.
 */
import type { ModeDriver, Recorder } from '../recorder';

const DATABASE = 'bench-idb-floor';
const STORE = 'keyval';
const KEY = 'state';

function openDatabase(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function run<T>(db: IDBDatabase, mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = work(db.transaction(STORE, mode).objectStore(STORE));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

export async function startIdbFloor(recorder: Recorder): Promise<ModeDriver> {
  const db = await openDatabase();
  let record = (await run(db, 'readonly', (store) => store.get(KEY))) as { access_token?: string } | undefined;
  if (record?.access_token) recorder.markUsable();
  return {
    state: () => ({ status: record?.access_token ? 'authenticated' : 'signed-out', version: 0, leader: false, jti: null, signedOutReason: null }),
    tokenForCall: async () => null,
    getAccessToken: async () => record?.access_token ?? '',
    async signIn(body) {
      await run(db, 'readwrite', (store) => store.put(body, KEY));
      record = body as { access_token?: string };
    },
    async signOut() {
      await run(db, 'readwrite', (store) => store.delete(KEY));
      record = undefined;
    },
  };
}
