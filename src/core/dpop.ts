/**
 * What the core knows about DPoP (RFC 9449): an interface, the event types, and the counter names. The
 * implementation (key storage, proofs, nonce sharing) lives in the `tabauth/dpop` entry, so an app that does not
 * use DPoP ships none of it: `createAuthClient({ refresh, dpop: createDpop() })`.
 */

/** JWS algorithms a DPoP key can have (those the `dpop` package signs with). */
export type DpopAlgorithm = 'ES256' | 'Ed25519' | 'RS256' | 'PS256';

/** Which kind of server sent a nonce. */
export type DpopServer = 'authorization' | 'resource';

/** Options of one proof (`DpopHandle.proof`). */
export interface DpopProofOptions {
  /** The access token the request carries: adds its `ath` hash (resource requests). */
  accessToken?: string;
  /** The server's nonce, when it has sent one (see `nonceFor`). */
  nonce?: string;
  /**
   * Re-read the stored key before signing. The refresh grant sets it: a refresh token is bound to the key stored
   * for every tab, and a tab must never refresh with another one.
   */
  rereadKey?: boolean;
  /** Sign with this key instead of the namespace's (a login's code exchange: `loginKey`). */
  key?: DpopKey;
}

/** One request `DpopHandle.fetchWithProof` sends with a proof. */
export interface DpopRequest {
  /** The HTTP method (the proof's `htm`). */
  htm: string;
  /** The request URL (query and fragment are left out of the proof). */
  htu: string;
  /** Which kind of server it goes to: decides the nonce challenge's form and whose nonce the proof carries. */
  server: DpopServer;
  /** For resource requests: the access token (its `ath` goes into the proof). */
  accessToken?: string;
  /** See `DpopProofOptions.rereadKey`. */
  rereadKey?: boolean;
  /** See `DpopProofOptions.key`. */
  key?: DpopKey;
  /** A body that can be sent only once (a stream): a nonce challenge is returned, not retried. */
  once?: boolean;
}

/** The key pair of a namespace, for a login's code exchange (oauth4webapi's `DPoP(client, keyPair)`). */
export interface DpopKey {
  /** Private key non-extractable, public key extractable (it goes into every proof's header). */
  keyPair: CryptoKeyPair;
  /** JWK SHA-256 thumbprint of the public key (RFC 7638): the `dpop_jkt` authorization request parameter. */
  thumbprint: string;
  /** The key's JWS algorithm. */
  algorithm: DpopAlgorithm;
}

/**
 * The DPoP handle the core and `tabauth/query` use. `createDpop()` from `tabauth/dpop` makes one; the client it is
 * given to shares its key and nonces with every tab of the same namespace.
 */
export interface DpopHandle {
  /** The auth client namespace whose key this handle signs with (it must be the client's). */
  readonly namespace: string;
  /** Algorithm of keys this handle creates. */
  readonly algorithm: DpopAlgorithm;
  /** A new proof (fresh `jti` and `iat`) for one request. `htu` may carry a query or fragment; they are dropped. */
  proof(htm: string, htu: string, options?: DpopProofOptions): Promise<string>;
  /** The thumbprint of the namespace's key (created if there is none yet). */
  thumbprint(): Promise<string>;
  /** The namespace's key (created if there is none yet). */
  key(): Promise<DpopKey>;
  /**
   * The latest nonce any tab received from the `server` at `origin` (an authorization and a resource server on one
   * origin have nonces of their own).
   */
  nonceFor(origin: string, server: DpopServer): Promise<string | undefined>;
  /** Stores a nonce the server at `origin` sent and shares it with every tab. Invalid values are ignored. */
  rememberNonce(origin: string, nonce: string, server: DpopServer): Promise<void>;
  /**
   * Sends one request with a proof: `send` gets the `DPoP` header (and `Authorization: DPoP <token>` with an
   * `accessToken`), carrying the latest nonce of the server's origin. A nonce challenge (`use_dpop_nonce`: a 400 from
   * an authorization server, a 401 from a resource server) is sent again at once, once, with the nonce it brought;
   * every nonce the server sends is shared with the other tabs. Resolves with the last response.
   */
  fetchWithProof(request: DpopRequest, send: (headers: Record<string, string>) => Promise<Response>): Promise<Response>;
  /**
   * For a login: a new key, kept pending beside the namespace's key, which every tab goes on using (the current
   * session's tokens are bound to it). Call it before building the authorization request (its thumbprint is
   * `dpop_jkt`), sign the code exchange with it, and call `promoteLoginKey` before `signIn`. A login that never gets
   * there changes nothing; its pending key is dropped by a later login or the sign-out.
   */
  newKeyForLogin(): Promise<DpopKey>;
  /** The key of the login whose `dpop_jkt` is `thumbprint` (pending, or already promoted); null once it is gone. */
  loginKey(thumbprint: string): Promise<DpopKey | null>;
  /**
   * Makes the login key of `thumbprint` the namespace's key for every tab. Call it after the code exchange and
   * before `signIn` of its tokens. Resolves false when that key is gone (a sign-out deleted it meanwhile).
   */
  promoteLoginKey(thumbprint: string): Promise<boolean>;
  /** Deletes the namespace's key, and the pending login keys, for every tab (the client calls it on `signOut()`). */
  deleteKey(): Promise<void>;
  /** Starts sharing with other tabs (the client calls it on mount); returns the function that stops it. */
  connect(): () => void;
  /**
   * Events, without key material, proofs, nonces or tokens. The client passes them to its own listeners, and its
   * telemetry derives the DPoP counters from them (as from every other event). Returns an unsubscribe function.
   */
  subscribe(listener: (event: DpopEvent) => void): () => void;
}

/** DPoP events, delivered to `client.on(listener)` with the core's: never key material, proofs, nonces or tokens. */
export type DpopEvent =
  /** This tab created the namespace's key ('first-use': none was stored; 'login': `newKeyForLogin`, a pending key). */
  | { type: 'dpop-key-created'; reason: 'first-use' | 'login'; algorithm: DpopAlgorithm }
  /** This tab took the key another tab created ('race': it had created one too, and the other was stored first). */
  | { type: 'dpop-key-adopted'; source: 'storage' | 'race' | 'other-tab' }
  | { type: 'dpop-key-deleted'; source: 'this-tab' | 'other-tab' }
  /** A server answered `use_dpop_nonce` and the request was sent again at once with its nonce. */
  | { type: 'dpop-nonce-retry'; server: DpopServer; origin: string }
  /** A new nonce for `origin` (the value itself is never in an event). */
  | { type: 'dpop-nonce-updated'; server: DpopServer; origin: string; source: 'this-tab' | 'other-tab' | 'storage' }
  /** IndexedDB is unusable: the key lives in this tab's memory only and cannot be shared. */
  | { type: 'dpop-storage-fallback'; errorCode: string };
