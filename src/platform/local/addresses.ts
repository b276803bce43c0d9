import { StraitError } from '../../core/errors.ts';

/**
 * Each local cluster owns the loopback block 127.N.0.0/16: its control plane
 * listens on 127.N.0.1 and its workloads get 127.N.x.y from 127.N.1.1 on.
 * Linux routes all of 127.0.0.0/8 to the loopback device, so no set-up is needed.
 */
export interface AddressBlock {
  index: number;
  cidr: string;
  controlPlane: string;
}

export function addressBlock(index: number): AddressBlock {
  if (!Number.isInteger(index) || index < 1 || index > 254) {
    throw new StraitError('E_ADDRESS_BLOCK', `cluster address block ${index} is out of range 1-254`);
  }
  return { index, cidr: `127.${index}.0.0/16`, controlPlane: `127.${index}.0.1` };
}

/** The n-th workload address of a block (n from 0): 127.N.1.1, 127.N.1.2, … */
export function workloadAddress(index: number, n: number): string {
  if (n < 0 || n >= 254 * 254)
    throw new StraitError('E_ADDRESS_BLOCK', `cluster ${index} has no free address`);
  return `127.${index}.${1 + Math.floor(n / 254)}.${1 + (n % 254)}`;
}

/** Whether `address` is inside the block. */
export function inBlock(index: number, address: string): boolean {
  return address.startsWith(`127.${index}.`);
}
