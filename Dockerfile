# The module's image for docker-compose: API, worker and scraper run from the same build.
# Node 22 LTS (Node 20 reached end of life in April 2026). Build stage: all dependencies and the TypeScript build;
# runtime stage: production dependencies only, the compiled code, the config and SQL it reads, fonts for the
# weekly report's charts, and a non-root user.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.build.json

FROM node:22-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
COPY db ./db
COPY api/static ./api/static
RUN mkdir -p /app/.local && chown node:node /app/.local
USER node
CMD ["node", "dist/api/server.js"]
