/**
 * tabauth/oidc: OpenID Connect login (authorization code + PKCE) on oauth4webapi, for a tabauth client. A login
 * completed in one tab signs every tab in; a logout signs every tab out and ends the session at the server.
 */
export { createOidcLogin } from './createOidcLogin';
export type { AuthLogin, LoginOptions, LogoutOptions, OidcBrowser, OidcLogin, OidcLoginOptions, OidcMetadata, PopupLoginOptions } from './types';
export {
  AuthorizationError,
  DiscoveryError,
  IdTokenValidationError,
  LoginCallbackError,
  PopupLoginError,
  type CallbackFailure,
  type DiscoveryFailure,
  type IdTokenFailure,
  type PopupFailure,
} from './errors';
export { POPUP_WINDOW_NAME } from './popup';
