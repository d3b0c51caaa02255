import { isDropped, parseTabMessage, PROTOCOL, type TabMessage, type TabMessageBody } from './coordination/tabMessages';
import type { TabChannel } from './coordination/transport';
import type { Telemetry } from './telemetry';

type MessageOf<T extends TabMessage['type']> = Extract<TabMessage, { type: T }>;
type Handlers = { [T in TabMessage['type']]?: (message: MessageOf<T>) => void };

/**
 * The other tabs, as this tab sees them: typed messages out, validated messages in. Each message type is handled by
 * the module that owns it (`handle`); anything malformed, foreign or oversized is dropped and counted, never thrown.
 */
export class Peers {
  private channel: TabChannel | null = null;
  private readonly handlers: Handlers = {};

  constructor(
    private readonly namespace: string,
    private readonly tabId: string,
    private readonly telemetry: Telemetry,
  ) {}

  /** Whether a channel to other tabs exists (none before mount, after unmount, or where it could not be created). */
  get connected(): boolean {
    return this.channel !== null;
  }

  /** Connects to a channel while mounted; returns the unsubscribe function. */
  attach(channel: TabChannel): () => void {
    this.channel = channel;
    const unsubscribe = channel.subscribe((raw) => this.receive(raw));
    return () => {
      unsubscribe();
      if (this.channel === channel) this.channel = null;
    };
  }

  detach(): void {
    this.channel = null;
  }

  handle<T extends TabMessage['type']>(type: T, handler: (message: MessageOf<T>) => void): void {
    (this.handlers as Record<string, unknown>)[type] = handler;
  }

  post(message: TabMessageBody): void {
    const channel = this.channel;
    if (!channel) return;
    channel.post({ ...message, protocol: PROTOCOL, namespace: this.namespace, from: this.tabId }).catch(() => {});
  }

  private receive(raw: unknown): void {
    const message = parseTabMessage(raw, this.namespace);
    if (isDropped(message)) {
      this.telemetry.emit({ type: 'message-dropped', reason: message.dropped });
      return;
    }
    if (message.from === this.tabId) return;
    const handler = this.handlers[message.type] as ((message: TabMessage) => void) | undefined;
    handler?.(message);
  }
}
