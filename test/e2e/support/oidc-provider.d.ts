// Minimal type declarations for the parts of oidc-provider 9.x used by the e2e test server.
// The package ships no types (and @types/oidc-provider is not installed); only what
// test/e2e/support/oidcServer.ts touches is declared here.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface OidcError extends Error {
    error?: string;
    error_description?: string;
    /** Internal reason, e.g. 'refresh token already used' (not sent to the client). */
    error_detail?: string;
    status?: number;
    statusCode?: number;
  }

  export interface ProviderContext {
    /** Koa's request and response (the provider's context is a Koa context). */
    req?: IncomingMessage;
    res?: ServerResponse;
    /** The response body once the endpoint has set it (the token endpoint: the token response object). */
    body?: unknown;
    oidc?: {
      route?: string;
      params?: Record<string, unknown>;
      entities?: Record<string, unknown>;
    };
    status?: number;
  }

  export interface IssuedToken {
    kind: string;
    jti: string;
    grantId?: string;
    accountId?: string;
    clientId?: string;
    iat?: number;
    exp?: number;
  }

  export class Provider {
    constructor(issuer: string, configuration?: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): this;
    off(event: string, listener: (...args: never[]) => void): this;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => OidcError;
    InvalidGrant: new (description?: string) => OidcError;
  };

  export default Provider;
}
