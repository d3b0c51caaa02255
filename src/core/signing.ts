import type { Clock } from './clock';
import type { RecordSync } from './recordSync';
import type { SharedRecord } from './sharedRecord';
import type { SignOutReason, StoredAuthState, TokenSet } from './types';

/**
 * Sign-in and sign-out: records built above whatever is stored (they always win over the record they replace),
 * published to every tab. A sign-out keeps the version and drops the token strings (a tombstone).
 */
export class Signing {
  constructor(
    private readonly shared: SharedRecord,
    private readonly sync: RecordSync,
    private readonly clock: Clock,
  ) {}

  async signIn(tokens: TokenSet): Promise<StoredAuthState> {
    const record = await this.shared.claimAbove((version) => ({ schema: 1, version, tokens, signedOutReason: null, updatedAt: this.clock.now() }));
    this.sync.publish(record);
    return record;
  }

  async signOut(reason: SignOutReason): Promise<StoredAuthState> {
    const record = await this.shared.claimAbove((version) => ({ schema: 1, version, tokens: null, signedOutReason: reason, updatedAt: this.clock.now() }));
    this.sync.publish(record);
    this.shared.deleteLease().catch(() => {});
    return record;
  }
}
