import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import { describeError, StraitError } from '../../../core/errors.ts';
import { injectDecision } from './annotations.ts';
import { type InjectOptions, injectPod } from './inject.ts';
import { injectionPatch } from './patch.ts';

/** The path the MutatingWebhookConfiguration calls. */
export const INJECT_PATH = '/inject';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface InjectorWebhookOptions {
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** The serving certificate (PEM, chain first) and key the API server is given the CA of. */
  tls: { certPem: string; keyPem: string };
  inject: Omit<InjectOptions, 'namespaceAnnotations' | 'trustAnchorsPem'>;
  /** Reads a namespace's annotations (undefined when it does not exist). */
  namespaceAnnotations(namespace: string): Promise<Record<string, string> | undefined>;
  /**
   * Reads the control plane's current trust anchors (PEM) for a pod about to be
   * injected; a `StraitError` thrown here refuses the pod with its message.
   */
  trustAnchors(): Promise<string>;
  log?: (line: string) => void;
}

export interface InjectorWebhook {
  /** `https://host:port` */
  url: string;
  port: number;
  close(): Promise<void>;
}

interface AdmissionRequest {
  uid: string;
  kind?: { kind?: string };
  namespace?: string;
  operation?: string;
  object?: V1Pod;
}

/**
 * The proxy injector: an HTTPS server answering AdmissionReview v1 requests
 * for pods with a JSON patch that adds the proxy and proxy-init. A pod whose
 * annotations are malformed is refused with the reason; anything that is not
 * a pod creation is allowed unchanged.
 */
export async function startInjectorWebhook(options: InjectorWebhookOptions): Promise<InjectorWebhook> {
  const log = options.log ?? (() => {});
  const server = https.createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url?.split('?')[0] !== INJECT_PATH) {
      reply(404, { error: `only POST ${INJECT_PATH} is served` });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reply(413, { error: 'AdmissionReview larger than 4 MiB' });
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      review(Buffer.concat(chunks).toString('utf8'), options).then(
        (response) => reply(200, response),
        (error: unknown) => {
          log(`injector: ${describeError(error)}`);
          reply(400, { error: describeError(error) });
        },
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '0.0.0.0';
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Answers one AdmissionReview (the request body's text). */
export async function review(text: string, options: InjectorWebhookOptions): Promise<unknown> {
  let body: { apiVersion?: string; kind?: string; request?: AdmissionRequest };
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new StraitError('E_ADMISSION_REVIEW', `the body is not JSON: ${(error as Error).message}`);
  }
  const request = body?.request;
  if (body?.kind !== 'AdmissionReview' || typeof request?.uid !== 'string') {
    throw new StraitError('E_ADMISSION_REVIEW', 'the body is not an AdmissionReview with request.uid');
  }
  const answer = (response: Record<string, unknown>) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: request.uid, allowed: true, ...response },
  });
  const pod = request.object;
  if (request.kind?.kind !== 'Pod' || request.operation !== 'CREATE' || !pod) return answer({});
  const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
  const name = pod.metadata?.name ?? `${pod.metadata?.generateName ?? ''}…`;
  const namespaceAnnotations = await options.namespaceAnnotations(namespace);
  try {
    const { decision } = injectDecision(pod.metadata?.annotations, namespaceAnnotations);
    const result = injectPod(pod, {
      ...options.inject,
      trustAnchorsPem: decision?.value === 'enabled' ? await options.trustAnchors() : '',
      ...(namespaceAnnotations ? { namespaceAnnotations } : {}),
    });
    options.log?.(`pod ${namespace}/${name}: ${result.injected ? 'injected' : 'skipped'} (${result.reason})`);
    if (!result.injected) return answer({});
    const patch = injectionPatch(pod, result.pod);
    return answer({ patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
  } catch (error) {
    if (!(error instanceof StraitError)) throw error;
    options.log?.(`pod ${namespace}/${name}: refused: ${error.message}`);
    return answer({
      allowed: false,
      status: { code: 400, message: `strait proxy injector: ${error.message}` },
    });
  }
}
