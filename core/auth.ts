/** Roles and keys of the API, per DESIGN.md: `service` ingests and reads internal routes, `viewer` reads public routes for its own services, `admin` does everything. */

/** Role is what a key may do. */
export type Role = 'service' | 'viewer' | 'admin';

/** ROLES lists every role. */
export const ROLES: readonly Role[] = ['service', 'viewer', 'admin'];

/** ApiKey is one entry of the keys file. */
export interface ApiKey {
  name: string;
  token: string;
  role: Role;
  /** For viewers: the only services the key may read. */
  services?: string[];
}

/**
 * RouteAccess classifies a route for authorization. `signed` routes carry no bearer token: the route itself verifies
 * a signature (Slack's request signature, an e-mail link's token) before doing anything.
 */
export type RouteAccess = 'open' | 'signed' | 'internal' | 'ingest' | 'public' | 'respond' | 'admin';

const ALLOWED: Record<Exclude<RouteAccess, 'open' | 'signed'>, readonly Role[]> = {
  ingest: ['service', 'admin'],
  internal: ['service', 'admin'],
  public: ['viewer', 'admin'],
  // People act on alerts: viewers (for their own services) and admins; services do not.
  respond: ['viewer', 'admin'],
  admin: ['admin'],
};

/** mayAccess says whether a role may call a route of the given access class. */
export function mayAccess(role: Role, access: RouteAccess): boolean {
  return access === 'open' || access === 'signed' || ALLOWED[access].includes(role);
}

/** mayReadService says whether a key may see one service's data: viewers only their listed services. */
export function mayReadService(key: Pick<ApiKey, 'role' | 'services'>, service: string): boolean {
  return key.role !== 'viewer' || (key.services ?? []).includes(service);
}

/** parseKeysFile validates the keys file's JSON (`{"keys":[{name, token, role, services?}]}`), naming the bad field. */
export function parseKeysFile(text: string): ApiKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(`keys file is not valid JSON: ${(err as Error).message}`);
  }
  const keys = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new Error('keys file: "keys" must be an array');
  return keys.map((raw: unknown, i) => {
    const key = raw as Partial<ApiKey>;
    const where = `keys[${i}]`;
    if (typeof key?.name !== 'string' || !key.name) throw new Error(`${where}.name: required string`);
    if (typeof key.token !== 'string' || key.token.length < 16) throw new Error(`${where}.token: required string of 16+ characters`);
    if (!ROLES.includes(key.role as Role)) throw new Error(`${where}.role: one of ${ROLES.join(', ')}`);
    if (key.services !== undefined && (!Array.isArray(key.services) || key.services.some((s) => typeof s !== 'string'))) {
      throw new Error(`${where}.services: array of service names`);
    }
    if (key.role === 'viewer' && !key.services) throw new Error(`${where}.services: required for a viewer`);
    return { name: key.name, token: key.token, role: key.role as Role, ...(key.services ? { services: key.services } : {}) };
  });
}
