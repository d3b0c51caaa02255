import { useCallback, useSyncExternalStore } from 'react';

/** The smallest router that does the job here: the path, and a navigate function using the History API. */
const subscribe = (onChange: () => void) => {
  window.addEventListener('popstate', onChange);
  return () => window.removeEventListener('popstate', onChange);
};
const getPath = () => window.location.pathname;

export function useLocation(): [string, (to: string, options?: { replace?: boolean }) => void] {
  const path = useSyncExternalStore(subscribe, getPath, () => '/');
  const navigate = useCallback((to: string, options: { replace?: boolean } = {}) => {
    if (options.replace) window.history.replaceState(null, '', to);
    else window.history.pushState(null, '', to);
    window.dispatchEvent(new PopStateEvent('popstate'));
  }, []);
  return [path, navigate];
}
