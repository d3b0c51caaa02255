import { UnsupportedEnvironmentError } from 'tabauth';
import type { CallbackFailure } from './errors';

/**
 * What one login attempt needs at its callback: kept in the tab's sessionStorage, so it survives the redirect to the
 * authorization server and back but no other tab (and no other browser) can complete it. Each attempt is keyed by
 * its `state`, read at most once (it is deleted before it is used), and refused after `maxAgeMs`.
 */
export interface LoginAttempt {
  schema: 1;
  state: string;
  /** null when the scope has no 'openid' (no ID token, so nothing to bind a nonce to). */
  nonce: string | null;
  codeVerifier: string;
  redirectUri: string;
  returnTo: string;
  mode: 'redirect' | 'popup';
  createdAt: number;
  /**
   * With DPoP: the thumbprint sent as `dpop_jkt` (the key the code is bound to). Absent without DPoP, and in attempts
   * saved before DPoP existed (the schema stays 1: the field is optional).
   */
  dpopJkt?: string;
}

export type TakeResult = { attempt: LoginAttempt } | { failure: Extract<CallbackFailure, 'unknown-state' | 'replayed' | 'expired-attempt'> };

/** How many completed states are remembered to tell a replayed callback from a forged one. */
const REMEMBERED = 20;

export interface AttemptStore {
  save(attempt: LoginAttempt): void;
  /** Removes the attempt of `state` and returns it, or says why there is none. */
  take(state: string): TakeResult;
  /** Deletes every pending attempt of this tab (their verifiers with them). */
  clear(): void;
}

export function createAttemptStore(options: { storage: () => Storage | null; prefix: string; maxAgeMs: number; now: () => number }): AttemptStore {
  const attemptPrefix = `${options.prefix}:attempt:`;
  const usedKey = `${options.prefix}:used`;

  const storage = (): Storage => {
    let store: Storage | null;
    try {
      store = options.storage();
    } catch {
      store = null; // sessionStorage throws SecurityError when storage is disabled
    }
    if (!store) throw new UnsupportedEnvironmentError('sessionStorage is not available: tabauth/oidc keeps each login attempt there');
    return store;
  };
  const attemptKeys = (store: Storage) => {
    const keys: string[] = [];
    for (let i = 0; i < store.length; i++) {
      const key = store.key(i);
      if (key?.startsWith(attemptPrefix)) keys.push(key);
    }
    return keys;
  };
  const readUsed = (store: Storage): Array<{ state: string; at: number }> => {
    try {
      const list = JSON.parse(store.getItem(usedKey) ?? '[]') as unknown;
      return Array.isArray(list) ? list.filter((entry) => typeof entry?.state === 'string' && typeof entry?.at === 'number') : [];
    } catch {
      return [];
    }
  };
  const expired = (attempt: LoginAttempt) => options.now() - attempt.createdAt > options.maxAgeMs;

  return {
    save(attempt) {
      const store = storage();
      // Old attempts (a login the user abandoned) go first: their verifiers have no use any more.
      for (const key of attemptKeys(store)) {
        const old = parse(store.getItem(key));
        if (!old || expired(old)) store.removeItem(key);
      }
      try {
        store.setItem(attemptPrefix + attempt.state, JSON.stringify(attempt));
      } catch {
        throw new UnsupportedEnvironmentError('sessionStorage refused the login attempt (quota or privacy settings)');
      }
    },
    take(state) {
      const store = storage();
      const key = attemptPrefix + state;
      const raw = store.getItem(key);
      store.removeItem(key); // single use, whatever happens next
      const attempt = parse(raw);
      if (!attempt || attempt.state !== state) {
        return { failure: readUsed(store).some((entry) => entry.state === state) ? 'replayed' : 'unknown-state' };
      }
      // Remembered only to name the error of a second visit; a used state is worth nothing to anyone.
      const used = [...readUsed(store).filter((entry) => options.now() - entry.at <= options.maxAgeMs), { state, at: options.now() }].slice(-REMEMBERED);
      try {
        store.setItem(usedKey, JSON.stringify(used));
      } catch {
        // Only the error name of a replay depends on it.
      }
      if (expired(attempt)) return { failure: 'expired-attempt' };
      return { attempt };
    },
    clear() {
      let store: Storage;
      try {
        store = storage();
      } catch {
        return;
      }
      for (const key of attemptKeys(store)) store.removeItem(key);
    },
  };
}

function parse(raw: string | null): LoginAttempt | null {
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Partial<LoginAttempt>;
    const ok =
      value?.schema === 1 &&
      typeof value.state === 'string' &&
      (value.nonce === null || typeof value.nonce === 'string') &&
      typeof value.codeVerifier === 'string' &&
      typeof value.redirectUri === 'string' &&
      typeof value.returnTo === 'string' &&
      (value.mode === 'redirect' || value.mode === 'popup') &&
      typeof value.createdAt === 'number' &&
      (value.dpopJkt === undefined || typeof value.dpopJkt === 'string');
    return ok ? (value as LoginAttempt) : null;
  } catch {
    return null;
  }
}
