// The resources the demo applies, as a user would write them.

/** The demo's namespace in both clusters. */
export const NAMESPACE = 'shop';

const backendService = (exported: boolean) => `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: shop${exported ? '\n  labels:\n    mirror.strait.io/exported: "true"' : ''}
spec:
  selector:
    app: backend
  ports:
    - name: http
      port: 8080
      targetPort: http
    - name: grpc
      port: 9090
      targetPort: grpc
`;

/** The back end's Service, not exported. */
export const BACKEND = backendService(false);

/** The back end's Service with the export label. */
export const EXPORTED_BACKEND = backendService(true);

/** `backend` split evenly between west's own back end and east's mirror. */
export const EVEN_SPLIT = `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: backend
  namespace: shop
spec:
  service: backend
  backends:
    - service: backend
      weight: 50
    - service: backend-east
      weight: 50
`;

/** The same split handed to the failover operator, with a short hold-down and ramp for the demo. */
export const FAILOVER_SPLIT = `apiVersion: split.smi-spec.io/v1alpha2
kind: TrafficSplit
metadata:
  name: backend
  namespace: shop
  labels:
    failover.strait.io/controlled-by: strait-failover
  annotations:
    failover.strait.io/primary-service: backend
    failover.strait.io/hold-down: 3s
    failover.strait.io/ramp-steps: "25,50,100"
    failover.strait.io/ramp-step-interval: 1s
spec:
  service: backend
  backends:
    - service: backend
      weight: 50
    - service: backend-east
      weight: 50
`;
