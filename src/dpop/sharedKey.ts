import type { WebLocksLike } from 'tabauth';
import type { DpopAlgorithm, DpopEvent } from 'tabauth';
import type { DpopKeyStore, StoredDpopKey } from './keyStore';
import type { DpopMessageBody } from './messages';
import { createKeyPair } from './proofs';

/**
 * One key per namespace, created once across all tabs. A key is a find-then-create, and two tabs that start at once
 * both find none: auth0-spa-js has exactly that race. Here:
 *
 * 1. a tab that has no key reads storage; a stored key is used as it is;
 * 2. finding none, it takes the Web Lock `tabauth:<ns>:dpop-key` and reads again inside it (the tab that held the
 *    lock before may just have stored one);
 * 3. only then it generates a key, and stores it by compare-and-set (`putIfAbsent`, one IndexedDB transaction): if
 *    a key got there first (a browser without Web Locks, or a tab whose lock request failed) it takes that one and
 *    drops its own.
 *
 * Every tab therefore ends with the stored key, whichever order they start in. A tab that finds none while another
 * creates it waits in the lock queue and then reads the key the other one stored.
 */
export interface SharedKeyOptions {
  store: DpopKeyStore;
  algorithm: DpopAlgorithm;
  lockName: string;
  locks: WebLocksLike | null;
  now: () => number;
  /** Registers real async work (key generation) with a simulated clock. */
  track: <T>(work: Promise<T>) => Promise<T>;
  post: (body: DpopMessageBody) => void;
  emit: (event: DpopEvent) => void;
}

export class SharedKey {
  private cached: StoredDpopKey | null = null;
  private loading: Promise<StoredDpopKey> | null = null;
  /** Moves on every invalidation, so that a load started before it cannot put back a key that was replaced. */
  private generation = 0;
  /** Id of the key another tab last announced: a load that ends with another id read a replaced key. */
  private announced: string | null = null;

  constructor(private readonly options: SharedKeyOptions) {}

  /** The key, from this tab's cache, else storage, else created (see above). */
  get(): Promise<StoredDpopKey> {
    if (this.cached) return Promise.resolve(this.cached);
    if (!this.loading) {
      const generation = this.generation;
      const loading = this.load().then((record) => {
        if (this.generation === generation && (this.announced === null || this.announced === record.id)) this.cached = record;
        return record;
      });
      this.loading = loading;
      const clear = () => {
        if (this.loading === loading) this.loading = null;
      };
      loading.then(clear, clear);
    }
    return this.loading;
  }

  /** The stored key, read now: what a refresh must be signed with. */
  async reread(): Promise<StoredDpopKey> {
    const stored = await this.options.store.read();
    if (stored) {
      if (this.cached?.id !== stored.id) this.cached = stored;
      return stored;
    }
    const held = this.cached;
    if (!held) return this.get();
    // The record vanished under a live session (storage cleared by hand): put back the key its tokens are bound to.
    const winner = await this.options.store.putIfAbsent(held);
    this.cached = winner;
    return winner;
  }

  /**
   * A login's key, kept pending beside the namespace's key: every tab goes on signing with the current key (the
   * session's refresh tokens are bound to it) until `promote` makes this one current. A login that is abandoned, or
   * that fails, therefore leaves the session alone; its pending key is dropped by a later login or the sign-out.
   */
  async newPendingForLogin(maxAgeMs: number): Promise<StoredDpopKey> {
    const record = await this.create();
    await this.options.store.addPending(record, maxAgeMs);
    this.options.emit({ type: 'dpop-key-created', reason: 'login', algorithm: record.algorithm });
    return record;
  }

  /** The key a login with that thumbprint exchanges its code with: pending, or already current; null once gone. */
  async forLogin(thumbprint: string): Promise<StoredDpopKey | null> {
    const pending = await this.options.store.readPending(thumbprint);
    if (pending) return pending;
    const current = await this.options.store.read();
    return current?.thumbprint === thumbprint ? current : null;
  }

  /**
   * Makes the pending key of that thumbprint the namespace's key for every tab. The caller does it after the code
   * exchange and before storing its tokens (signIn): a refresh never meets tokens bound to a key that is not stored.
   * False when that key is gone (a sign-out deleted it meanwhile).
   */
  async promote(thumbprint: string): Promise<boolean> {
    return this.locked(async () => {
      const { store } = this.options;
      const pending = await store.readPending(thumbprint);
      if (!pending) return (await store.read())?.thumbprint === thumbprint;
      await store.replace(pending);
      this.invalidate();
      this.cached = pending;
      this.options.post({ type: 'key-changed', id: pending.id });
      await store.removePending(thumbprint).catch(() => {}); // a leftover is dropped by the next login's clean-up
      return true;
    });
  }

  async delete(): Promise<void> {
    await this.locked(async () => {
      await this.options.store.delete();
      // Keys of logins still in progress go too: a sign-out ends them (their callbacks fail with dpop-key-changed).
      await this.options.store.deletePending();
      this.invalidate();
      this.options.post({ type: 'key-deleted' });
      this.options.emit({ type: 'dpop-key-deleted', source: 'this-tab' });
    });
  }

  /** Another tab changed or deleted the stored key. */
  received(message: DpopMessageBody): void {
    if (message.type === 'key-changed' && this.cached?.id !== message.id) {
      // A load in flight may be reading this very key (a tab that just created it): it is kept if it ends with it.
      this.announced = message.id;
      this.cached = null;
    }
    if (message.type === 'key-deleted') {
      this.invalidate();
      this.options.emit({ type: 'dpop-key-deleted', source: 'other-tab' });
    }
  }

  private invalidate(): void {
    this.generation++;
    this.announced = null;
    this.cached = null;
    this.loading = null;
  }

  private async load(): Promise<StoredDpopKey> {
    const { store, emit, post } = this.options;
    const found = await store.read();
    if (found) {
      emit({ type: 'dpop-key-adopted', source: 'storage' });
      return found;
    }
    return this.locked(async () => {
      const again = await store.read();
      if (again) {
        emit({ type: 'dpop-key-adopted', source: 'storage' });
        return again;
      }
      const record = await this.create();
      const winner = await store.putIfAbsent(record);
      if (winner.id === record.id) {
        emit({ type: 'dpop-key-created', reason: 'first-use', algorithm: record.algorithm });
        post({ type: 'key-changed', id: record.id });
      } else {
        emit({ type: 'dpop-key-adopted', source: 'race' });
      }
      return winner;
    });
  }

  private async create(): Promise<StoredDpopKey> {
    const { keyPair, thumbprint } = await this.options.track(createKeyPair(this.options.algorithm));
    return { schema: 1, id: randomId(), algorithm: this.options.algorithm, createdAt: this.options.now(), keyPair, thumbprint };
  }

  /**
   * Runs `work` under the Web Lock. A lock API that refuses the request (a sandboxed frame) leaves the
   * compare-and-set alone in charge, which still ends with one key.
   */
  private async locked<T>(work: () => Promise<T>): Promise<T> {
    const { locks, lockName } = this.options;
    if (!locks) return work();
    let entered = false;
    try {
      return await locks.request(lockName, { mode: 'exclusive' }, () => {
        entered = true;
        return work();
      });
    } catch (error) {
      if (entered) throw error;
      return work();
    }
  }
}

function randomId(): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}
