import type { DpopEvent, DpopServer } from '../core/dpop';
import type { AuthStorage } from '../core/storage/storage';
import type { DpopMessageBody } from './messages';

/**
 * The latest DPoP nonce of every server origin, shared by the tabs of a namespace: a nonce one tab learnt (from a
 * `use_dpop_nonce` challenge or a `DPoP-Nonce` header on any answer) goes to every other tab over the channel at
 * once and into storage for tabs opened later, so no other tab pays the failed round trip.
 *
 * Two tabs that learn different nonces at the same moment converge on one: the later receipt wins (ties by value),
 * in memory and in storage alike.
 */
interface NonceEntry {
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
const MAX_ORIGINS = 32;
/** RFC 9449 section 8.1: nonce = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E (printable ASCII but `"` and `\`). */
const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,512}$/;

export function isValidNonce(value: unknown): value is string {
  return typeof value === 'string' && NONCE.test(value);
}

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

  async nonceFor(origin: string): Promise<string | undefined> {
    await this.load();
    return this.entries.get(origin)?.nonce;
  }

  async remember(origin: string, nonce: string, server: DpopServer): Promise<void> {
    if (!isValidNonce(nonce)) return;
    await this.load();
    const entry: NonceEntry = { nonce, server, at: this.options.now() };
    if (!this.take(origin, entry, 'this-tab')) return;
    this.options.post({ type: 'nonce', origin, ...entry });
    try {
      await this.options.storage.update(this.key, (raw) => withEntry(readStored(raw), origin, entry));
    } catch {
      // Storage only serves tabs opened later; the live ones have the nonce from the channel already.
    }
  }

  /** A nonce another tab learnt. */
  received(origin: string, entry: NonceEntry): void {
    this.take(origin, entry, 'other-tab');
  }

  private load(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const stored = readStored(await this.options.storage.get(this.key));
        for (const [origin, entry] of Object.entries(stored.nonces)) this.take(origin, entry, 'storage');
      } catch {
        // Nothing shared yet is no worse than a first challenge.
      }
    })();
    return this.loading;
  }

  /** Keeps `entry` if it is newer than what this tab holds for `origin`. */
  private take(origin: string, entry: NonceEntry, source: 'this-tab' | 'other-tab' | 'storage'): boolean {
    const current = this.entries.get(origin);
    if (current && (current.nonce === entry.nonce || !isNewer(entry, current))) return false;
    this.entries.delete(origin);
    this.entries.set(origin, { ...entry });
    if (this.entries.size > MAX_ORIGINS) this.entries.delete(this.entries.keys().next().value as string);
    this.options.emit({ type: 'dpop-nonce-updated', server: entry.server, origin, source });
    return true;
  }
}

function isNewer(candidate: NonceEntry, current: NonceEntry): boolean {
  return candidate.at > current.at || (candidate.at === current.at && candidate.nonce > current.nonce);
}

function readStored(raw: unknown): StoredNonces {
  const out: StoredNonces = { schema: 1, nonces: {} };
  if (typeof raw !== 'object' || raw === null || (raw as StoredNonces).schema !== 1) return out;
  const nonces = (raw as StoredNonces).nonces;
  if (typeof nonces !== 'object' || nonces === null) return out;
  for (const [origin, entry] of Object.entries(nonces)) {
    if (typeof entry !== 'object' || entry === null || !isValidNonce(entry.nonce) || typeof entry.at !== 'number') continue;
    if (entry.server !== 'authorization' && entry.server !== 'resource') continue;
    out.nonces[origin] = { nonce: entry.nonce, server: entry.server, at: entry.at };
  }
  return out;
}

function withEntry(stored: StoredNonces, origin: string, entry: NonceEntry): StoredNonces {
  const current = stored.nonces[origin];
  if (current && !isNewer(entry, current)) return stored;
  const nonces = { ...stored.nonces, [origin]: entry };
  const origins = Object.keys(nonces);
  if (origins.length > MAX_ORIGINS) {
    origins.sort((a, b) => nonces[a]!.at - nonces[b]!.at);
    for (const old of origins.slice(0, origins.length - MAX_ORIGINS)) delete nonces[old];
  }
  return { schema: 1, nonces };
}
