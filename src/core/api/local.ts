import type { Resource } from '../resource.ts';

/** The local platform's pod: an application process with its proxy. */
export interface WorkloadSpec {
  serviceAccountName: string;
  /** Command line of the application, when the platform starts it. */
  command?: string[];
  ports: { name?: string; port: number; protocol?: 'TCP' }[];
  /** HTTP path of the application's readiness check, on its first port. */
  readinessPath?: string;
  /** Address of the workload on the host (its own loopback address). */
  address?: string;
  proxy?: { inboundPort: number; outboundPort: number; adminPort: number };
}

export interface WorkloadStatus {
  phase?: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  /** The address peers use: the workload's IP. */
  address?: string;
  ready?: boolean;
  proxyReady?: boolean;
  appReady?: boolean;
  pid?: number;
  proxyPid?: number;
  startedAt?: string;
  message?: string;
}

export type Workload = Resource<WorkloadSpec, WorkloadStatus>;
