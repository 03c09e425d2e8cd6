# syntax=docker/dockerfile:1
# One image for every Chat4All process; the command picks the service:
#   node dist/services/api/main.js | dist/services/router/main.js | dist/services/connectors/main.js
#   | dist/services/provider-sim/main.js | dist/operator/main.js
#   | dist/services/core/cassandra-schema-main.js (the one-off Cassandra schema Job)
# (charts/chat4all and cdk8s/workloads.ts use exactly these commands.)

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: compile TypeScript to JavaScript and the native module (better-sqlite3) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY services ./services
COPY operator ./operator
# The experiment engine drives its load with the load generator (operator/engine.ts imports it).
COPY loadtest ./loadtest
# The web client's page, script and style are served as they are (no build step): copy them beside the compiled routes.
RUN npx tsc -p tsconfig.build.json \
 && cp -r services/api/web-client/assets dist/services/api/web-client/ \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime: production dependencies and compiled JavaScript only, as a non-root user ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --system --gid 10001 chat4all \
 && useradd --system --uid 10001 --gid chat4all --no-create-home --shell /usr/sbin/nologin chat4all
COPY --from=build --chown=root:root /app/package.json ./package.json
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
# The root filesystem is read-only in the cluster: everything written goes to /tmp (an emptyDir).
ENV DATA_DIR=/tmp/chat4all
USER 10001:10001
EXPOSE 8080 8090 8091 8092 9300
STOPSIGNAL SIGTERM
CMD ["node", "dist/services/api/main.js"]
