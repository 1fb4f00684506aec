# syntax=docker/dockerfile:1
# cifar-operator: the controller as one bundled ES module on Node 24 (the current LTS), run as uid 1000.
# Build from the repository root:
#   docker build -f images/operator.Dockerfile -t cifar-operator/operator:dev .
# Pin NODE_IMAGE by digest (node:24.22-bookworm-slim@sha256:...) in release builds.
ARG NODE_IMAGE=node:24.22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts are skipped: the optional TensorFlow native backends are for the trainer images.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY contract ./contract
COPY operator ./operator
COPY trainer ./trainer
# Type-check as CI does, then bundle the operator and its dependencies into one file
# (about 5 MB): the runtime image needs no node_modules.
RUN npx tsc -p tsconfig.json --noEmit \
 && npx esbuild operator/main.ts --bundle --platform=node --format=esm --target=node24 \
      --outfile=/out/cifar-operator.mjs --legal-comments=external \
      --banner:js="import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);"

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /out/ ./
# The node user of the base image; the chart also sets runAsUser 1000 and a read-only root.
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node", "/app/cifar-operator.mjs"]
