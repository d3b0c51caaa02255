import type { DpopEvent, DpopServer } from 'tabauth';
import type { AuthStorage } from 'tabauth';
import type { DpopMessageBody } from './messages';

/**
 * The latest DPoP nonce of every server, shared by the tabs of a namespace. A server is its kind and its origin: an
 * authorization server and a resource server on one origin (`/token` and `/api` of one host) hand out different
 * nonces, and mixing them up costs a challenge on every request (seen against oidc-provider in the e2e tests).
 * A nonce a nonce one tab learnt (from a
 * `use_dpop_nonce` challenge or a `DPoP-Nonce` header on any answer) goes to every other tab over the channel at
 * once and into storage for tabs opened later, so no other tab pays the failed round trip.
 *
 * Two tabs that learn different nonces at the same moment converge on one: the later receipt wins (ties by value),
 * in memory and in storage alike.
 */
export interface NonceEntry {
  origin: string;
  nonce: string;
  server: DpopServer;
  /** Epoch ms at which a tab received it. */
  at: number;
}

interface StoredNonces {
  schema: 1;
  nonces: Record<string, NonceEntry>;
}

/** Servers remembered per namespace; the oldest is dropped beyond this. */
const MAX_SERVERS = 32;
/** RFC 9449 section 8.1: nonce = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E (printable ASCII but `"` and `\`). */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/;

/** Whether a value may be used as a DPoP nonce (RFC 9449 section 8.1 syntax, at most 512 characters). */
export function isValidNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE.test(value);
}

/** The storage key under which a namespace's latest nonces (per server kind and origin) are kept. */
export function dpopNoncesStorageKey(namespace: string): string {
  return `tabauth:${namespace}:dpop-nonces`;
}

export interface NonceBookOptions {
  storage: AuthStorage;
  namespace: string;
  now: () => number;
  post: (body: DpopMessageBody) => void;
  emit: (event: DpopEvent) => void;
}

export class NonceBook {
  private readonly entries = new Map<string, NonceEntry>();
  private loading: Promise<void> | null = null;
  private readonly key: string;

  constructor(private readonly options: NonceBookOptions) {
    this.key = dpopNoncesStorageKey(options.namespace);
  }

  async nonceFor(origin: string, server: DpopServer): Promise<string | undefined> {
    await this.load();
    return this.entries.get(serverKey(server, origin))?.nonce;
  }

  async remember(origin: string, nonce: string, server: DpopServer): Promise<void> {
    if (!isValidNonce(nonce)) return;
    await this.load();
    const entry: NonceEntry = { origin, nonce, server, at: this.options.now() };
    if (!this.take(entry, 'this-tab')) return;
    this.options.post({ type: 'nonce', ...entry });
    try {
      await this.options.storage.update(this.key, (raw) => withEntry(readStored(raw), entry));
    } catch {
      // Storage only serves tabs opened later; the live ones have the nonce from the channel already.
    }
  }

  /** A nonce another tab learnt. */
  received(entry: NonceEntry): void {
    this.take(entry, 'other-tab');
  }

  private load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const stored = readStored(await this.options.storage.get(this.key));
        for (const entry of Object.values(stored.nonces)) this.take(entry, 'storage');
      } catch {
        // Nothing shared yet is no worse than a first challenge.
      }
    })();
    return this.loading;
  }

  /** Keeps `entry` if it is newer than what this tab holds for its server. */
  private take(entry: NonceEntry, source: 'this-tab' | 'other-tab' | 'storage'): boolean {
    const key = serverKey(entry.server, entry.origin);
    const current = this.entries.get(key);
    if (current && (current.nonce === entry.nonce || !isNewer(entry, current))) return false;
    this.entries.delete(key);
    this.entries.set(key, { ...entry });
    if (this.entries.size > MAX_SERVERS) this.entries.delete(this.entries.keys().next().value as string);
    this.options.emit({ type: 'dpop-nonce-updated', server: entry.server, origin: entry.origin, source });
    return true;
  }
}

function serverKey(server: DpopServer, origin: string): string {
  return `${server} ${origin}`;
}

function isNewer(candidate: NonceEntry, current: NonceEntry): boolean {
  return candidate.at > current.at || (candidate.at === current.at && candidate.nonce > current.nonce);
}

function readStored(raw: unknown): StoredNonces {
  const out: StoredNonces = { schema: 1, nonces: {} };
  if (typeof raw !== 'object' || raw === null || (raw as StoredNonces).schema !== 1) return out;
  const nonces = (raw as StoredNonces).nonces;
  if (typeof nonces !== 'object' || nonces === null) return out;
  for (const entry of Object.values(nonces)) {
    if (typeof entry !== 'object' || entry === null || !isValidNonce(entry.nonce) || typeof entry.at !== 'number') continue;
    if (entry.server !== 'authorization' && entry.server !== 'resource') continue;
    if (typeof entry.origin !== 'string' || entry.origin.length > 300) continue;
    out.nonces[serverKey(entry.server, entry.origin)] = { origin: entry.origin, nonce: entry.nonce, server: entry.server, at: entry.at };
  }
  return out;
}

function withEntry(stored: StoredNonces, entry: NonceEntry): StoredNonces {
  const key = serverKey(entry.server, entry.origin);
  const current = stored.nonces[key];
  if (current && !isNewer(entry, current)) return stored;
  const nonces = { ...stored.nonces, [key]: entry };
  const keys = Object.keys(nonces);
  if (keys.length > MAX_SERVERS) {
    keys.sort((a, b) => nonces[a]!.at - nonces[b]!.at);
    for (const old of keys.slice(0, keys.length - MAX_SERVERS)) delete nonces[old];
  }
  return { schema: 1, nonces };
}
