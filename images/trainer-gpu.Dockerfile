# syntax=docker/dockerfile:1
# cifar-trainer for NVIDIA GPU nodes: @tensorflow/tfjs-node-gpu 4.x, which needs CUDA 11.2,
# cuDNN 8.1 and an NVIDIA driver >= 450 on the node (tensorflow/tfjs#8362). The base image
# carries the CUDA 11.2 runtime and cuDNN 8; the driver comes from the node through the
# NVIDIA container toolkit. Runs as uid 1000.
#   docker build -f images/trainer-gpu.Dockerfile -t cifar-operator/trainer-gpu:dev .
ARG NODE_IMAGE=node:24.22-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.2.2-cudnn8-runtime-ubuntu20.04

FROM ${NODE_IMAGE} AS node

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY contract ./contract
COPY operator ./operator
COPY trainer ./trainer
RUN npx tsc -p tsconfig.build.json

# Dependencies are installed on the CUDA image itself, so a binding tfjs-node-gpu has to
# compile links against the same Ubuntu 20.04 libraries it runs with.
FROM ${CUDA_IMAGE} AS deps
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# Node 24 from the official image (its binaries need glibc 2.28; Ubuntu 20.04 has 2.31).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm
WORKDIR /app
COPY package.json package-lock.json ./
# Run only tfjs-node-gpu's install script (libtensorflow built for CUDA 11.2); drop the CPU package.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm rebuild @tensorflow/tfjs-node-gpu \
 && rm -rf node_modules/@tensorflow/tfjs-node \
 && npm cache clean --force

FROM ${CUDA_IMAGE}
ENV NODE_ENV=production \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN chmod 0755 dist/trainer/cli/main.js \
 && ln -s /app/dist/trainer/cli/main.js /usr/local/bin/cifar-trainer \
 && groupadd --gid 1000 trainer \
 && useradd --uid 1000 --gid 1000 --no-create-home --shell /usr/sbin/nologin trainer
USER 1000:1000
ENTRYPOINT ["cifar-trainer"]
