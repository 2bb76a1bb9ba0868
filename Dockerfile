# echoscope container image: build with the dev toolchain, run on a small image with production
# dependencies only, as a non-root user, under an init process. test/dockerfile.test.ts replays these
# steps (Docker cannot run on the CI machines), so keep each RUN a plain shell command.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
COPY openapi ./openapi
RUN npm run build:server && npm prune --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
# tini as PID 1 forwards SIGTERM to node and reaps zombies, so the graceful drain runs on `docker stop`.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
COPY --from=build /app/openapi ./openapi
# Nothing is written at run time, so the image works with a read-only root filesystem.
USER node
EXPOSE 8080
# The probe reads the configuration as the server does (ECHOSCOPE_PORT over PORT, ECHOSCOPE_HOST, TLS on the
# port, ECHOSCOPE_SYSTEM_PREFIX), so it follows whatever `docker run -e ...` sets.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["node", "/app/dist/src/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/cli.js"]
