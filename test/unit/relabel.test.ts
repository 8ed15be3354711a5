import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { md5 } from '../../core/md5';
import { expand, hashMod, parseRelabelConfigs, relabel } from '../../core/relabel';

const steps = (yaml: unknown[]) => parseRelabelConfigs(yaml, 'relabel_configs');

describe('relabel', () => {
  it('md5 is the digest node:crypto computes, for any UTF-8 text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(Buffer.from(md5(text)).toString('hex')).toBe(createHash('md5').update(text, 'utf8').digest('hex'));
      }),
      { numRuns: 500 },
    );
  });

  it("expands replacements as Go's Regexp.Expand: $1, ${1}, $name, $$, the longest name, missing groups empty", () => {
    const match = /^(?<host>[^:]+):(\d+)$/.exec('db-1:9100')!;
    expect(expand('$1', match)).toBe('db-1');
    expect(expand('${2}0', match)).toBe('91000');
    expect(expand('$2x', match)).toBe(''); // the name is "2x": no such group
    expect(expand('${host}.local:$2', match)).toBe('db-1.local:9100');
    expect(expand('$$1 and $', match)).toBe('$1 and $');
    expect(expand('$9', match)).toBe('');
  });

  it('replace: joins source labels with the separator, anchors the regex, expands the target label, deletes on empty', () => {
    const labels = { __address__: 'db-1:9100', env: 'prod', team: 'x' };
    expect(relabel(labels, steps([{ source_labels: ['__address__'], regex: '([^:]+):\\d+', target_label: 'host' }]))).toEqual({ ...labels, host: 'db-1' });
    expect(relabel(labels, steps([{ source_labels: ['env', 'team'], separator: '/', target_label: 'path' }]))).toEqual({ ...labels, path: 'prod/x' });
    expect(relabel(labels, steps([{ source_labels: ['env'], regex: 'pro', target_label: 'x' }]))).toEqual(labels); // anchored: no match
    expect(relabel(labels, steps([{ source_labels: ['env'], regex: '(.*)', target_label: 'env_${1}', replacement: 'yes' }]))).toEqual({ ...labels, env_prod: 'yes' });
    expect(relabel(labels, steps([{ source_labels: ['missing'], target_label: 'team' }]))).toEqual({ __address__: 'db-1:9100', env: 'prod' });
    expect(relabel(labels, steps([{ target_label: 'fixed', replacement: 'v' }]))).toEqual({ ...labels, fixed: 'v' });
  });

  it('keep, drop, keepequal, dropequal decide whether the target or series stays', () => {
    const labels = { __name__: 'go_gc_duration_seconds', job: 'node', copy: 'node' };
    expect(relabel(labels, steps([{ source_labels: ['__name__'], regex: 'go_.*', action: 'drop' }]))).toBeUndefined();
    expect(relabel(labels, steps([{ source_labels: ['__name__'], regex: 'node_.*', action: 'keep' }]))).toBeUndefined();
    expect(relabel(labels, steps([{ source_labels: ['__name__'], regex: 'go_.*', action: 'keep' }]))).toEqual(labels);
    expect(relabel(labels, steps([{ source_labels: ['job'], target_label: 'copy', action: 'dropequal' }]))).toBeUndefined();
    expect(relabel(labels, steps([{ source_labels: ['job'], target_label: 'copy', action: 'keepequal' }]))).toEqual(labels);
  });

  it('labelmap, labeldrop, labelkeep act on label names; lowercase, uppercase and hashmod set the target', () => {
    const labels = { __meta_consul_tag_env: 'prod', __meta_consul_tag_Team: 'ml', job: 'api', tmp_a: '1' };
    expect(relabel(labels, steps([{ regex: '__meta_consul_tag_(.+)', action: 'labelmap' }]))).toEqual({ ...labels, env: 'prod', Team: 'ml' });
    expect(relabel(labels, steps([{ regex: 'tmp_.*|__meta_.*', action: 'labeldrop' }]))).toEqual({ job: 'api' });
    expect(relabel(labels, steps([{ regex: 'job', action: 'labelkeep' }]))).toEqual({ job: 'api' });
    expect(relabel(labels, steps([{ source_labels: ['__meta_consul_tag_Team'], target_label: 'team', action: 'lowercase' }]))).toMatchObject({ team: 'ml' });
    expect(relabel(labels, steps([{ source_labels: ['job'], target_label: 'JOB', action: 'uppercase' }]))).toMatchObject({ JOB: 'API' });
    expect(relabel(labels, steps([{ source_labels: ['job'], target_label: 'shard', modulus: 8, action: 'hashmod' }]))).toMatchObject({ shard: String(hashMod('api', 8)) });
  });

  it('hashmod takes the last 8 bytes of the md5, big-endian, modulo the modulus', () => {
    const digest = createHash('md5').update('10.0.0.1:9100').digest();
    expect(hashMod('10.0.0.1:9100', 1000)).toBe(Number(digest.readBigUInt64BE(8) % 1000n));
  });

  it('refuses bad steps naming the field', () => {
    expect(() => steps([{ action: 'rename' }])).toThrow('relabel_configs[0].action: "rename" is not one of');
    expect(() => steps([{ action: 'hashmod', target_label: 'x' }])).toThrow('relabel_configs[0].modulus');
    expect(() => steps([{ action: 'replace', source_labels: ['a'] }])).toThrow('relabel_configs[0].target_label: required');
    expect(() => steps([{ regex: '(' }])).toThrow('relabel_configs[0].regex');
    expect(() => steps([{ source_labels: ['a-b'], target_label: 'x' }])).toThrow('relabel_configs[0].source_labels');
    expect(() => steps([{ sourceLabels: ['a'] }])).toThrow('relabel_configs[0].sourceLabels: unknown field');
  });
});
