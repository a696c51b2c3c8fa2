# amqpd image. Build: `docker build -t amqpd .`
# Run:   `docker run -d -p 5672:5672 -p 15672:15672 -p 15692:15692 -v amqpd-data:/data amqpd`
# No Docker engine runs on the development machines: `npm run lint:docker` lints this file, and
# test/integration/entrypoint.test.ts runs its ENTRYPOINT, CMD and HEALTHCHECK lines without Docker.
#
# Three stages on the same base (Debian bookworm, glibc), so better-sqlite3's native module built
# in `deps` is the one the runtime loads.

# deps: production dependencies only; better-sqlite3 compiles here when no prebuilt binary fits.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

# build: every dependency (TypeScript) and the compile to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build

# runtime: node, the compiled broker, production node_modules; files owned by root, read-only to
# the broker, which runs as the image's unprivileged `node` user and writes only to /data.
FROM node:20-bookworm-slim
LABEL org.opencontainers.image.title="amqpd" \
      org.opencontainers.image.description="An AMQP 0-9-1 broker in TypeScript, a drop-in substitute for RabbitMQ" \
      org.opencontainers.image.licenses="MIT"
# Clients reach a container through its bridge, never from loopback, so guest is not limited to
# loopback here (as the official rabbitmq image: loopback_users.guest = false). Set
# RABBITMQ_DEFAULT_USER/RABBITMQ_DEFAULT_PASS (or AMQPD_DEFAULT_USER/AMQPD_DEFAULT_PASS, which win)
# to replace guest on the first start. /app/bin on PATH: `docker exec <container> amqpctl status`.
ENV NODE_ENV=production \
    PATH=/app/bin:$PATH \
    AMQPD_DATA_DIR=/data \
    AMQPD_HOST=0.0.0.0 \
    AMQPD_LOOPBACK_USERS=""
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY docker/entrypoint.sh ./docker/entrypoint.sh
RUN mkdir -p /data \
 && chown node:node /data
USER node
VOLUME ["/data"]
# amqp, amqps (with AMQPD_TLS_CERT/AMQPD_TLS_KEY), management API and web UI, Prometheus.
EXPOSE 5672 5671 15672 15692
# rabbitmq-diagnostics check_running's equivalent, over the management API; amqpctl takes the
# port and the credentials from this container's env (AMQPD_MANAGEMENT_PORT, AMQPD_DEFAULT_* or
# RABBITMQ_DEFAULT_*; AMQPCTL_USER/AMQPCTL_PASSWORD win, for when the default user has changed).
# No --start-period: dockerfilelint 1.8.0 misreads it as an unknown option; start takes < 1 s.
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD ["node", "/app/bin/amqpctl", "-q", "-t", "4", "check_running"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["amqpd"]
