// Routers and frameworks the README's callback-route snippets use, which this repository does not install: their
// few functions, declared from their published signatures (test/package/readme.test.ts compiles them with the README).
declare module 'react-router' {
  import type { ReactNode } from 'react';
  export interface RouteObject {
    path?: string;
    element?: ReactNode;
    loader?: (args: { request: Request; params: Record<string, string | undefined> }) => unknown;
    children?: RouteObject[];
  }
  export function createBrowserRouter(routes: RouteObject[]): { navigate(to: string): Promise<void> };
  export function redirect(url: string, init?: number | ResponseInit): Response;
}
declare module '@tanstack/react-router' {
  export interface AnyRoute {
    readonly id: string;
  }
  export function createRootRoute(options?: { component?: () => unknown }): AnyRoute;
  export function createRoute(options: { getParentRoute: () => AnyRoute; path: string; beforeLoad?: () => unknown; component?: () => unknown }): AnyRoute;
  export function redirect(options: { to?: string; href?: string; replace?: boolean }): { readonly isRedirect: true };
}
declare module 'next/navigation' {
  export function useRouter(): { push(href: string): void; replace(href: string): void; back(): void };
}
