import { useEffect, useSyncExternalStore, type ReactNode } from 'react';

export type ThemeChoice = 'auto' | 'light' | 'dark';
const ATTRIBUTE = 'data-tabauth-theme';

/**
 * Sets the demos' colour scheme on <html>. A tab iframe of a demo follows the page that contains it, so switching
 * the theme in the toolbar recolours every tab without reloading them.
 */
export function ThemeRoot({ theme, children }: { theme: ThemeChoice; children: ReactNode }) {
  useEffect(() => {
    const root = document.documentElement;
    const parentRoot = demoParentRoot();
    if (!parentRoot) {
      // 'auto' is resolved here, so the stylesheet needs one dark palette, not a second copy inside a media query.
      const media = typeof window.matchMedia === 'function' ? window.matchMedia('(prefers-color-scheme: dark)') : null;
      const apply = () => root.setAttribute(ATTRIBUTE, theme === 'auto' ? (media?.matches ? 'dark' : 'light') : theme);
      apply();
      if (theme !== 'auto' || !media) return;
      media.addEventListener('change', apply);
      return () => media.removeEventListener('change', apply);
    }
    const copy = () => root.setAttribute(ATTRIBUTE, parentRoot.getAttribute(ATTRIBUTE) ?? theme);
    copy();
    const observer = new MutationObserver(copy);
    observer.observe(parentRoot, { attributes: true, attributeFilter: [ATTRIBUTE] });
    return () => observer.disconnect();
  }, [theme]);
  return <>{children}</>;
}

/** The <html> of the demo page when this document is one of its tab iframes. */
function demoParentRoot(): HTMLElement | null {
  try {
    if (window.parent === window || !window.parent.__tabauthDemo) return null;
    return window.parent.document.documentElement.hasAttribute(ATTRIBUTE) ? window.parent.document.documentElement : null;
  } catch {
    return null;
  }
}

/** The colour scheme ThemeRoot resolved for this document ('light' or 'dark'), for components that style themselves. */
export function useDemoTheme(): 'light' | 'dark' {
  return useSyncExternalStore(subscribeToTheme, readTheme, () => 'light');
}

function readTheme(): 'light' | 'dark' {
  return document.documentElement.getAttribute(ATTRIBUTE) === 'dark' ? 'dark' : 'light';
}

function subscribeToTheme(onChange: () => void): () => void {
  const observer = new MutationObserver(onChange);
  observer.observe(document.documentElement, { attributes: true, attributeFilter: [ATTRIBUTE] });
  return () => observer.disconnect();
}
