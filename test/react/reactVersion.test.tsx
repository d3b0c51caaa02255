// @vitest-environment jsdom
/**
 * Which React this run really uses. The `tabauth` project runs the React and Query suites on the installed React 19;
 * the `react18` project runs them again on React 18.3 (vite.config.ts). A mistake in that set-up would quietly test
 * React 19 twice, or mix a React 18 react-dom with React 19; this fails instead.
 */
import { render, screen } from '@testing-library/react';
import { QueryClient } from '@tanstack/react-query';
import { createRequire } from 'node:module';
import * as React from 'react';
import * as ReactDOM from 'react-dom';
import { describe, expect, it } from 'vitest';

const expectedMajor = process.env.TABAUTH_TEST_REACT;

describe('the React under test', () => {
  it('is the major version of this vitest project, everywhere in the process', () => {
    expect(expectedMajor).toMatch(/^(18|19)$/);
    expect(React.version.split('.')[0]).toBe(expectedMajor);
    expect(ReactDOM.version).toBe(React.version);
    // What Node itself loads for CommonJS code (react-dom's own require('react'), testing-library's CJS build).
    const require = createRequire(import.meta.url);
    expect((require('react') as typeof React).version).toBe(React.version);
    expect((require('react-dom') as typeof ReactDOM).version).toBe(React.version);
  });

  it('renders through @testing-library/react and runs a hook (one React instance: no invalid hook call)', () => {
    function Counter() {
      const [count] = React.useState(41);
      return <span data-testid="count">{count + 1}</span>;
    }
    render(<Counter />);
    expect(screen.getByTestId('count').textContent).toBe('42');
    expect(new QueryClient()).toBeInstanceOf(QueryClient);
  });
});
