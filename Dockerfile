# amqpd image: build with `docker build -t amqpd .`, run with `docker run -p 5672:5672 -v amqpd-data:/data amqpd`.
# (No Docker engine runs on our development machines: this file is kept simple and is untested there.)
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
# As the official rabbitmq image (loopback_users.guest = false): clients reach the container
# through the bridge, never from loopback, so guest is not limited to loopback here.
ENV NODE_ENV=production AMQPD_DATA_DIR=/data AMQPD_HOST=0.0.0.0 AMQPD_PORT=5672 AMQPD_LOOPBACK_USERS=
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
VOLUME /data
EXPOSE 5672
STOPSIGNAL SIGTERM
CMD ["node", "bin/amqpd"]
