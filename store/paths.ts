import { existsSync } from 'node:fs';
import path from 'node:path';

function findRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(start, '..');
  }
}

/** PROJECT_ROOT is the repository folder (the nearest with package.json), whether this code runs from source or from dist/. */
export const PROJECT_ROOT = findRoot(__dirname);

/** fromRoot resolves a path relative to the project root (absolute paths pass through). */
export function fromRoot(p: string): string {
  return path.resolve(PROJECT_ROOT, p);
}
