import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { assertGolden, testdataPath } from '../../platform/kubernetes/manifests/golden.ts';

const STRAIT = fileURLToPath(new URL('../../cmd/strait.ts', import.meta.url));
const ANCHORS = testdataPath('pki/anchor.crt');
const strait = (args: string[], input: string, env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [STRAIT, ...args], { input, encoding: 'utf8', env });
const inject = (args: string[], input: string) =>
  strait(['inject', '--identity-trust-anchors-file', ANCHORS, ...args], input);

describe('strait inject', () => {
  const input = readFileSync(testdataPath('inject-input.yaml'), 'utf8');

  it('injects the workloads on stdin, honouring opt-outs, and matches the golden file', () => {
    const result = inject(['-', '--image', 'ghcr.io/strait-mesh/strait:test'], input);
    assert.equal(result.status, 0, result.stderr);
    const out = result.stdout.replace(/strait.io\/proxy-version: .*/g, 'strait.io/proxy-version: VERSION');
    assertGolden('inject-output.yaml', out);
    const docs = parseAllDocuments(result.stdout).map((d) => d.toJS());
    assert.deepEqual(
      docs[0].spec.template.spec.containers.map((c: { name: string }) => c.name),
      ['strait-proxy', 'web'],
    );
    assert.deepEqual(docs[1], parseAllDocuments(input)[1]?.toJS());
    assert.match(result.stderr, /deployment\/web injected/);
    assert.match(result.stderr, /statefulset\/db skipped \(pod annotation linkerd.io\/inject: disabled\)/);
    const proxy = docs[0].spec.template.spec.containers[0];
    const bundle = proxy.env.find((e: { name: string }) => e.name === 'STRAIT_PROXY_TRUST_BUNDLE');
    assert.equal(bundle.value, readFileSync(ANCHORS, 'utf8'));
  });

  it('names an anchors file it cannot read, with exit 1', () => {
    const result = strait(['inject', '--identity-trust-anchors-file', '/nonexistent/anchors.crt'], input);
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /--identity-trust-anchors-file \/nonexistent\/anchors.crt: cannot read the file/,
    );
  });

  it('with --manual-only, leaves unannotated workloads alone', () => {
    const result = inject(['--manual-only'], input);
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /strait-proxy/);
  });

  it('names the document that is not YAML, and a bad annotation, with exit 1', () => {
    const bad = inject([], 'kind: Pod\n---\n: : [\n');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /stdin, document 2: not valid YAML/);
    const annotation = input.replace('"5432"', '"postgres"');
    const refused = inject([], annotation);
    assert.equal(refused.status, 1);
    assert.match(
      refused.stderr,
      /deployment\/web: annotation config.strait.io\/skip-outbound-ports: "postgres"/,
    );
  });
});
