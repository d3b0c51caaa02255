/**
 * globalSetup of the `package` vitest project (vite.config.ts), run once before its test files and only when one of
 * them runs: builds the package (`npm run build`), packs it (`npm pack`) into a temporary directory, and installs the
 * tarball into a consumer directory there without any network: the tarball is extracted to
 * node_modules/tabauth and its dependencies and peers are symlinked from this repository's node_modules, as npm
 * would have installed them. The test files read the paths with `inject('packedPackage')`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

export interface PackedPackage {
  /** The repository. */
  root: string;
  /** The `npm pack` tarball. */
  tarball: string;
  /** Files in the tarball, relative to the package root (`dist/index.js`, `package.json`, ...). */
  files: string[];
  /** A directory with node_modules/tabauth installed from the tarball; compile consumer code here. */
  consumerDir: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    packedPackage: PackedPackage;
  }
}

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Packages a consumer of tabauth has next to it: its dependencies, its peers, and the types an app installs. */
function consumerPackages(): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: object; peerDependencies?: object };
  return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), '@types/react', '@types/react-dom'];
}

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  }
}

export default function setup(project: TestProject): () => void {
  run('npm', ['run', 'build', '--silent'], root);
  const temp = mkdtempSync(join(tmpdir(), 'tabauth-package-'));
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', temp], root)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  const tarball = join(temp, packed[0]!.filename);

  const consumerDir = join(temp, 'consumer');
  const installed = join(consumerDir, 'node_modules/tabauth');
  mkdirSync(installed, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1'], temp);
  for (const name of consumerPackages()) {
    const link = join(consumerDir, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), link, 'dir');
  }

  project.provide('packedPackage', { root, tarball, files: packed[0]!.files.map((file) => file.path).sort(), consumerDir });
  return () => rmSync(temp, { recursive: true, force: true });
}
