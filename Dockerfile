# Sluice container image: non-root, Node pinned to the version the project pins (package.json
# devDependency `node`, 24.21.0). Build: docker build -t sluice:0.1.0 .
# Run: docker run -v $PWD/sluice.yaml:/etc/sluice/sluice.yaml sluice:0.1.0 run -c /etc/sluice/sluice.yaml
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
# The optional kerberos addon (Kafka GSSAPI) needs libkrb5-dev to build; without it npm skips it.
# Scripts are off, so the Aedes security patch (decision 0010) is applied explicitly.
RUN npm ci --no-audit --no-fund --ignore-scripts && npx patch-package --error-on-fail
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The dashboard (docs/dashboard.md): built into dist/web, served under / by the API.
COPY web ./web
RUN npx tsc -p tsconfig.build.json && npm run -s build:web && npm prune --omit=dev --ignore-scripts

FROM node:24.21.0-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json LICENSE ./
COPY bin ./bin
COPY schema ./schema
# The image's `node` user (uid 1000); the Helm chart runs it with runAsNonRoot.
USER 1000:1000
EXPOSE 1883 8083 18083
# `sluice run` drains on SIGTERM (shutdown.drain_timeout); node runs as PID 1 with its own
# signal handlers, so no init wrapper is needed.
ENTRYPOINT ["node", "--max-semi-space-size=8", "bin/sluice.js"]
CMD ["run", "-c", "/etc/sluice/sluice.yaml"]
