import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { temporal as proto } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { quietTemporalLogs, workflowBundle } from '../../helpers/stack';

quietTemporalLogs();

const dir = path.resolve(__dirname, '../../fixtures/histories');
const histories = readdirSync(dir).filter((f) => f.endsWith('.binpb'));

describe('workflow determinism: recorded histories replay against the current workflow code', () => {
  it('has recorded histories to replay', () => {
    expect(histories.length).toBeGreaterThanOrEqual(2);
  });

  it.each(histories)('replays %s without a nondeterminism error', async (file) => {
    const history = proto.api.history.v1.History.decode(readFileSync(path.join(dir, file)));
    await expect(Worker.runReplayHistory({ workflowBundle: workflowBundle() }, history, file)).resolves.toBeUndefined();
  });
});
