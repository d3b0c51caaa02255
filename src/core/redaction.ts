import { OAuthError, type AuthError } from './errors';
import type { TabState } from './tabState';
import type { TokenSet } from './types';

/** How many token strings of recent records are remembered for exact-match redaction. */
const REMEMBERED = 12;

/**
 * The token strings this tab has held recently (access, refresh and id tokens of the last few records). The heuristic
 * in `redactSecrets` only catches long runs; a 22-character opaque token (128 bits of base64url) in a server's
 * error_description, or in an app's own error, slips through it. These are replaced by exact match as well.
 */
export class KnownSecrets {
  private readonly secrets: string[] = [];

  constructor(state: TabState) {
    state.onTransition(({ record }) => this.remember(record.tokens));
  }

  remember(tokens: TokenSet | null): void {
    if (!tokens) return;
    for (const secret of [tokens.accessToken, tokens.refreshToken, tokens.idToken]) {
      if (!secret || this.secrets.includes(secret)) continue;
      this.secrets.push(secret);
      if (this.secrets.length > REMEMBERED) this.secrets.shift();
    }
  }

  /** Replaces every known token string in `text`. */
  redact(text: string): string {
    let result = text;
    // Longest first, so a token that contains another is replaced whole.
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      if (secret.length >= 8) result = result.split(secret).join('[redacted]');
    }
    return result;
  }

  /** Scrubs an error tabauth is about to report or rethrow: its message, its OAuth description and its causes. */
  scrub<E extends AuthError>(error: E): E {
    for (let current: unknown = error, depth = 0; current instanceof Error && depth < 5; current = current.cause, depth++) {
      const clean = this.redact(current.message);
      if (clean !== current.message) Object.defineProperty(current, 'message', { value: clean, configurable: true, writable: true });
      if (current instanceof OAuthError && current.errorDescription) {
        Object.defineProperty(current, 'errorDescription', { value: this.redact(current.errorDescription), configurable: true });
      }
    }
    return error;
  }
}
