# cql-proxy-ts container image.
#
#   docker build -t cql-proxy-ts .
#
# Astra with a secure connect bundle, the token from the environment:
#   docker run -p 9042:9042 -v "$PWD/scb.zip:/etc/astra/scb.zip:ro" \
#     -e ASTRA_BUNDLE=/etc/astra/scb.zip -e ASTRA_TOKEN=AstraCS:... cql-proxy-ts
# or the token from a mounted file, so it shows neither in `ps` nor in `docker inspect`:
#   docker run -p 9042:9042 -v "$PWD/token:/run/secrets/astra-token:ro" \
#     -e ASTRA_TOKEN_FILE=/run/secrets/astra-token -e ASTRA_DATABASE_ID=<uuid> cql-proxy-ts
# Cassandra: -e CONTACT_POINTS=10.0.0.1,10.0.0.2 (and USERNAME/PASSWORD if needed).
# Every flag of `--help` works as an argument after the image name, or as its environment variable.
# No secret is baked into the image: the build context is whitelisted in .dockerignore.

# A Debian (glibc) base: lz4-napi and snappy ship prebuilt binaries per libc, and the
# lockfile resolves the glibc ones. Override for a mirror: --build-arg NODE_IMAGE=...
ARG NODE_IMAGE=node:20-bookworm-slim

# --- Build: dev dependencies, compile, run the tests that need nothing but Node, prune.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json vitest.config.ts ./
COPY src ./src
RUN npm run build
# The codec and configuration suites: no network, no Debian driver packages, a few seconds.
COPY test/helpers ./test/helpers
COPY test/protocol ./test/protocol
COPY test/config ./test/config
RUN npx vitest run test/protocol test/config
RUN npm prune --omit=dev

# --- Runtime: compiled JavaScript and production dependencies only, owned by root and read-only
# to the unprivileged user that runs the proxy (works with a read-only root file system).
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The official Node images have this user (uid 1000).
USER node
# Inside a container, loopback is useless: listen on every interface. The HTTP server serves
# /liveness, /readiness and (with METRICS=true) /metrics.
ENV BIND=0.0.0.0:9042 \
    HTTP_BIND=0.0.0.0:8000 \
    HEALTH_CHECK=true
EXPOSE 9042 8000
# Slim images have no curl: node itself asks /liveness, on the port of HTTP_BIND. (Kubernetes
# ignores HEALTHCHECK and uses its probes; podman and buildah keep it with --format docker.)
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const m = /:(\\d+)$/.exec(process.env.HTTP_BIND ?? ''); fetch(`http://127.0.0.1:${m ? m[1] : '8000'}/liveness`, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node is PID 1 and the proxy handles SIGTERM itself (drain, then exit 0): no init needed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/main.js"]
