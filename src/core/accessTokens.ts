import type { Clock } from './clock';
import { OAuthError, RefreshTimeoutError, SignedOutError } from './errors';
import type { RefreshTrigger } from './events';
import type { FollowerDuties } from './follower';
import type { LeaderDuties } from './leader';
import { isExpired, needsRefresh, type RefreshPolicy } from './refreshPolicy';
import type { TabState } from './tabState';
import type { StoredAuthState, TokenSet } from './types';

export type HeldTokens = { tokens: TokenSet; version: number };

/**
 * The tab's answer to "give me a valid access token": hand out the held pair while it is fresh, otherwise get a newer
 * one through the leader (this tab, or a follower request to another tab).
 */
export class AccessTokens {
  constructor(
    private readonly settings: { clock: Clock; policy: RefreshPolicy },
    private readonly parts: { state: TabState; leader: LeaderDuties; follower: FollowerDuties },
  ) {}

  /** A newer pair than `version`, from whichever side this tab is on now. */
  ensureFresh(version: number, force: boolean, trigger: RefreshTrigger): Promise<StoredAuthState | null> {
    const { state, leader, follower } = this.parts;
    return state.isLeader ? leader.refresh(version, force, trigger) : follower.request(version);
  }

  async get(): Promise<HeldTokens> {
    const { clock, policy } = this.settings;
    const { state } = this.parts;
    for (let round = 0; round < 3; round++) {
      const held = state.record;
      if (!held?.tokens) throw new SignedOutError();
      if (!needsRefresh(held.tokens, clock.now(), policy)) return { tokens: held.tokens, version: held.version };
      try {
        await this.ensureFresh(held.version, false, 'get-access-token');
      } catch (error) {
        // A proactive refresh failed but the old token still works: hand it out rather than failing the call.
        const still = state.record;
        if (still?.tokens && !isExpired(still.tokens, clock.now()) && !(error instanceof OAuthError && error.terminal)) {
          return { tokens: still.tokens, version: still.version };
        }
        throw error;
      }
      const current = state.record;
      if (current?.version === held.version && current.tokens && !isExpired(current.tokens, clock.now())) {
        return { tokens: current.tokens, version: current.version }; // The leader judged it still fresh.
      }
    }
    const current = state.record;
    if (current?.tokens && !isExpired(current.tokens, clock.now())) return { tokens: current.tokens, version: current.version };
    throw new RefreshTimeoutError('Could not obtain a fresh access token');
  }

  /**
   * For a 401: refreshes only if `rejectedVersion` is still the current version (otherwise returns the newer pair
   * without a network call). Without it, forces a refresh of the current version.
   */
  async refresh(rejectedVersion: number | undefined): Promise<HeldTokens> {
    const held = this.parts.state.record;
    if (!held?.tokens) throw new SignedOutError();
    const rejected = rejectedVersion ?? held.version;
    if (held.version > rejected) return { tokens: held.tokens, version: held.version };
    const record = await this.ensureFresh(rejected, true, 'rejected-token');
    if (!record?.tokens) throw new SignedOutError('Signed out while refreshing');
    return { tokens: record.tokens, version: record.version };
  }
}
