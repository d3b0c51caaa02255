import type { AuthClient } from 'tabauth';
import { startLogin } from './authorizationRequest';
import { completeCallback } from './callback';
import type { OidcContext } from './context';
import { PopupLoginError } from './errors';
import type { PopupLoginOptions } from './types';

/** `window.name` of the login popup: how its callback page knows to hand the response to the opener. */
export const POPUP_WINDOW_NAME = 'tabauth-oidc-login';
const MESSAGE_TYPE = 'tabauth:oidc:popup-callback';
const CLOSED_POLL_MS = 500;

/**
 * Login in a popup. The attempt lives in this tab's sessionStorage and the code is exchanged here, so the popup only
 * carries the authorization response back (postMessage, same origin only) and closes.
 */
export async function loginWithPopup(ctx: OidcContext, client: AuthClient, options: PopupLoginOptions = {}): Promise<void> {
  // Opened before the first await: browsers allow popups only in the task of the user's click.
  const popup = ctx.browser.openPopup('about:blank', POPUP_WINDOW_NAME, options.features ?? centredFeatures(500, 640));
  if (!popup) throw new PopupLoginError('blocked', 'The browser blocked the login popup: call loginWithPopup() from a click handler');
  try {
    popup.location.replace(await startLogin(ctx, options, 'popup'));
    const responseUrl = await waitForResponse(popup, options.timeoutMs ?? ctx.attemptMaxAgeMs);
    await completeCallback(ctx, client, new URL(responseUrl), 'popup');
  } catch (error) {
    ctx.attempts.clear();
    throw error;
  } finally {
    if (!popup.closed) popup.close();
  }
}

/** On the popup's callback page: posts the response URL to the opener and closes. False when not in the popup. */
export function handlePopupCallback(url?: string): boolean {
  if (typeof window === 'undefined' || window.name !== POPUP_WINDOW_NAME) return false;
  const opener = window.opener as Window | null;
  if (!opener || opener === window) return false;
  // Same origin only: the URL carries the authorization code.
  opener.postMessage({ type: MESSAGE_TYPE, url: url ?? window.location.href }, window.location.origin);
  window.close();
  return true;
}

function waitForResponse(popup: Window, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let closedSeen = false;
    const onMessage = (event: MessageEvent) => {
      if (event.source !== popup || event.origin !== window.location.origin) return;
      const data = event.data as { type?: unknown; url?: unknown } | null;
      if (data?.type !== MESSAGE_TYPE || typeof data.url !== 'string') return;
      done();
      resolve(data.url);
    };
    const poll = setInterval(() => {
      if (!popup.closed) return;
      // The popup posts and then closes: give a message already on its way one more poll to arrive.
      if (!closedSeen) {
        closedSeen = true;
        return;
      }
      done();
      reject(new PopupLoginError('closed', 'The login popup was closed before the login completed'));
    }, CLOSED_POLL_MS);
    const timer = setTimeout(() => {
      done();
      reject(new PopupLoginError('timeout', 'The login popup did not complete in time'));
    }, timeoutMs);
    const done = () => {
      window.removeEventListener('message', onMessage);
      clearInterval(poll);
      clearTimeout(timer);
    };
    window.addEventListener('message', onMessage);
  });
}

function centredFeatures(width: number, height: number): string {
  if (typeof window === 'undefined') return `popup=yes,width=${width},height=${height}`;
  const left = Math.max(0, Math.round((window.screenX ?? 0) + ((window.outerWidth ?? width) - width) / 2));
  const top = Math.max(0, Math.round((window.screenY ?? 0) + ((window.outerHeight ?? height) - height) / 2));
  return `popup=yes,width=${width},height=${height},left=${left},top=${top}`;
}
