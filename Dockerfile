# The module's image for docker-compose: the API and the worker run from the same build.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.build.json
ENV NODE_ENV=production
CMD ["node", "dist/api/server.js"]
