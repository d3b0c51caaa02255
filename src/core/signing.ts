import type { Clock } from './clock';
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
    return this.claim((version) => ({ schema: 1, version, tokens, signedOutReason: null, updatedAt: this.clock.now() }));
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
  private async claim(build: (version: number) => StoredAuthState, userAction = true): Promise<StoredAuthState> {
    const { record, writeError } = await this.shared.claimAbove(build, userAction);
    this.sync.publish(record);
    if (writeError !== null && userAction && !this.peers.connected) {
      throw writeError instanceof StorageError ? writeError : new StorageError('The new state could not be stored or shared', { cause: writeError });
    }
    return record;
  }
}
