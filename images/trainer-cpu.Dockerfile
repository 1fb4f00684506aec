# syntax=docker/dockerfile:1
# cifar-trainer for CPU nodes: Node 24 with @tensorflow/tfjs-node (native TensorFlow on the
# CPU) and the native backend's addon (oneDNN from Debian's libdnnl2, multi-threaded up to the
# pod's CPU limit); --backend auto takes tensorflow, else native, else wasm. Runs as uid 1000.
#   docker build -f images/trainer-cpu.Dockerfile -t cifar-operator/trainer-cpu:dev .
ARG NODE_IMAGE=node:24.22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY contract ./contract
COPY operator ./operator
COPY trainer ./trainer
RUN npx tsc -p tsconfig.build.json

# The native backend's N-API addon, against the image's Node headers (/usr/local/include/node)
# and oneDNN 2.6 from Debian; --require fails the build rather than ship an image without it.
FROM ${NODE_IMAGE} AS native
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdnnl-dev g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY hack/build-native.ts ./hack/
COPY trainer/engine/backend/native ./trainer/engine/backend/native
RUN npm run build:native -- --require

FROM ${NODE_IMAGE} AS deps
# Build tools, in case tfjs-node has to compile its binding instead of downloading it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Install without scripts, then run only tfjs-node's (it downloads libtensorflow for the CPU);
# the unbuilt GPU package is removed.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild @tensorflow/tfjs-node \
 && rm -rf node_modules/@tensorflow/tfjs-node-gpu \
 && npm cache clean --force

FROM ${NODE_IMAGE}
# oneDNN's runtime library (and libgomp) for the native backend.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libdnnl2 \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
ENV CIFAR_NATIVE_ADDON=/app/native/cifar_native.node
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=native /src/trainer/engine/backend/native/build/Release/cifar_native.node ./native/
# The operator runs `cifar-trainer train ...`.
RUN chmod 0755 dist/trainer/cli/main.js \
 && ln -s /app/dist/trainer/cli/main.js /usr/local/bin/cifar-trainer
USER 1000:1000
ENTRYPOINT ["cifar-trainer"]
