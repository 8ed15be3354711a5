import path from 'node:path';

/** PROJECT_ROOT is the repository folder, whether this code runs from source (ts-jest) or from dist/. */
export const PROJECT_ROOT = path.basename(path.resolve(__dirname, '..')) === 'dist' ? path.resolve(__dirname, '..', '..') : path.resolve(__dirname, '..');

/** fromRoot resolves a path relative to the project root (absolute paths pass through). */
export function fromRoot(p: string): string {
  return path.resolve(PROJECT_ROOT, p);
}
