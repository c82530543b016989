# eime-router: multi-stage build, non-root runtime, `node dist/main.js`.
#   docker build -t eime-router .
#   docker run -e EIME_XMPP_SECRET=… -e EIME_XMPP_SERVICE=xmpp://prosody:5347 \
#              -e EIME_XMPP_DOMAIN=router.example.org -e EIME_USER_DOMAIN=example.org \
#              -e DATABASE_URL=postgres://… -e EIME_SECRET_KEY=… -p 8080:8080 eime-router
# BASE: any Debian-based image with Node 20 and npm and a `node` user (uid
# 1000); scripts/test-image.sh builds one from Debian's packages where no
# registry is reachable.
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${BASE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM ${BASE}
ENV NODE_ENV=production \
    EIME_HTTP_HOST=0.0.0.0 \
    EIME_HTTP_PORT=8080 \
    EIME_DATA_DIR=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
# Embedded PGlite keeps its files here when DATABASE_URL is unset.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.EIME_HTTP_PORT||8080)+'/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/main.js"]
