import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The project runs and is tested on a Node LTS (issue 16): Node 20 reached end of life in April 2026. */
describe('Node LTS', () => {
  const root = path.resolve(__dirname, '../..');
  const lts = Number(/^NODE_LTS_MAJOR=(\d+)/m.exec(readFileSync(path.join(root, 'scripts/lib.sh'), 'utf8'))?.[1]);

  it('runs these tests on Node >= the pinned LTS major (scripts/lib.sh ensure_node puts it first on PATH)', () => {
    expect(lts).toBeGreaterThanOrEqual(22);
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(lts);
  });

  it('asks for that major in package.json engines and builds the image on it', () => {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
    expect(pkg.engines.node).toBe(`>=${lts}`);
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toContain(`FROM node:${lts}-`);
  });
});
