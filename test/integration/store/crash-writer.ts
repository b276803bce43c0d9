// Writes to a local store in a loop and reports each acknowledged write on
// stdout, until it is killed. Used by crash.test.ts.
//   node crash-writer.ts DIR FIRST
// Step i creates ConfigMap item-i; every fourth step also rewrites item-(i-1)
// and every tenth deletes item-(i-5). Each acknowledgement is one line:
// `<op> <name> <resourceVersion>`.
import type { Resource } from '../../../src/core/resource.ts';
import { openLocalStore } from '../../../src/platform/local/store/index.ts';

const [dir, first] = process.argv.slice(2) as [string, string];
const store = await openLocalStore({ dir, snapshotEvery: 40 });
const ref = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'default', name });
const ack = (line: string) => process.stdout.write(`${line}\n`);

for (let i = Number(first); ; i++) {
  const created = await store.create<Resource>({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `item-${i}`, namespace: 'default' },
    data: { step: String(i), filler: 'x'.repeat(i % 300) },
  });
  ack(`create item-${i} ${created.metadata.resourceVersion}`);
  if (i % 4 === 0 && i > Number(first)) {
    const patched = await store.patch(ref(`item-${i - 1}`), { data: { rewritten: 'yes' } });
    ack(`patch item-${i - 1} ${patched.metadata.resourceVersion}`);
  }
  if (i % 10 === 0 && i - 5 >= Number(first)) {
    await store.delete(ref(`item-${i - 5}`));
    ack(`delete item-${i - 5} ${store.resourceVersion}`);
  }
}
