// tabauth's prebuilt SharedWorker (dist/tabauth-worker.js): started by sharedWorkerCoordination() when no `worker`
// or `url` is given; it rebuilds the tabs' oauth2RefreshGrant from the plain options they send.
import { startAuthWorker } from 'tabauth/worker';

startAuthWorker();
