import type { Config } from '../core/config';
import { parseOncallSchedule, scheduleDocument, type OncallSchedule } from '../core/oncall';
import { createConfigStore, type ConfigStoreDeps } from './config-store';

/** StoredSchedule is an on-call schedule as kept: the schedule, its version and who changed it when. */
export interface StoredSchedule {
  schedule: OncallSchedule;
  version: number;
  updatedBy: string;
  updatedAt: string;
}

/**
 * createOncallStore keeps the on-call schedules made through the admin API — versioned, durable in ClickHouse and
 * cached in Redis (store/config-store.ts), so every worker and API process answers "who is on call" alike. Stored in
 * the API's document shape, read back through the one parser.
 */
export function createOncallStore({ config, ...deps }: Omit<ConfigStoreDeps, 'database'> & { config: Config }) {
  const taskQueue = config.temporal.taskQueue;
  const store = createConfigStore({ ...deps, database: config.clickhouse.database }, 'schedule', taskQueue, `oncall:schedules:${taskQueue}`);
  const read = (json: string): StoredSchedule => {
    const stored = JSON.parse(json) as Omit<StoredSchedule, 'schedule'> & { schedule: unknown };
    return { ...stored, schedule: parseOncallSchedule(stored.schedule, 'stored') };
  };
  return {
    /** all returns every schedule by name. */
    async all(): Promise<Map<string, StoredSchedule>> {
      return new Map([...(await store.all())].map(([name, json]) => [name, read(json)]));
    },

    /** get returns one schedule, or undefined. */
    async get(name: string): Promise<StoredSchedule | undefined> {
      return (await this.all()).get(name);
    },

    /** put stores a new version of a schedule; `expectedVersion` (optimistic locking) refuses a stale edit. */
    async put(schedule: OncallSchedule, by: string, expectedVersion?: number): Promise<StoredSchedule | { conflict: number }> {
      const version = (await this.get(schedule.name))?.version ?? 0;
      if (expectedVersion !== undefined && expectedVersion !== version) return { conflict: version };
      const stored = { schedule, version: version + 1, updatedBy: by, updatedAt: new Date().toISOString() };
      await store.put(schedule.name, JSON.stringify({ ...stored, schedule: scheduleDocument(schedule) }));
      return stored;
    },

    /** remove deletes a schedule; false if there was none. */
    async remove(name: string): Promise<boolean> {
      return store.remove(name);
    },
  };
}

/** OncallStore reads and writes on-call schedules. */
export type OncallStore = ReturnType<typeof createOncallStore>;
