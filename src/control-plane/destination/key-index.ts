/**
 * A many-to-many index of string keys, stored as small arrays: most keys
 * hold one value (one workload per IP, one Endpoints per workload), and at
 * tens of thousands of keys arrays cost far less memory than Sets.
 */
export class KeyIndex {
  readonly #values = new Map<string, string[]>();

  get(key: string): readonly string[] {
    return this.#values.get(key) ?? [];
  }

  add(key: string, value: string): void {
    const values = this.#values.get(key);
    if (!values) this.#values.set(key, [value]);
    else if (!values.includes(value)) values.push(value);
  }

  remove(key: string, value: string): void {
    const values = this.#values.get(key);
    if (!values) return;
    const index = values.indexOf(value);
    if (index !== -1) values.splice(index, 1);
    if (values.length === 0) this.#values.delete(key);
  }
}
