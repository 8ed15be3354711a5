import type { Labels } from './types';

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK = 0xffffffffffffffffn;

/** fnv1a64 hashes a string's UTF-8 bytes with 64-bit FNV-1a; pure, so workflows may call it. */
export function fnv1a64(text: string): string {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK;
  }
  return hash.toString(16).padStart(16, '0');
}

/** fingerprint identifies an alert: a stable hash of the rule name and its series' labels in sorted order. */
export function fingerprint(ruleName: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`);
  // \u0000 cannot appear in a rule name or label, so no two label sets join to the same text.
  return fnv1a64([ruleName, ...parts].join('\u0000'));
}

/** alertWorkflowId is the business identity of an alert's lifecycle workflow. */
export function alertWorkflowId(fp: string): string {
  return `alert/${fp}`;
}
