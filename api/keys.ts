import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseKeysFile, type ApiKey } from '../core/auth';

/** loadKeys reads and validates the API keys file. */
export async function loadKeys(file: string): Promise<ApiKey[]> {
  return parseKeysFile(await readFile(file, 'utf8'));
}

/**
 * ensureKeysFile creates the keys file with random tokens when it is missing — one admin, one service and one
 * viewer scoped to ml-inference — readable by its owner only. Returns true when it created the file.
 */
export async function ensureKeysFile(file: string): Promise<boolean> {
  if (existsSync(file)) return false;
  const token = () => randomBytes(24).toString('base64url');
  const keys: ApiKey[] = [
    { name: 'local-admin', token: token(), role: 'admin' },
    { name: 'local-service', token: token(), role: 'service' },
    { name: 'local-viewer', token: token(), role: 'viewer', services: ['ml-inference'] },
  ];
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ keys }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return true;
}

const digest = (text: string) => createHash('sha256').update(text).digest();

/** KeyRing finds the key a bearer token belongs to, comparing against every key in constant time. */
export class KeyRing {
  private readonly digests: Array<{ key: ApiKey; digest: Buffer }>;

  constructor(keys: readonly ApiKey[]) {
    this.digests = keys.map((key) => ({ key, digest: digest(key.token) }));
  }

  /** find returns the key whose token equals `token`, or undefined; every key is compared, whatever matches. */
  find(token: string): ApiKey | undefined {
    const candidate = digest(token);
    let found: ApiKey | undefined;
    for (const entry of this.digests) {
      if (timingSafeEqual(entry.digest, candidate)) found = entry.key;
    }
    return found;
  }
}
