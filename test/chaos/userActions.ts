/**
 * A user's sign-ins and sign-outs in a chaos run. Each is recorded in call order with its outcome: the last one that
 * resolved is what every tab must end on (see `checkUserActionsWon` in invariants.ts).
 */
import { checkUserActionFailure } from './invariants';
import type { ChaosWorld, TabRecord, UserAction } from './world';

/** A sign-in through `record`'s client with a new family on the server. */
export function userSignIn(world: ChaosWorld, record: TabRecord, subject: string): void {
  // The mock server issues no id token; a login response usually carries one, so the run adds one to check it too.
  const issued = { ...world.server.issueTokens({ subject, scope: 'openid offline_access' }), id_token: fakeIdToken(world.random) };
  world.collectSecrets(issued);
  const family = world.familyOf(issued.access_token);
  if (family)
    world.families.set(family, {
      mintedAt: world.clock.now(),
      earlyAge: null,
      earlyClockExplained: false,
      maker: record.tab.name,
      makerClockMs: world.skewOf(record.tab.name),
    });
  track(world, record, record.tab.client.signIn(issued), 'sign-in', family);
}

export function userSignOut(world: ChaosWorld, record: TabRecord, revoke: boolean): void {
  world.userSignOuts++;
  track(world, record, record.tab.client.signOut({ revoke }), 'sign-out', null);
}

function track(world: ChaosWorld, record: TabRecord, call: Promise<void>, kind: UserAction['kind'], family: string | null): void {
  const action: UserAction = {
    kind,
    tab: record.tab.name,
    at: world.elapsed(),
    family,
    writesFailing: world.writeFaulted.has(record.tab.name),
    outcome: 'pending',
  };
  world.userActions.push(action);
  call.then(
    () => {
      action.outcome = 'resolved';
    },
    (error: unknown) => {
      action.outcome = 'rejected';
      world.thrown.push(error);
      checkUserActionFailure(world, action, error);
    },
  );
}

function fakeIdToken(random: () => number): string {
  const part = (length: number) =>
    Array.from({ length }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[Math.floor(random() * 64)]).join('');
  return `eyJhbGciOiJSUzI1NiJ9.${part(60)}.${part(43)}`;
}
