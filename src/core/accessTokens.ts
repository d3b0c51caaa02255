import type { Clock } from './clock';
import { OAuthError, RefreshTimeoutError, SignedOutError } from './errors';
import type { RefreshTrigger } from './events';
import type { FollowerDuties } from './follower';
import type { LeaderDuties } from './leader';
import type { Freshness, RefreshPolicy } from './refreshPolicy';
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
    private readonly parts: { state: TabState; leader: LeaderDuties; follower: FollowerDuties; freshness: Freshness },
  ) {}

  /** A newer pair than `version`, from whichever side this tab is on now. */
  ensureFresh(version: number, force: boolean, trigger: RefreshTrigger): Promise<StoredAuthState | null> {
    const { state, leader, follower, freshness } = this.parts;
    // A follower reports a 401 (or a pair the development tools marked expired, which stands for one): the leader
    // then refreshes even a pair it measures as fresh (see LeaderDuties.answer).
    const rejected = trigger === 'rejected-token' || freshness.isMarkedExpired();
    return state.isLeader ? leader.refresh(version, force, trigger) : follower.request(version, rejected);
  }

  async get(): Promise<HeldTokens> {
    const { state, freshness } = this.parts;
    for (let round = 0; round < 3; round++) {
      const held = state.record;
      if (!held?.tokens) throw new SignedOutError();
      if (!freshness.isDue()) return { tokens: held.tokens, version: held.version };
      let fresh: StoredAuthState | null;
      try {
        fresh = await this.ensureFresh(held.version, false, 'get-access-token');
      } catch (error) {
        // A proactive refresh failed but the old token still works: hand it out rather than failing the call.
        const still = state.record;
        if (still?.tokens && still === held && freshness.isUsable() && !(error instanceof OAuthError && error.terminal)) {
          return { tokens: still.tokens, version: still.version };
        }
        throw error;
      }
      const current = state.record;
      // A pair newer than the one we asked to replace was made for this call: take it even if this tab's clock
      // calls it due (a clock that disagrees with the leader's must not turn one call into several refreshes). But
      // not a pair whose age is only the wall-clock estimate of a record read from storage: its writer's clock may
      // be ahead, so "due" may well be "expired" (found by the chaos runs, seed 4151); the next round asks the
      // leader, which answers with its own measure of the pair's age, or refreshes it. Nor one about to expire: "made
      // for this call" may be a pair that arrived seconds ago while this call waited, its age short by the message's
      // delivery time (a token handed out 1 ms past its expiry; found by the chaos runs, seed 11).
      if (fresh?.tokens && fresh === current && fresh.version > held.version && !freshness.isNearlyExpired() && freshness.isMeasured()) {
        return { tokens: fresh.tokens, version: fresh.version };
      }
      if (current === held && current.tokens && freshness.isUsable()) {
        return { tokens: current.tokens, version: current.version }; // The leader judged it still fresh.
      }
    }
    const current = state.record;
    if (current?.tokens && freshness.isUsable()) return { tokens: current.tokens, version: current.version };
    throw new RefreshTimeoutError('Could not obtain a fresh access token');
  }

  /**
   * For a 401: refreshes only if `rejectedVersion` is still the current version (otherwise returns the newer pair
   * without a network call). Without it, forces a refresh of the current version. A version above the current one
   * means the current one; anything but a non-negative safe integer is a TypeError.
   */
  async refresh(rejectedVersion: number | undefined): Promise<HeldTokens> {
    const held = this.parts.state.record;
    if (!held?.tokens) throw new SignedOutError();
    const rejected = rejectedVersion === undefined ? held.version : Math.min(rejectedVersion, held.version);
    const { state, freshness } = this.parts;
    // A newer pair than the rejected one is handed out without a network call, unless it has expired itself.
    if (held.version > rejected) return freshness.isNearlyExpired() ? this.get() : { tokens: held.tokens, version: held.version };
    const record = await this.ensureFresh(rejected, true, 'rejected-token');
    if (!record?.tokens) throw new SignedOutError('Signed out while refreshing');
    // The refresh may end on a newer pair it found instead of making one, and that pair may have expired already (a
    // tab frozen for minutes mid-refresh wakes to a sign-in made meanwhile; found by the chaos runs, seed 14): then
    // get one that is not, as getAccessToken() would; the same for one about to expire (seed 11 again: a sign-in that
    // arrived while the refresh waited, handed out 0.5 s past its expiry). A record that is no longer the held one
    // says nothing about the pair the tab holds now: the refresh resolved with a pair the tab had already replaced
    // (seed 274: handed out 86 s after the server expired it, the tab knowing it expired), so ask again.
    if (record !== state.record || freshness.isNearlyExpired()) return this.get();
    return { tokens: record.tokens, version: record.version };
  }
}

/** Throws the TypeError `refresh({ rejectedVersion })` promises for anything but a version. */
export function assertRejectedVersion(value: unknown): void {
  if (value !== undefined && !(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) {
    throw new TypeError('refresh({ rejectedVersion }) must be a non-negative safe integer: the version of the pair the server rejected');
  }
}
