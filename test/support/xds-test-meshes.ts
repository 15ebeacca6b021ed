/** Small meshes (YAML) for the Envoy flavour's tests, each exercising a group of rules. */

/** Clusters (C-1..C-8): STATIC with subsets and SANs, MESH_EXTERNAL, DR TLS modes, DNS, DNS_ROUND_ROBIN, NONE. */
export const SHOP = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: cart, namespace: shop }
spec:
  hosts: [cart.shop.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  subjectAltNames: [spiffe://cluster.local/ns/shop/sa/cart-legacy]
  ports:
    - { number: 80, name: http, protocol: HTTP, targetPort: 8080 }
    - { number: 9090, name: grpc, protocol: GRPC }
  endpoints:
    - { address: 10.1.0.2, serviceAccount: cart, labels: { version: v2 } }
    - { address: 10.1.0.1, serviceAccount: cart-v1, labels: { version: v1 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: cart, namespace: shop }
spec:
  host: cart.shop.internal
  subsets: [{ name: v1, labels: { version: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: partner, namespace: shop }
spec:
  hosts: [partner.example.com]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 192.0.2.7, serviceAccount: partner }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: pay, namespace: shop }
spec:
  hosts: [pay.shop.internal, plain.shop.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 10.1.1.1, serviceAccount: pay }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: pay, namespace: shop }
spec:
  host: pay.shop.internal
  trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: plain, namespace: shop }
spec:
  host: plain.shop.internal
  trafficPolicy: { tls: { mode: DISABLE } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: api, namespace: shop }
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{ number: 443, name: https, protocol: HTTPS }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: shop }
spec:
  host: api.example.com
  trafficPolicy: { tls: { mode: SIMPLE } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: db, namespace: shop }
spec:
  hosts: [db.example.com]
  addresses: [192.0.2.10]
  resolution: DNS_ROUND_ROBIN
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: nothing-selected, namespace: shop }
spec:
  hosts: [empty.shop.internal]
  location: MESH_INTERNAL
  resolution: DNS
  ports: [{ number: 80, name: http, protocol: HTTP }]
  workloadSelector: { labels: { app: nobody } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: legacy, namespace: shop }
spec:
  hosts: [legacy.shop.internal]
  addresses: [192.0.2.20]
  location: MESH_INTERNAL
  resolution: NONE
  ports: [{ number: 8000, name: tcp, protocol: TCP, targetPort: 9000 }]
`;

/** Outbound listeners: HTTP and unset-protocol ports, a Redis and a TCP port, consistent hash. */
export const WEB = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: a, namespace: web }
spec:
  hosts: [a.web.internal]
  addresses: [10.40.0.1]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }, { number: 6379, name: redis, protocol: Redis }]
  endpoints: [{ address: 10.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: b, namespace: web }
spec:
  hosts: [b.web.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: web }, { number: 7070, name: tcp, protocol: TCP }]
  endpoints: [{ address: 10.0.0.2 }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: b, namespace: web }
spec:
  host: b.web.internal
  trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: x-user } } }
`;

/** A VM (10.5.0.7) selected by a service exported nowhere, with a ports-map override. */
export const VM = `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: vm, namespace: apps }
spec:
  address: 10.5.0.7
  serviceAccount: vm
  labels: { app: vm }
  ports: { grpc: 9443 }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: web, namespace: apps }
spec:
  hosts: [web.apps.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  exportTo: ["~"]
  ports:
    - { number: 80, name: http, protocol: HTTP, targetPort: 8080 }
    - { number: 9090, name: grpc, protocol: GRPC }
    - { number: 5432, name: tcp-db, protocol: TCP }
  workloadSelector: { labels: { app: vm } }
`;

/** Issue 7: two proxyless services, one whose endpoints all have identities and one mixed. */
export const SECURE_GRPC = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: secure, namespace: apps}
spec:
  hosts: [secure.apps.test]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  workloadSelector: {labels: {app: secure}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: secure-1, namespace: apps}
spec: {address: 10.6.0.1, labels: {app: secure}, serviceAccount: sa1, ports: {grpc: 8080, admin: 9090}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: secure-2, namespace: apps}
spec: {address: 10.6.0.2, labels: {app: secure}, serviceAccount: sa2, ports: {grpc: 8080}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: mixed, namespace: apps}
spec:
  hosts: [mixed.apps.test]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 80, name: grpc, protocol: GRPC}]
  workloadSelector: {labels: {app: mixed}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: mixed-1, namespace: apps}
spec: {address: 10.6.0.3, labels: {app: mixed}, serviceAccount: sa3, ports: {grpc: 8080}}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: mixed-2, namespace: apps}
spec: {address: 10.6.0.4, labels: {app: mixed}, ports: {grpc: 8080}}
`;
