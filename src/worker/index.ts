/**
 * tabauth/worker: one SharedWorker of the origin performs every refresh, so a tab that closes or crashes mid-refresh
 * loses nothing. Tabs use `sharedWorkerCoordination()` (the leader-tab election stays the fallback); the worker runs
 * `startAuthWorker()` (the prebuilt `tabauth/tabauth-worker.js`, or your own worker file). Kept out of the core entry:
 * apps that do not use it do not load it.
 */
export { sharedWorkerCoordination, type SharedWorkerCoordinationOptions, type SharedWorkerLike } from './sharedWorkerCoordination';
export { startAuthWorker, type AuthWorker, type AuthWorkerOptions, type AuthWorkerPort, type AuthWorkerScope } from './startAuthWorker';
export { WORKER_PROTOCOL, workerLockName, type WorkerConnect, type WorkerHello } from './protocol';
