import * as oauth from 'oauth4webapi';
import { AuthError, MalformedTokenResponseError, OAuthError, TransientRefreshError } from 'tabauth';
import { AuthorizationError, DiscoveryError, IdTokenValidationError, LoginCallbackError, type IdTokenFailure } from './errors';

/**
 * Maps what oauth4webapi throws to tabauth's typed errors, one function per stage of the flow. oauth4webapi's own
 * errors carry the response, the parsed body or the JWT claims as `cause`; none of that is kept (AuthError copies
 * only the name and a redacted message of a foreign cause), and every message below is tabauth's own text.
 */

const isNamed = (error: unknown, name: string) => typeof error === 'object' && error !== null && (error as { name?: unknown }).name === name;
const isAbort = (error: unknown) => isNamed(error, 'AbortError') || isNamed(error, 'TimeoutError');
const statusOf = (error: oauth.OperationProcessingError): number | null => (error.cause instanceof Response ? error.cause.status : null);
const claimOf = (error: oauth.OperationProcessingError): string | null => {
  const cause = error.cause as { claim?: unknown } | undefined;
  return typeof cause?.claim === 'string' ? cause.claim : null;
};

/** Discovery: the request and `processDiscoveryResponse`. */
export function discoveryError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof oauth.OperationProcessingError) {
    switch (error.code) {
      case oauth.RESPONSE_IS_NOT_CONFORM: {
        const status = statusOf(error);
        return new DiscoveryError('http-status', `Discovery document request answered HTTP ${status ?? 'with an unexpected status'}`, { status, cause: error });
      }
      case oauth.RESPONSE_IS_NOT_JSON:
      case oauth.PARSE_ERROR:
        return new DiscoveryError('not-json', 'Discovery document is not JSON', { cause: error });
      case oauth.JSON_ATTRIBUTE_COMPARISON:
        return new DiscoveryError('issuer-mismatch', 'Discovery document names another issuer than the configured one', { cause: error });
      case oauth.HTTP_REQUEST_FORBIDDEN:
      case oauth.REQUEST_PROTOCOL_FORBIDDEN:
        return new DiscoveryError('insecure-url', 'Issuer uses http://; only loopback issuers (or allowInsecureRequests) may', { cause: error });
      default:
        return new DiscoveryError('invalid-metadata', 'Discovery document is not authorization server metadata', { cause: error });
    }
  }
  if (error instanceof TypeError && /protocol|https/i.test(error.message)) {
    return new DiscoveryError('insecure-url', 'Issuer uses http://; only loopback issuers (or allowInsecureRequests) may', { cause: error });
  }
  return new DiscoveryError('network', isAbort(error) ? 'Discovery request was aborted' : 'Discovery request failed (network error)', { cause: error });
}

/** The authorization response in the callback URL: `validateAuthResponse`. */
export function authorizationResponseError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof oauth.AuthorizationResponseError) return new AuthorizationError(error.error, error.error_description);
  if (error instanceof oauth.UnsupportedOperationError) {
    return new LoginCallbackError('unsupported-response', 'Callback carries tokens in the URL (implicit or hybrid flow), which tabauth never asks for', {
      cause: error,
    });
  }
  if (error instanceof oauth.OperationProcessingError) {
    const message = error.message;
    if (/only once/.test(message)) return new LoginCallbackError('duplicate-parameter', 'Callback URL repeats a parameter', { cause: error });
    if (/"iss".*missing/.test(message)) {
      return new LoginCallbackError('missing-issuer', 'Callback has no "iss" parameter although the server announces one (RFC 9207)', { cause: error });
    }
    if (/"iss"/.test(message)) return new LoginCallbackError('issuer-mismatch', 'Callback "iss" parameter names another issuer (RFC 9207)', { cause: error });
    if (/JARM/.test(message))
      return new LoginCallbackError('unsupported-response', 'Callback carries a JARM response, which tabauth never asks for', { cause: error });
    if (/"state"/.test(message)) return new LoginCallbackError('unknown-state', 'Callback state does not match the login', { cause: error });
  }
  return new LoginCallbackError('unsupported-response', 'Callback URL is not a valid authorization response', { cause: error });
}

/** The code exchange: the token request, `processAuthorizationCodeResponse` and its ID token validation. */
export function tokenExchangeError(error: unknown): AuthError {
  if (error instanceof AuthError) return error;
  if (error instanceof oauth.ResponseBodyError) {
    return new OAuthError(error.error, { status: error.status, errorDescription: error.error_description ?? null });
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    const challenge = error.cause[0];
    return new OAuthError(challenge?.parameters.error ?? 'invalid_client', {
      status: error.status,
      errorDescription: challenge?.parameters.error_description ?? null,
    });
  }
  if (error instanceof oauth.UnsupportedOperationError) {
    return new MalformedTokenResponseError('Token endpoint answered with a token type or format tabauth does not support', { cause: error });
  }
  if (error instanceof oauth.OperationProcessingError) return processingError(error);
  if (isAbort(error)) return new TransientRefreshError('timeout', 'Code exchange request was aborted', { cause: error });
  return new TransientRefreshError('network', 'Network error during the code exchange', { cause: error });
}

const TIME_CLAIMS: Record<string, IdTokenFailure> = { exp: 'expired', nbf: 'not-yet-valid', auth_time: 'auth-time', iat: 'issued-in-future' };
const COMPARED_CLAIMS: Record<string, IdTokenFailure> = { nonce: 'nonce-mismatch', iss: 'issuer-mismatch', aud: 'audience-mismatch', azp: 'azp-mismatch' };

function processingError(error: oauth.OperationProcessingError): AuthError {
  const message = error.message;
  const claim = claimOf(error);
  switch (error.code) {
    case oauth.JWT_TIMESTAMP_CHECK: {
      const reason = TIME_CLAIMS[claim ?? ''] ?? 'expired';
      return new IdTokenValidationError(reason, `ID token "${claim ?? 'time'}" claim is out of range (${reason})`, { claim, cause: error });
    }
    case oauth.JWT_CLAIM_COMPARISON: {
      // Several audiences without the azp that would name this client are reported on "aud" by oauth4webapi.
      const reason = /untrusted audiences/.test(message) ? 'azp-mismatch' : (COMPARED_CLAIMS[claim ?? ''] ?? 'audience-mismatch');
      return new IdTokenValidationError(reason, `ID token "${claim ?? 'aud'}" claim does not match this login (${reason})`, { claim, cause: error });
    }
    case oauth.RESPONSE_IS_NOT_CONFORM: {
      const status = statusOf(error);
      if (status !== null && status >= 500) return new TransientRefreshError('server', `Token endpoint failed with HTTP ${status}`, { status });
      if (status === 429) return new TransientRefreshError('rate-limited', 'Token endpoint rate-limited the code exchange (HTTP 429)', { status });
      return new MalformedTokenResponseError(`Token endpoint returned HTTP ${status ?? '?'} without an OAuth error body`, { status });
    }
    case oauth.RESPONSE_IS_NOT_JSON:
      return new MalformedTokenResponseError('Token endpoint returned a body that is not JSON', { status: statusOf(error), cause: error });
    case oauth.PARSE_ERROR:
      if (/JWT/.test(message)) return new IdTokenValidationError('malformed', 'ID token header or payload is not JSON', { cause: error });
      return new MalformedTokenResponseError('Token endpoint returned a body that is not JSON', { status: 200, cause: error });
    case oauth.INVALID_RESPONSE:
    default: {
      if (/"id_token"/.test(message))
        return new IdTokenValidationError('missing', 'Token response has no id_token although "openid" was requested', { cause: error });
      const missing = /JWT "([a-z_]+)" .*claim missing/.exec(message);
      if (missing) return new IdTokenValidationError('missing-claim', `ID token has no "${missing[1]}" claim`, { claim: missing[1], cause: error });
      if (/JWT/.test(message)) return new IdTokenValidationError('malformed', 'ID token is not a valid JWT', { cause: error });
      return new MalformedTokenResponseError('Token endpoint returned an unusable token response', { status: 200, cause: error });
    }
  }
}
