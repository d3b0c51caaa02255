import { monotonicNow, type Clock } from './clock';
import { StorageError } from './errors';
import type { Peers } from './peers';
import type { Freshness } from './refreshPolicy';
import type { RecordSync } from './recordSync';
import type { SharedRecord } from './sharedRecord';
import type { SignOutReason, StoredAuthState, TokenSet } from './types';

/**
 * Sign-in and sign-out: records built above whatever is stored (they always win over the record they replace, and
 * over any refresh that started before them), published to every tab. A sign-out keeps the version and drops the
 * token strings (a tombstone).
 */
export class Signing {
  constructor(
    private readonly shared: SharedRecord,
    private readonly sync: RecordSync,
    private readonly peers: Peers,
    private readonly clock: Clock,
    private readonly freshness: Freshness,
  ) {}

  signIn(received: TokenSet): Promise<StoredAuthState> {
    const tokens = this.freshness.stamp(received);
    // The pair's age counts from this call, not from when it is stored: the claim may wait seconds for storage (a
    // write that stalls behind a slow transaction), and a sign-in published 7.6 s after its call was trusted 7.6 s
    // too long, handed out 2.7 s after the server expired it (10 s tokens; found by the chaos runs, seed 18689).
    const calledAt = monotonicNow(this.clock);
    const ageMs = () => Math.max(0, monotonicNow(this.clock) - calledAt);
    return this.claim((version) => ({ schema: 1, version, tokens, signedOutReason: null, updatedAt: this.clock.now() }), true, ageMs);
  }

  async signOut(reason: SignOutReason): Promise<StoredAuthState> {
    const record = await this.claim(
      (version) => ({ schema: 1, version, tokens: null, signedOutReason: reason, updatedAt: this.clock.now() }),
      reason === 'user',
    );
    this.shared.deleteLease().catch(() => {});
    return record;
  }

  /**
   * Claims the next version and publishes the record. When storage refused it and no other tab can carry it either,
   * the action lives only in this tab's memory (still retried): a user's call rejects with the StorageError then.
   */
  private async claim(build: (version: number) => StoredAuthState, userAction = true, ageMs?: () => number): Promise<StoredAuthState> {
    const { record, writeError, superseded } = await this.shared.claimAbove(build, userAction);
    if (superseded) {
      // A later user action is what storage holds: this one was overtaken while its write waited (see claimAbove).
      this.shared.take({ state: record, corrupted: false });
      return record;
    }
    this.sync.publish(record, ageMs?.() ?? 0);
    if (writeError !== null && userAction && !this.peers.connected) {
      throw writeError instanceof StorageError ? writeError : new StorageError('The new state could not be stored or shared', { cause: writeError });
    }
    return record;
  }
}
