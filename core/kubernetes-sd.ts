/**
 * Kubernetes service discovery as Prometheus' `kubernetes_sd_configs` does it for the roles `pod`, `service` and
 * `endpoints` (discovery/kubernetes): objects of the Kubernetes API (v1 Pod, Service, Endpoints, as list and
 * watch return them) become target groups with Prometheus' `__meta_kubernetes_*` labels, so relabeling written
 * for Prometheus works unchanged. The list+watch side is activities/discovery-watchers.ts; this file is pure.
 */
import type { Labels } from './types';
import type { TargetGroup } from './scrape-config';
import { joinHostPort, sanitizeLabelName } from './consul-sd';
import { configEntries, isRecord } from './guards';

/** KubernetesRole is what a kubernetes_sd_configs entry discovers. */
export type KubernetesRole = 'pod' | 'service' | 'endpoints';

/** KubernetesSdConfig is one entry of a job's kubernetes_sd_configs. */
export interface KubernetesSdConfig {
  role: KubernetesRole;
  apiServer: string;
  /** Namespaces to watch (empty: all). */
  namespaces: string[];
  /** Label and field selectors per role (Prometheus' `selectors`), passed to the API. */
  selectors: Array<{ role: KubernetesRole; label?: string; field?: string }>;
  authorization?: string;
}

const FIELDS = new Set(['role', 'api_server', 'namespaces', 'selectors', 'bearer_token', 'authorization']);
const ROLES = new Set(['pod', 'service', 'endpoints']);

/** parseKubernetesSd reads a job's kubernetes_sd_configs; faults name their field. */
export function parseKubernetesSd(value: unknown, field: string): KubernetesSdConfig[] {
  return configEntries(value, field, FIELDS).map(({ entry: sd, at }) => {
    if (!ROLES.has(String(sd.role))) throw new Error(`${at}.role: one of pod, service, endpoints (node, ingress and endpointslice are not supported)`);
    // In-cluster configuration (a service account's token and CA) is not read: the API server is named.
    if (typeof sd.api_server !== 'string' || !/^https?:\/\//.test(sd.api_server)) throw new Error(`${at}.api_server: required, http(s)://host:port (in-cluster discovery is not supported)`);
    const namespaces = isRecord(sd.namespaces) ? sd.namespaces : {};
    if (namespaces.names !== undefined && !Array.isArray(namespaces.names)) throw new Error(`${at}.namespaces.names: expected a list`);
    const selectors = (Array.isArray(sd.selectors) ? sd.selectors : []).map((s: unknown, j) => {
      if (!isRecord(s) || !ROLES.has(String(s.role))) throw new Error(`${at}.selectors[${j}].role: one of pod, service, endpoints`);
      return { role: s.role as KubernetesRole, ...(s.label !== undefined ? { label: String(s.label) } : {}), ...(s.field !== undefined ? { field: String(s.field) } : {}) };
    });
    let authorization: string | undefined;
    if (isRecord(sd.authorization)) authorization = `${String(sd.authorization.type ?? 'Bearer')} ${String(sd.authorization.credentials ?? '')}`;
    else if (sd.bearer_token !== undefined) authorization = `Bearer ${String(sd.bearer_token)}`;
    return { role: sd.role as KubernetesRole, apiServer: sd.api_server.replace(/\/+$/, ''), namespaces: ((namespaces.names as unknown[] | undefined) ?? []).map(String), selectors, ...(authorization ? { authorization } : {}) };
  });
}

/** The parts of v1 objects discovery reads. */
export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
}
export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}
export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
}
export interface Pod {
  metadata: ObjectMeta;
  spec: { nodeName?: string; containers: Container[]; initContainers?: Container[] };
  status: { podIP?: string; hostIP?: string; phase?: string; conditions?: Array<{ type: string; status: string }> };
}
export interface Service {
  metadata: ObjectMeta;
  spec: { type?: string; clusterIP?: string; externalName?: string; ports?: Array<{ name?: string; port: number; protocol?: string }> };
}
export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: { kind: string; name: string; namespace?: string };
}
export interface Endpoints {
  metadata: ObjectMeta;
  subsets?: Array<{ addresses?: EndpointAddress[]; notReadyAddresses?: EndpointAddress[]; ports?: Array<{ name?: string; port: number; protocol?: string }> }>;
}

const PREFIX = '__meta_kubernetes_';

/** objectLabels are an object's labels and annotations as `<kind>_label_<name>` / `_labelpresent_` / …, sanitized. */
function objectLabels(kind: string, meta: ObjectMeta): Labels {
  const out: Labels = {};
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    out[`${PREFIX}${kind}_label_${sanitizeLabelName(k)}`] = v;
    out[`${PREFIX}${kind}_labelpresent_${sanitizeLabelName(k)}`] = 'true';
  }
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    out[`${PREFIX}${kind}_annotation_${sanitizeLabelName(k)}`] = v;
    out[`${PREFIX}${kind}_annotationpresent_${sanitizeLabelName(k)}`] = 'true';
  }
  return out;
}

/** podReady is the pod's Ready condition: "true", "false", or "unknown" without one. */
function podReady(pod: Pod): string {
  const ready = pod.status.conditions?.find((c) => c.type === 'Ready');
  return ready ? ready.status.toLowerCase() : 'unknown';
}

/** podLabels are a pod's own labels (not its containers'). */
export function podLabels(pod: Pod): Labels {
  const out: Labels = {
    [`${PREFIX}namespace`]: pod.metadata.namespace,
    [`${PREFIX}pod_name`]: pod.metadata.name,
    [`${PREFIX}pod_ip`]: pod.status.podIP ?? '',
    [`${PREFIX}pod_ready`]: podReady(pod),
    [`${PREFIX}pod_phase`]: pod.status.phase ?? '',
    [`${PREFIX}pod_node_name`]: pod.spec.nodeName ?? '',
    [`${PREFIX}pod_host_ip`]: pod.status.hostIP ?? '',
    [`${PREFIX}pod_uid`]: pod.metadata.uid ?? '',
    ...objectLabels('pod', pod.metadata),
  };
  const controller = pod.metadata.ownerReferences?.find((o) => o.controller);
  if (controller) {
    out[`${PREFIX}pod_controller_kind`] = controller.kind;
    out[`${PREFIX}pod_controller_name`] = controller.name;
  }
  return out;
}

const containerLabels = (c: Container, init: boolean): Labels => ({ [`${PREFIX}pod_container_name`]: c.name, [`${PREFIX}pod_container_image`]: c.image ?? '', [`${PREFIX}pod_container_init`]: String(init) });
const portLabels = (p: ContainerPort): Labels => ({ [`${PREFIX}pod_container_port_name`]: p.name ?? '', [`${PREFIX}pod_container_port_number`]: String(p.containerPort), [`${PREFIX}pod_container_port_protocol`]: p.protocol ?? 'TCP' });

/** podGroups: one target per declared container port (the pod's IP without a port for a container without one). */
export function podGroups(pod: Pod): TargetGroup[] {
  const ip = pod.status.podIP;
  if (!ip) return [];
  const base = podLabels(pod);
  const out: TargetGroup[] = [];
  for (const [containers, init] of [[pod.spec.containers, false], [pod.spec.initContainers ?? [], true]] as const) {
    for (const c of containers) {
      if (!c.ports?.length) {
        out.push({ targets: [ip], labels: { ...base, ...containerLabels(c, init) } });
        continue;
      }
      for (const p of c.ports) out.push({ targets: [joinHostPort(ip, p.containerPort)], labels: { ...base, ...containerLabels(c, init), ...portLabels(p) } });
    }
  }
  return out;
}

/** serviceLabels are a service's own labels. */
function serviceLabels(svc: Service): Labels {
  const out: Labels = { [`${PREFIX}namespace`]: svc.metadata.namespace, [`${PREFIX}service_name`]: svc.metadata.name, [`${PREFIX}service_type`]: svc.spec.type ?? 'ClusterIP', ...objectLabels('service', svc.metadata) };
  if (svc.spec.type === 'ExternalName') out[`${PREFIX}service_external_name`] = svc.spec.externalName ?? '';
  else out[`${PREFIX}service_cluster_ip`] = svc.spec.clusterIP ?? '';
  return out;
}

/** serviceGroups: one target per service port, at `<name>.<namespace>.svc:<port>`. */
export function serviceGroups(svc: Service): TargetGroup[] {
  const base = serviceLabels(svc);
  return (svc.spec.ports ?? []).map((p) => ({
    targets: [joinHostPort(`${svc.metadata.name}.${svc.metadata.namespace}.svc`, p.port)],
    labels: { ...base, [`${PREFIX}service_port_name`]: p.name ?? '', [`${PREFIX}service_port_number`]: String(p.port), [`${PREFIX}service_port_protocol`]: p.protocol ?? 'TCP' },
  }));
}

/**
 * endpointsGroups: one target per address and port of the Endpoints object, with its service's labels (the
 * service of the same name) and, for an address backed by a pod, that pod's labels and the container that declares
 * the port.
 */
export function endpointsGroups(ep: Endpoints, services: ReadonlyMap<string, Service>, pods: ReadonlyMap<string, Pod>): TargetGroup[] {
  const key = (ns: string, name: string) => `${ns}/${name}`;
  const svc = services.get(key(ep.metadata.namespace, ep.metadata.name));
  const base: Labels = { [`${PREFIX}namespace`]: ep.metadata.namespace, [`${PREFIX}endpoints_name`]: ep.metadata.name, ...objectLabels('endpoints', ep.metadata), ...(svc ? serviceLabels(svc) : {}) };
  const out: TargetGroup[] = [];
  for (const subset of ep.subsets ?? []) {
    for (const [addresses, ready] of [[subset.addresses ?? [], 'true'], [subset.notReadyAddresses ?? [], 'false']] as const) {
      for (const address of addresses) {
        for (const port of subset.ports ?? []) {
          const labels: Labels = {
            ...base,
            [`${PREFIX}endpoint_port_name`]: port.name ?? '',
            [`${PREFIX}endpoint_port_protocol`]: port.protocol ?? 'TCP',
            [`${PREFIX}endpoint_ready`]: ready,
          };
          if (address.hostname) labels[`${PREFIX}endpoint_hostname`] = address.hostname;
          if (address.nodeName) labels[`${PREFIX}endpoint_node_name`] = address.nodeName;
          if (address.targetRef) {
            labels[`${PREFIX}endpoint_address_target_kind`] = address.targetRef.kind;
            labels[`${PREFIX}endpoint_address_target_name`] = address.targetRef.name;
            const pod = address.targetRef.kind === 'Pod' ? pods.get(key(address.targetRef.namespace ?? ep.metadata.namespace, address.targetRef.name)) : undefined;
            if (pod) {
              Object.assign(labels, podLabels(pod));
              for (const c of pod.spec.containers) {
                const p = c.ports?.find((cp) => cp.containerPort === port.port && (cp.protocol ?? 'TCP') === (port.protocol ?? 'TCP'));
                if (p) Object.assign(labels, containerLabels(c, false), portLabels(p));
              }
            }
          }
          out.push({ targets: [joinHostPort(address.ip, port.port)], labels });
        }
      }
    }
  }
  return out;
}

/** resourcesOf lists the API resources a role watches. */
export function resourcesOf(role: KubernetesRole): Array<'pods' | 'services' | 'endpoints'> {
  return role === 'pod' ? ['pods'] : role === 'service' ? ['services'] : ['endpoints', 'services', 'pods'];
}
