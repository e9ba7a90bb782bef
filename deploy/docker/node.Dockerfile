# syntax=docker/dockerfile:1
# One image for every TypeScript service (the npm workspace): the Deployment's `command` picks the
# service (node gateway/dist/main.js, node subgraphs/<context>/dist/main.js). Two targets:
#   service  production dependencies only: what the gateway and the subgraphs run
#   migrate  the full build (the Prisma CLI is a dev dependency): the migrations Job
# Build from the repository's root (not checked here: this machine has no container engine):
#   docker build -f deploy/docker/node.Dockerfile --target service -t <registry>/coursegraph-node .
#   docker build -f deploy/docker/node.Dockerfile --target migrate -t <registry>/coursegraph-migrate .
# node.Dockerfile.dockerignore beside this file keeps .data/, node_modules/ and build output out of the context.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# The whole workspace: npm ci needs every package.json and patches/ (postinstall), the build needs
# the Prisma schemas, the SDL and schema/events/.
COPY . .
RUN npm ci --no-audit --no-fund && npm run build

FROM build AS migrate
USER node
# Applies every context's pending migrations, each as its context's own role (<CONTEXT>_DATABASE_URL).
CMD ["node", "scripts/prisma.mjs", "deploy"]

FROM build AS pruned
RUN npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS service
ENV NODE_ENV=production
WORKDIR /app
COPY --from=pruned --chown=root:root /app /app
# Runs as the image's unprivileged user; the root filesystem can be mounted read-only (logs go to stdout).
USER node
EXPOSE 4000 4001 4002 4003 4004 4005 4006 4007
CMD ["node", "gateway/dist/main.js"]
