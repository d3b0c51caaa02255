import type { DemoSnapshot, TimelineEntry } from './demoHub';

/**
 * Refreshes across tabs on one time axis: one lane per tab, leadership as a band, every request to the token endpoint
 * as a block from sending to answer (green: new pair; red: rejected / reuse; yellow: network), sign-outs as red ticks,
 * offline periods hatched.
 */
export function Timeline({ snapshot, now }: { snapshot: DemoSnapshot; now: number }) {
  const scenario = snapshot.config.scenario;
  // Storms and sign-outs happen in moments; rotations need a few lifetimes to be seen.
  const windowMs = scenario === 'storm' || scenario === 'signout' ? 30_000 : Math.min(90_000, Math.max(20_000, snapshot.config.lifetimeSeconds * 3000));
  // Grow from the left until the window is full, then slide.
  const from = now - snapshot.startedAt < windowMs ? snapshot.startedAt : now - windowMs;
  const to = from + windowMs;
  const x = (t: number) => ((Math.min(Math.max(t, from), to) - from) / windowMs) * 100;
  const visible = (start: number, end: number | null) => (end ?? now) >= from && start <= to;
  const lanes = [...snapshot.tabs].sort((a, b) => a.index - b.index);
  const step = windowMs > 45_000 ? 10_000 : 5000;
  const ticks: number[] = [];
  for (let t = Math.ceil((from - snapshot.startedAt) / step) * step; t <= to - snapshot.startedAt; t += step) ticks.push(t);

  const offline = snapshot.timeline.filter((entry): entry is Extract<TimelineEntry, { kind: 'offline' }> => entry.kind === 'offline');

  return (
    <section className="timeline" data-testid="timeline" aria-label="Timeline of refreshes across tabs">
      <div className="timeline-head">
        <h2>Timeline</h2>
        <div className="legend">
          <span>
            <i style={{ background: 'var(--leader-line)', opacity: 0.45 }} /> leader
          </span>
          <span>
            <i style={{ background: 'var(--ok-line)' }} /> refresh: new pair
          </span>
          <span>
            <i style={{ background: 'var(--follower-line)', width: 4 }} /> tab got the new pair
          </span>
          <span>
            <i style={{ background: 'var(--out-line)' }} /> refresh rejected / reuse
          </span>
          <span>
            <i style={{ background: 'var(--warn-line)' }} /> network error
          </span>
          <span>
            <i style={{ background: 'var(--out-line)', width: 3 }} /> signed out
          </span>
          <span>
            <i style={{ background: 'repeating-linear-gradient(45deg, var(--warn-bg) 0 3px, var(--warn-line) 3px 5px)' }} /> offline
          </span>
        </div>
      </div>
      <div className="lanes">
        {lanes.map((tab) => {
          const entries = snapshot.timeline.filter((entry) => 'tabId' in entry && entry.tabId === tab.id);
          return (
            <div className="lane" key={tab.id} data-tab-id={tab.id}>
              <span className={`lane-label${tab.closedAt !== null ? ' closed' : ''}`}>{tab.label}</span>
              <div className="lane-track">
                {entries.map((entry) => {
                  switch (entry.kind) {
                    case 'leader':
                      if (!visible(entry.at, entry.endAt)) return null;
                      return (
                        <div
                          key={entry.id}
                          className="mark leader"
                          style={{ left: `${x(entry.at)}%`, width: `${x(entry.endAt ?? now) - x(entry.at)}%` }}
                          title={`${tab.label} leads`}
                        />
                      );
                    case 'refresh': {
                      if (!visible(entry.at, entry.endAt)) return null;
                      const width = Math.max(x(entry.endAt ?? now) - x(entry.at), 0.9);
                      return (
                        <div
                          key={entry.id}
                          className="mark refresh"
                          data-testid="timeline-refresh"
                          data-outcome={entry.outcome}
                          style={{ left: `${x(entry.at)}%`, width: `${width}%` }}
                          title={`${tab.label}: refresh request, ${entry.outcome}`}
                        >
                          {entry.outcome === 'reuse' ? '✕' : entry.outcome === 'rejected' ? '!' : entry.outcome === 'nonce' ? 'n' : ''}
                        </div>
                      );
                    }
                    case 'signed-out':
                      if (!visible(entry.at, entry.at)) return null;
                      return (
                        <div
                          key={entry.id}
                          className="mark signout"
                          style={{ left: `${x(entry.at)}%` }}
                          title={`${tab.label} signed out (${entry.reason ?? 'unknown'})`}
                        />
                      );
                    case 'version':
                      if (!visible(entry.at, entry.at)) return null;
                      return <div key={entry.id} className="mark version" style={{ left: `${x(entry.at)}%` }} title={`${tab.label} got v${entry.version}`} />;
                    case 'signed-in':
                      if (!visible(entry.at, entry.at)) return null;
                      return <div key={entry.id} className="mark signin" style={{ left: `${x(entry.at)}%` }} title={`${tab.label} signed in`} />;
                    case 'closed':
                      if (entry.at > to) return null;
                      return <div key={entry.id} className="mark closed" style={{ left: `${x(entry.at)}%` }} title={`${tab.label} closed`} />;
                    default:
                      return null;
                  }
                })}
              </div>
            </div>
          );
        })}
        <div style={{ position: 'absolute', left: 64, right: 0, top: 0, bottom: 0, pointerEvents: 'none' }}>
          {offline
            .filter((entry) => visible(entry.at, entry.endAt))
            .map((entry) => (
              <div key={entry.id} className="offline-band" style={{ left: `${x(entry.at)}%`, width: `${x(entry.endAt ?? now) - x(entry.at)}%`, bottom: 0 }} />
            ))}
        </div>
      </div>
      <div className="axis" aria-hidden="true">
        <span />
        <div className="axis-track">
          {ticks.map((t) => (
            <span
              key={t}
              style={{
                left: `${x(snapshot.startedAt + t)}%`,
                transform: x(snapshot.startedAt + t) < 2 ? 'none' : x(snapshot.startedAt + t) > 98 ? 'translateX(-100%)' : undefined,
              }}
            >
              {Math.round(t / 1000)} s
            </span>
          ))}
        </div>
      </div>
    </section>
  );
}
