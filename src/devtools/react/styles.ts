/**
 * The panel's stylesheet, injected as one <style> element by the component (no CSS import for the app to set up).
 * Everything is scoped under `.tabauth-devtools`; colours are variables, with a light and a dark set ('system'
 * follows prefers-color-scheme).
 */
const light = {
  bg: '#ffffff',
  bg2: '#f3f5f9',
  text: '#151922',
  muted: '#5b6475',
  border: '#d7dce6',
  accent: '#4f46e5',
  accentText: '#ffffff',
  leader: '#92400e',
  leaderBg: '#fef3c7',
  follower: '#1e40af',
  followerBg: '#dbeafe',
  bad: '#991b1b',
  badBg: '#fee2e2',
  good: '#166534',
  goodBg: '#dcfce7',
  shadow: '0 8px 28px rgba(16, 24, 40, 0.18)',
};

const dark: typeof light = {
  bg: '#161b22',
  bg2: '#1f2630',
  text: '#e6edf3',
  muted: '#9aa5b4',
  border: '#30363d',
  accent: '#818cf8',
  accentText: '#0d1117',
  leader: '#fcd34d',
  leaderBg: 'rgba(245, 158, 11, 0.2)',
  follower: '#93c5fd',
  followerBg: 'rgba(59, 130, 246, 0.2)',
  bad: '#fca5a5',
  badBg: 'rgba(239, 68, 68, 0.2)',
  good: '#86efac',
  goodBg: 'rgba(34, 197, 94, 0.18)',
  shadow: '0 8px 28px rgba(0, 0, 0, 0.5)',
};

const variables = (palette: typeof light) =>
  Object.entries(palette)
    .map(([name, value]) => `--tdt-${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}: ${value};`)
    .join(' ');

const R = '.tabauth-devtools';

/** The panel's stylesheet, scoped to `.tabauth-devtools`, with its light and dark palettes. */
export const DEVTOOLS_CSS = `
${R} { ${variables(light)} color-scheme: light; font: 12px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--tdt-text); }
${R}[data-theme='dark'] { ${variables(dark)} color-scheme: dark; }
@media (prefers-color-scheme: dark) { ${R}[data-theme='system'] { ${variables(dark)} color-scheme: dark; } }
${R} *, ${R} *::before, ${R} *::after { box-sizing: border-box; }
${R} .tdt-mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11px; }
${R} .tdt-toggle { position: fixed; z-index: 2147483000; display: inline-flex; align-items: center; gap: 6px; padding: 5px 10px;
  border: 1px solid var(--tdt-border); border-radius: 999px; background: var(--tdt-bg); color: var(--tdt-text); box-shadow: var(--tdt-shadow);
  font: inherit; font-weight: 600; cursor: pointer; }
${R} .tdt-toggle:focus-visible, ${R} button:focus-visible, ${R} input:focus-visible { outline: 2px solid var(--tdt-accent); outline-offset: 2px; }
${R} .tdt-dot { width: 8px; height: 8px; border-radius: 50%; background: var(--tdt-muted); }
${R} .tdt-dot[data-role='leader'] { background: #f59e0b; }
${R} .tdt-dot[data-role='follower'] { background: #3b82f6; }
${R} .tdt-dot[data-role='signed-out'] { background: #ef4444; }
${R} .tdt-panel { position: fixed; z-index: 2147483001; width: min(480px, calc(100vw - 24px)); max-height: min(78vh, 640px); display: flex; flex-direction: column;
  background: var(--tdt-bg); border: 1px solid var(--tdt-border); border-radius: 10px; box-shadow: var(--tdt-shadow); overflow: hidden; }
${R}[data-position='bottom-right'] .tdt-toggle { right: 12px; bottom: 12px; }
${R}[data-position='bottom-left'] .tdt-toggle { left: 12px; bottom: 12px; }
${R}[data-position='top-right'] .tdt-toggle { right: 12px; top: 12px; }
${R}[data-position='top-left'] .tdt-toggle { left: 12px; top: 12px; }
${R}[data-position='bottom-right'] .tdt-panel { right: 12px; bottom: 52px; }
${R}[data-position='bottom-left'] .tdt-panel { left: 12px; bottom: 52px; }
${R}[data-position='top-right'] .tdt-panel { right: 12px; top: 52px; }
${R}[data-position='top-left'] .tdt-panel { left: 12px; top: 52px; }
@media (max-width: 520px), (max-height: 520px) { ${R} .tdt-panel { inset: 6px 6px 46px 6px !important; width: auto; max-height: none; } }
${R} .tdt-head { display: flex; align-items: center; gap: 8px; padding: 8px 10px; background: var(--tdt-bg2); border-bottom: 1px solid var(--tdt-border); }
${R} .tdt-title { font-weight: 700; }
${R} .tdt-sub { color: var(--tdt-muted); flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
${R} .tdt-close { border: 0; background: none; color: var(--tdt-muted); font-size: 18px; line-height: 1; cursor: pointer; padding: 0 4px; }
${R} .tdt-body { overflow: auto; padding: 4px 10px 10px; }
${R} h3 { margin: 10px 0 4px; font-size: 11px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--tdt-muted); }
${R} table { width: 100%; border-collapse: collapse; }
${R} th { text-align: left; font-weight: 600; color: var(--tdt-muted); padding: 2px 4px; border-bottom: 1px solid var(--tdt-border); }
${R} td { padding: 3px 4px; border-bottom: 1px solid var(--tdt-border); vertical-align: top; }
${R} tr[data-selected='true'] td { background: var(--tdt-bg2); }
${R} tr[data-silent='true'] td { opacity: 0.55; }
${R} .tdt-tabs tbody tr { cursor: pointer; }
${R} .tdt-tabs td:first-child { white-space: nowrap; }
${R} .tdt-role { display: inline-block; padding: 0 6px; border-radius: 999px; font-weight: 600; white-space: nowrap; background: var(--tdt-bg2); color: var(--tdt-muted); }
${R} .tdt-role[data-role='leader'] { background: var(--tdt-leader-bg); color: var(--tdt-leader); }
${R} .tdt-role[data-role='follower'] { background: var(--tdt-follower-bg); color: var(--tdt-follower); }
${R} .tdt-role[data-role='signed-out'] { background: var(--tdt-bad-bg); color: var(--tdt-bad); }
${R} .tdt-self { display: block; color: var(--tdt-muted); font-style: normal; font-size: 11px; padding-left: 20px; }
${R} .tdt-actions { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 8px; }
${R} .tdt-actions .tdt-target { flex: 1 1 100%; color: var(--tdt-muted); }
${R} .tdt-button { border: 1px solid var(--tdt-border); background: var(--tdt-bg2); color: var(--tdt-text); border-radius: 6px; padding: 3px 9px; font: inherit; cursor: pointer; }
${R} .tdt-button.tdt-primary { background: var(--tdt-accent); border-color: var(--tdt-accent); color: var(--tdt-accent-text); }
${R} .tdt-button:disabled { opacity: 0.5; cursor: default; }
${R} .tdt-result { flex: 1 1 100%; padding: 3px 6px; border-radius: 6px; background: var(--tdt-bg2); }
${R} .tdt-result[data-status='done'] { background: var(--tdt-good-bg); color: var(--tdt-good); }
${R} .tdt-result[data-status='failed'] { background: var(--tdt-bad-bg); color: var(--tdt-bad); }
${R} dl.tdt-kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; }
${R} dl.tdt-kv dt { color: var(--tdt-muted); }
${R} dl.tdt-kv dd { margin: 0; overflow-wrap: anywhere; }
${R} .tdt-counters { display: grid; grid-template-columns: 1fr max-content max-content; gap: 1px 12px; }
${R} .tdt-counters span:nth-child(3n + 2), ${R} .tdt-counters span:nth-child(3n) { text-align: right; font-variant-numeric: tabular-nums; }
${R} .tdt-counters .tdt-colhead { color: var(--tdt-muted); font-weight: 600; }
${R} ol.tdt-timeline { list-style: none; margin: 0; padding: 0; }
${R} ol.tdt-timeline li { display: grid; grid-template-columns: 64px 70px 1fr; gap: 6px; padding: 2px 0; border-bottom: 1px dashed var(--tdt-border); }
${R} ol.tdt-timeline li[data-kind^='refresh-succeeded'] .tdt-what { color: var(--tdt-good); }
${R} ol.tdt-timeline li[data-kind^='refresh-failed'] .tdt-what, ${R} ol.tdt-timeline li[data-kind^='signed-out'] .tdt-what { color: var(--tdt-bad); }
${R} ol.tdt-timeline .tdt-who { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: var(--tdt-muted); }
${R} .tdt-empty { color: var(--tdt-muted); }
`;
