/**
 * tabauth/devtools/core: the framework-free part of the devtools (what `<TabauthDevtools>` renders from). Attaches to
 * an AuthClient through its public API only (events, snapshot, metrics, refresh and the `markExpired` hook) and talks
 * to the other tabs of the namespace over its own BroadcastChannel. Never sends or stores a token string.
 */
export { createDevtoolsBridge, type DevtoolsBridge, type DevtoolsBridgeOptions, type DevtoolsCommandRecord, type DevtoolsState } from './bridge';
export { nativeDevtoolsChannel, type DevtoolsChannel, type DevtoolsChannelFactory } from './channel';
export { tokenFingerprint } from './fingerprint';
export { browserPage, type DevtoolsPage } from './page';
export {
  DEVTOOLS_PROTOCOL,
  MAX_DEVTOOLS_MESSAGE_CHARS,
  devtoolsChannelName,
  parseDevtoolsMessage,
  type DevtoolsClaims,
  type DevtoolsCommand,
  type DevtoolsCommandResult,
  type DevtoolsCounters,
  type DevtoolsDropReason,
  type DevtoolsEntryKind,
  type DevtoolsMessage,
  type DevtoolsTabReport,
  type DevtoolsTimelineEntry,
  type DevtoolsTokenSummary,
  type ByeMessage,
  type CommandMessage,
  type CommandResultMessage,
  type DevtoolsEnvelope,
  type EntriesMessage,
  type HelloMessage,
  type ReportMessage,
} from './protocol';
export { listTabs, mergeReport, type DevtoolsTab, type KnownTab } from './tabList';
export { describeEntry, entryFromEvent, mergeEntries } from './timeline';
