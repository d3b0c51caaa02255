/** What the devtools need from the page: its visibility, and when it goes away or comes back (bfcache). */
export interface DevtoolsPage {
  /** Whether the page is currently shown. */
  isVisible(): boolean;
  /** 'visibility': shown or hidden; 'hide': the page is unloading or entering the bfcache; 'show': back from the bfcache. */
  subscribe(listener: (change: 'visibility' | 'hide' | 'show') => void): () => void;
}

/** The real page; where there is no document (a worker, Node) it is always visible and never changes. */
export function browserPage(): DevtoolsPage {
  const doc = typeof document === 'undefined' ? undefined : document;
  const win = typeof window === 'undefined' ? undefined : window;
  return {
    isVisible: () => (doc ? doc.visibilityState !== 'hidden' : true),
    subscribe(listener) {
      if (!doc || !win) return () => {};
      const onVisibility = () => listener('visibility');
      const onHide = () => listener('hide');
      const onShow = (event: PageTransitionEvent) => {
        if (event.persisted) listener('show');
      };
      doc.addEventListener('visibilitychange', onVisibility);
      win.addEventListener('pagehide', onHide);
      win.addEventListener('pageshow', onShow);
      return () => {
        doc.removeEventListener('visibilitychange', onVisibility);
        win.removeEventListener('pagehide', onHide);
        win.removeEventListener('pageshow', onShow);
      };
    },
  };
}
