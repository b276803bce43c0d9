export * from './conditions.ts';
export type * from './core.ts';
export type * from './local.ts';
export * from './multicluster.ts';
export * from './names.ts';
export type * from './policy.ts';
export type * from './rbac.ts';
export type * from './traffic.ts';
