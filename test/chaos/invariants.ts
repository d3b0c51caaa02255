/**
 * The invariants a chaos run checks, each where it can be decided: a tab's state changes and sign-outs as they
 * happen, the server's reuse detection the moment it fires, failed token calls, closed tabs, and convergence after
 * the quiet tail. The token-leak search ('secret-leaked') is in leakCheck.ts.
 */
import { AuthError } from '../../src/core';
import { convergenceBoundMs } from './schedule';
import type { ChaosWorld, TabRecord } from './world';

export type InvariantName =
  | 'refresh-token-reused'
  | 'family-revoked'
  | 'signed-out-while-valid'
  | 'version-went-backwards'
  | 'unexpected-error'
  | 'no-convergence'
  | 'leaked-timers-or-listeners'
  | 'secret-leaked'
  | 'crash';

export interface Violation {
  invariant: InvariantName;
  /** Simulated ms from the start of the run. */
  at: number;
  /** Index of the last step applied when it was detected (-1: setup; steps.length: the quiet tail). */
  step: number;
  detail: string;
}

/** Errors a token call may end with under faults; anything else (invalid_grant above all) is a violation. */
const EXPECTED_ERRORS = new Set(['transient_refresh_failure', 'refresh_timeout', 'malformed_token_response', 'disposed', 'signed_out']);

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** version-went-backwards on every change of a tab's state; signed-out-while-valid where a tab decides a sign-out. */
export function watchTab(world: ChaosWorld, record: TabRecord): void {
  const { tab } = record;
  tab.client.subscribe(() => {
    const snapshot = tab.client.getSnapshot();
    if (snapshot.version < record.lastVersion) world.violate('version-went-backwards', `${tab.name}: ${record.lastVersion} -> ${snapshot.version}`);
    record.lastVersion = Math.max(record.lastVersion, snapshot.version);
    if (snapshot.tokens) record.family = world.familyOf(snapshot.tokens.accessToken);
  });
  tab.client.on((event) => {
    world.options.log?.(`${String(world.elapsed()).padStart(7)} ${tab.name} ${JSON.stringify(event)}`);
    if (event.type === 'signed-out' && event.source === 'this-tab' && (event.reason !== 'user' || world.userSignOuts === 0)) {
      // Legitimate only when the family the tab held is gone: revoked by a user's sign-out (or, in the
      // 'everything' profile, by reuse detection, which is its own violation in the recoverable profile). Checked
      // where the sign-out is decided; tabs that adopt it from another tab or from storage follow that decision.
      const family = record.family;
      const valid = family !== null && world.server.isFamilyValid(family);
      if (valid || (world.config.profile === 'recoverable' && (family === null || !world.revokedByUser.has(family)))) {
        world.violate('signed-out-while-valid', `${tab.name}: reason ${event.reason}, family ${valid ? 'valid' : 'revoked'}`);
      }
    }
  });
}

/**
 * refresh-token-reused and family-revoked (recoverable profile), reported the moment the server sees them: the step
 * that caused them is the one being applied. Also notes the families users revoked, which later checks allow for.
 */
export function watchServer(world: ChaosWorld): void {
  const { config, server } = world;
  let previousServerEvent = '';
  server.on((event) => {
    world.options.log?.(`${String(world.elapsed()).padStart(7)} server ${JSON.stringify(event)}`);
    if (event.type === 'revoked' && previousServerEvent === 'revocation' && event.familyId) world.revokedByUser.add(event.familyId);
    if (config.profile === 'recoverable') {
      if (event.type === 'reuse') world.violate('refresh-token-reused', `the server received a used refresh token (family ${event.familyId}, generation ${event.generation})`);
      // A family revoked by the revocation endpoint (a sign-out with revoke) is expected; by reuse detection it is not.
      if (event.type === 'revoked' && previousServerEvent !== 'revocation') world.violate('family-revoked', `family ${event.familyId} revoked after ${previousServerEvent}`);
    }
    previousServerEvent = event.type;
  });
}

/** unexpected-error and signed-out-while-valid for a token call that failed with `code`. */
export function checkTokenCallFailure(world: ChaosWorld, record: TabRecord, kind: string, code: string, error: unknown): void {
  const { config } = world;
  // A rejected token surfaces as an OAuthError: expected for a family the user revoked, and beyond the
  // recoverable envelope (after reuse); nothing else may.
  const revokedFamily = record.family !== null && world.revokedByUser.has(record.family);
  if (!EXPECTED_ERRORS.has(code) && !(code === 'oauth_error' && (config.profile === 'everything' || revokedFamily))) {
    world.violate('unexpected-error', `${record.tab.name} ${kind}: ${code}${error instanceof Error ? ` (${error.name}: ${error.message})` : ''}`);
  }
  if (code === 'signed_out' && world.userSignOuts === 0 && config.profile === 'recoverable') {
    world.violate('signed-out-while-valid', `${record.tab.name} ${kind}: SignedOutError without a user sign-out`);
  }
}

/** crash for a sign-in or sign-out that rejected with anything but 'disposed' (its tab closed meanwhile). */
export function checkUserActionFailure(world: ChaosWorld, what: string, error: unknown): void {
  if (!(error instanceof AuthError && error.code === 'disposed')) world.violate('crash', `${what} rejected: ${describeError(error)}`);
}

/** leaked-timers-or-listeners for a tab that was just closed. */
export async function checkClosedTab(world: ChaosWorld, record: TabRecord): Promise<void> {
  await world.sim.settle();
  // A revocation in flight is allowed to finish after dispose (best effort, bounded by its request timeout): its
  // timeout timer is the only one a closed tab may still have.
  const timers = record.tab.pendingTimers() - record.revoking;
  const listeners = record.tab.environment.listenerCount();
  if (timers > 0 || listeners > 0) world.violate('leaked-timers-or-listeners', `${record.tab.name} after close: ${timers} timers, ${listeners} listeners`);
}

/** leaked-timers-or-listeners once every tab is closed: no channel open, no timer left when their timeouts ran out. */
export async function checkEverythingReleased(world: ChaosWorld): Promise<void> {
  const { sim, clock } = world;
  if (sim.network.openChannels() !== 0) world.violate('leaked-timers-or-listeners', `${sim.network.openChannels()} channels open after every tab closed`);
  await sim.advance(15 * 60_000); // dead tabs' one-shot timers run out
  if (clock.pendingTimers() !== 0) world.violate('leaked-timers-or-listeners', `${clock.pendingTimers()} timers still pending 15 min after every tab closed`);
}

/** Null when every live tab and storage agree on the newest state; otherwise the class of the divergence. */
export async function divergence(world: ChaosWorld): Promise<string | null> {
  const tabs = [...world.liveRecords()].map((record) => record.tab.client.getSnapshot());
  const stored = await world.readStored();
  if (!stored?.tokens) {
    // Signed out: there is no pair to hold. A signed-out tab whose version lags (it missed a tombstone while it
    // was signed out already) is harmless: every write goes above the stored version.
    return tabs.every((snapshot) => snapshot.status === 'signed-out') ? null : 'tab-holds-pair-after-sign-out';
  }
  if (world.config.profile === 'recoverable' && !world.isNewest(stored)) return 'storage-not-newest';
  for (const snapshot of tabs) {
    if (snapshot.version !== stored.version) return snapshot.version < stored.version ? 'tab-behind-storage' : 'tab-ahead-of-storage';
    if (snapshot.status !== 'authenticated') return 'tab-signed-out-storage-signed-in';
    if (snapshot.tokens?.refreshToken !== stored.tokens.refreshToken) return 'tab-differs-from-storage';
    if (!world.server.validateAccessToken(snapshot.tokens.accessToken).valid) return 'access-token-invalid';
  }
  return null;
}

/** The detail of a no-convergence violation: the divergence's class first (shrinking keeps it), then every tab. */
export async function describeDivergence(world: ChaosWorld): Promise<string> {
  const stored = await world.readStored();
  const tabs = [...world.liveRecords()].map((record) => {
    const snapshot = record.tab.client.getSnapshot();
    const validation = snapshot.tokens ? world.server.validateAccessToken(snapshot.tokens.accessToken) : null;
    return `${record.tab.name}: v${snapshot.version} ${snapshot.status}${validation ? ` newest=${validation.newest} valid=${validation.valid}${validation.reason ? `(${validation.reason})` : ''}` : ''}${snapshot.isLeader ? ' leader' : ''}${snapshot.error ? ` error=${snapshot.error.code}` : ''}`;
  });
  return `${await divergence(world)}: not converged ${convergenceBoundMs(world.config) / 1000} s after the faults stopped; stored v${stored?.version ?? 0}${stored ? (stored.tokens ? ` newest=${world.isNewest(stored)}` : ' signed-out') : ''}; ${tabs.join('; ')}`;
}
