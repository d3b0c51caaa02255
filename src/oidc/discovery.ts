import * as oauth from 'oauth4webapi';
import { DiscoveryError } from './errors';
import { discoveryError } from './errorMapping';
import type { OidcMetadata } from './types';

/** The HTTP options every oauth4webapi call of one login gets: the app's fetch, and http:// where allowed. */
export type HttpOptions = Pick<
  oauth.HttpRequestOptions<'GET' | 'POST', URLSearchParams | undefined>,
  typeof oauth.customFetch | typeof oauth.allowInsecureRequests
>;

export interface Discovery {
  /** The metadata; the first call starts the one request, concurrent and later calls share it. */
  get(): Promise<oauth.AuthorizationServer>;
}

/** A failed discovery is not cached: the next call asks again (a network blip must not break the tab for good). */
export function createDiscovery(options: { issuer?: string; metadata?: OidcMetadata; http: HttpOptions; insecure: boolean }): Discovery {
  if (options.metadata) {
    // Given metadata is configuration: a mistake in it throws here, at setup, not at the first login.
    const checked = Promise.resolve(checkMetadata(options.metadata as oauth.AuthorizationServer, options.insecure));
    return { get: () => checked };
  }
  const issuer = new URL(options.issuer!);
  let pending: Promise<oauth.AuthorizationServer> | null = null;
  return {
    get() {
      if (pending) return pending;
      const request = (async () => {
        let metadata: oauth.AuthorizationServer;
        try {
          const response = await oauth.discoveryRequest(issuer, { ...options.http, algorithm: 'oidc' });
          metadata = await oauth.processDiscoveryResponse(issuer, response);
        } catch (error) {
          throw discoveryError(error);
        }
        return checkMetadata(metadata, options.insecure);
      })();
      pending = request;
      request.catch(() => {
        if (pending === request) pending = null;
      });
      return pending;
    },
  };
}

/**
 * oauth4webapi checks the issuer; it leaves endpoints to the call that needs them. tabauth needs two of them for every
 * login, so their absence is reported at discovery, naming the field, instead of at the first login.
 */
function checkMetadata(metadata: oauth.AuthorizationServer, insecure: boolean): oauth.AuthorizationServer {
  if (typeof metadata?.issuer !== 'string' || !absoluteUrl(metadata.issuer)) {
    throw new DiscoveryError('invalid-metadata', 'Authorization server metadata has no absolute "issuer" URL');
  }
  for (const field of ['authorization_endpoint', 'token_endpoint'] as const) {
    const url = absoluteUrl(metadata[field]);
    if (!url) throw new DiscoveryError('missing-endpoint', `Authorization server metadata has no usable "${field}"`);
    if (url.protocol !== 'https:' && !insecure) {
      throw new DiscoveryError('insecure-url', `"${field}" uses http://; only loopback issuers (or allowInsecureRequests) may`);
    }
  }
  return metadata;
}

function absoluteUrl(value: unknown): URL | null {
  if (typeof value !== 'string') return null;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}

/** 127.0.0.1, [::1] and localhost: development servers, where plain http is the norm and nothing leaves the machine. */
export function isLoopback(url: string | undefined): boolean {
  if (!url) return false;
  try {
    const host = new URL(url).hostname;
    return host === '127.0.0.1' || host === '[::1]' || host === 'localhost' || host.endsWith('.localhost');
  } catch {
    return false;
  }
}
