/**
 * tabauth/dpop: DPoP (RFC 9449) across tabs. One non-extractable key per namespace in IndexedDB, created once
 * however many tabs start together; proofs by the `dpop` package; server nonces shared by every tab.
 *
 *   createAuthClient({ refresh, dpop: createDpop() })
 */
export { createDpop, DPOP_COUNTERS, type Dpop, type DpopOptions } from './createDpop';
export { dpopKeyStorageKey, isStoredDpopKey, type StoredDpopKey } from './keyStore';
export { dpopNoncesStorageKey, isValidNonce } from './nonces';
export { DPOP_PROTOCOL } from './messages';
export type { DpopAlgorithm, DpopEvent, DpopHandle, DpopKey, DpopProofOptions, DpopRequest, DpopServer } from 'tabauth';
