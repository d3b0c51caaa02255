/**
 * tabauth/testing: a mock token server with rotation and reuse detection, and N tabs in one process on a
 * simulated clock. For tabauth's own tests and for apps that want to test their multi-tab behaviour.
 */
export { createMockTokenServer, MISTYPED_FIELDS } from './mockTokenServer';
export type {
  AccessTokenValidation,
  MockTokenServer,
  MockTokenServerOptions,
  MockFailure,
  MockFailureKind,
  MistypedField,
  MockServerCounters,
  MockServerEvent,
  MockServerEventType,
  MockDpopOptions,
  MockDpopCounters,
  ResourceCheck,
} from './mockTokenServer';
export { createSimulatedClock, type SimulatedClock, type SimulatedClockOptions } from './simulatedClock';
export { createSimulatedEnvironment, type SimulatedEnvironment } from './simulatedEnvironment';
export { createSimulatedNetwork, type SimulatedNetwork, type SimulatedNetworkOptions, type MessageFaults } from './simulatedNetwork';
export { createTabSimulation, NON_FINITE_TIMER_LIMIT, type TabSimulation, type TabSimulationOptions, type SimTab, type StorageFaults } from './tabs';
export { createSimulatedWebLocks, type SimulatedWebLocks } from './simulatedWebLocks';
export { createStaticAuthClient, type StaticAuthClient, type StaticAuthState } from './staticAuthClient';
