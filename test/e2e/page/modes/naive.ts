/**
 * The 'naive' baseline: what most hand-written code does. Every tab refreshes on its own, over storage shared by
 * all tabs (localStorage), with the same refresh policy as tabauth and no cross-tab lock or leader.
 *
 * It is given the usual good practices so that the comparison is fair, not a straw man:
 * - the shared cache is checked right before refreshing (another tab may have refreshed already);
 * - one refresh in flight per tab;
 * - a new pair written by another tab is adopted at once (`storage` event);
 * - on invalid_grant the tab re-reads storage and adopts a pair another tab obtained meanwhile, and only signs out
 *   when there is none;
 * - transient failures are retried after 1 s.
 * What it lacks is exactly what tabauth adds: mutual exclusion among the tabs.
 */
import { jwtId, type PageConfig } from '../api';
import { dueAtOf, expiresAtOf, type ModeDriver, type Recorder } from '../recorder';

interface NaivePair {
  accessToken: string;
  refreshToken: string;
  expiresAt: number | null;
  receivedAt: number;
  version: number;
}

interface NaiveRecord {
  pair: NaivePair | null;
  signedOutReason: string | null;
}

export function startNaive(config: PageConfig, recorder: Recorder): ModeDriver {
  const key = `naive:${config.namespace}:pair`;
  let current: NaivePair | null = null;
  let signedOutReason: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let inflight: Promise<void> | null = null;

  const dueAt = (pair: NaivePair) => dueAtOf(pair.receivedAt, pair.expiresAt, config.leewayMs, config.ratio);
  const parse = (raw: string | null): NaiveRecord => {
    if (!raw) return { pair: null, signedOutReason: null };
    try {
      return JSON.parse(raw) as NaiveRecord;
    } catch {
      return { pair: null, signedOutReason: null };
    }
  };
  const read = () => parse(localStorage.getItem(key));
  const write = (record: NaiveRecord) => localStorage.setItem(key, JSON.stringify(record));

  const setCurrent = (pair: NaivePair | null, source: 'this-tab' | 'storage' | 'sign-in', reason: string | null) => {
    const had = current !== null;
    current = pair;
    signedOutReason = pair ? null : reason;
    if (pair) {
      recorder.hold(pair.accessToken, pair.version, source, pair.expiresAt, dueAt(pair));
      recorder.markUsable();
    } else if (had && reason !== 'user') {
      recorder.forcedSignOuts++;
    }
    schedule();
  };

  function schedule() {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (!current) return;
    const due = dueAt(current);
    if (due === null) return;
    timer = setTimeout(() => void refreshIfDue(), Math.max(0, due - Date.now()));
  }

  const refreshIfDue = (): Promise<void> => {
    if (inflight) return inflight;
    inflight = (async () => {
      // Shared cache check: another tab may already have refreshed.
      const latest = read();
      if ((latest.pair?.refreshToken ?? null) !== (current?.refreshToken ?? null)) {
        setCurrent(latest.pair, 'storage', latest.signedOutReason);
      }
      const base = current;
      if (!base) return;
      const due = dueAt(base);
      if (due !== null && Date.now() < due) return;
      const call = recorder.startRefresh(base.version);
      let response: Response;
      try {
        response = await fetch(config.tokenEndpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: base.refreshToken, client_id: config.clientId }),
        });
      } catch (error) {
        call.outcome = 'error';
        recorder.error(error);
        timer = setTimeout(() => void refreshIfDue(), 1000);
        return;
      }
      const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
      if (response.ok && typeof body.access_token === 'string' && typeof body.refresh_token === 'string') {
        call.outcome = 'ok';
        recorder.receive(body.access_token);
        const receivedAt = Date.now();
        const pair: NaivePair = {
          accessToken: body.access_token,
          refreshToken: body.refresh_token,
          expiresAt: expiresAtOf(body, receivedAt),
          receivedAt,
          version: base.version + 1,
        };
        write({ pair, signedOutReason: null });
        setCurrent(pair, 'this-tab', null);
        return;
      }
      if (body.error === 'invalid_grant') {
        call.outcome = 'invalid_grant';
        recorder.invalidGrants++;
        const again = read();
        if (again.pair && again.pair.refreshToken !== base.refreshToken) {
          setCurrent(again.pair, 'storage', null); // another tab won the race
          return;
        }
        write({ pair: null, signedOutReason: 'refresh-rejected' });
        setCurrent(null, 'this-tab', 'refresh-rejected');
        return;
      }
      call.outcome = 'error';
      recorder.error(new Error(`token endpoint HTTP ${response.status}`));
      timer = setTimeout(() => void refreshIfDue(), 1000);
    })().finally(() => {
      inflight = null;
    });
    return inflight;
  };

  window.addEventListener('storage', (event) => {
    if (event.key !== key) return;
    const record = parse(event.newValue);
    setCurrent(record.pair, 'storage', record.signedOutReason);
  });

  const initial = read();
  if (initial.pair) setCurrent(initial.pair, 'storage', null);
  else signedOutReason = initial.signedOutReason;

  const tokenForCall = async () => {
    if (current) {
      const due = dueAt(current);
      if (due !== null && Date.now() >= due) await refreshIfDue();
    }
    return current ? { token: current.accessToken, version: current.version } : null;
  };

  return {
    state: () => ({
      status: current ? 'authenticated' : 'signed-out',
      version: current?.version ?? 0,
      leader: false,
      jti: current ? jwtId(current.accessToken) : null,
      signedOutReason,
    }),
    tokenForCall,
    async getAccessToken() {
      const held = await tokenForCall();
      if (!held) throw new Error('signed out');
      return held.token;
    },
    async signIn(body) {
      const receivedAt = Date.now();
      const pair: NaivePair = {
        accessToken: String(body.access_token),
        refreshToken: String(body.refresh_token),
        expiresAt: expiresAtOf(body, receivedAt),
        receivedAt,
        version: (read().pair?.version ?? 0) + 1,
      };
      write({ pair, signedOutReason: null });
      setCurrent(pair, 'sign-in', null);
    },
    async signOut(options) {
      const previous = current;
      write({ pair: null, signedOutReason: 'user' });
      setCurrent(null, 'this-tab', 'user');
      if (options?.revoke && previous) {
        await fetch(config.revocationEndpoint, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: previous.refreshToken, token_type_hint: 'refresh_token', client_id: config.clientId }),
        }).catch(() => {});
      }
    },
  };
}
