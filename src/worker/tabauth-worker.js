// tabauth's prebuilt SharedWorker (dist/tabauth-worker.js): started by sharedWorkerCoordination() when no `worker`
// or `url` is given; it rebuilds the tabs' oauth2RefreshGrant from the plain options they send, and signs with the
// namespace's DPoP key (opened from IndexedDB by its own createDpop handle) when the tabs use DPoP.
import { createDpop } from 'tabauth/dpop';
import { startAuthWorker } from 'tabauth/worker';

startAuthWorker({ dpop: createDpop });
