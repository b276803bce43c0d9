# One image for every Strait component: the CLI, the control plane (identity,
# destination, policy, proxy injector), the proxy, proxy-init, the gateway and
# the multicluster controllers. Each Deployment picks its entry point:
#   command: ["node", "/app/src/cmd/<entry>.ts"]
# except the proxy and the gateway, which run compiled, with the Node flags of
# src/proxy/launch.ts: ["node", <flags>, "/app/dist/cmd/<entry>.js"].
# TypeScript runs directly on Node 24 (type stripping). The build stage compiles
# the native addons (SO_ORIGINAL_DST, malloc trimming, idle-priority compiler
# threads) and the data plane (scripts/build-proxy.ts); the image keeps neither
# the compiler nor TypeScript.

FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY native ./native
COPY scripts ./scripts
COPY src ./src
# The install script builds the addons in native/build/Release/ and, with the
# development dependencies (TypeScript) present, the data plane in dist/.
# npm install rather than npm ci: the lock file lists only linux-x64's optional
# packages (biome, buf), which npm ci would require for every platform.
RUN npm install --no-audit --no-fund \
 && test -f native/build/Release/original_dst.node \
 && test -f native/build/Release/malloc_trim.node \
 && test -f native/build/Release/idle_threads.node \
 && test -f dist/cmd/proxy.js \
 && test -f dist/cmd/gateway.js \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
# proxy-init runs iptables (as root, with NET_ADMIN, in the pod's init container only).
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 2103 strait \
 && useradd --uid 2103 --gid 2103 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin strait
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/native/build/Release/original_dst.node /app/native/build/Release/malloc_trim.node /app/native/build/Release/idle_threads.node ./native/build/Release/
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY src ./src
# Nothing is written outside /tmp, which the manifests mount as an emptyDir, so the
# root filesystem can be read-only. The injected proxy runs as UID 2102 (set by the pod).
ENV NODE_ENV=production \
    NODE_COMPILE_CACHE=/tmp/node-compile-cache
USER 2103:2103
ENTRYPOINT ["node"]
CMD ["/app/src/cmd/strait.ts", "--help"]
