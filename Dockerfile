# llmrtc as a container: the packed package installed into a small app, as a user installs it.
#   docker build -t llmrtc . && docker run --rm -p 8787:8787 -e OPENAI_API_KEY=sk-... llmrtc
# `docker stop` sends SIGTERM to PID 1, which is node itself (exec-form CMD, no npm or shell in between),
# so the server drains turns in progress (DRAIN_TIMEOUT_MS, 30 s by default) before it exits. Docker's own
# stop timeout is 10 s: give it more than the drain (`docker stop -t 40`, compose `stop_grace_period: 40s`).

# Debian (glibc): @roamhq/wrtc ships prebuilt binaries for glibc Linux, not for Alpine's musl.
FROM node:22-bookworm-slim AS build
# onnxruntime-node's install script downloads CUDA libraries on Linux x64; the CPU runtime is already in
# the package. This image's npm predates package.json's allowScripts, so the environment says it.
ENV ONNXRUNTIME_NODE_INSTALL=skip
WORKDIR /src
COPY . .
# npm ci builds dist/ (the prepare script); pack does not build it again.
RUN npm ci --no-audit --no-fund && npm pack --ignore-scripts --pack-destination /tmp

FROM node:22-bookworm-slim
ENV NODE_ENV=production ONNXRUNTIME_NODE_INSTALL=skip HOST=0.0.0.0 PORT=8787
# Optional local speech without API keys (GPL-3, a separate process): uncomment for the local TTS and STT.
# RUN apt-get update && apt-get install -y --no-install-recommends espeak-ng pocketsphinx pocketsphinx-en-us && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /tmp/llmrtc-llmrtc-backend-*.tgz /tmp/
RUN npm init -y >/dev/null \
  && npm install --omit=dev --no-audit --no-fund /tmp/llmrtc-llmrtc-backend-*.tgz fastify@5 \
  && rm /tmp/llmrtc-llmrtc-backend-*.tgz && npm cache clean --force
USER node
EXPOSE 8787
HEALTHCHECK --interval=10s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "node_modules/@llmrtc/llmrtc-backend/dist/bin/llmrtc-backend.js"]
