#!/bin/sh
# amqpd image entry point (ENTRYPOINT in the Dockerfile; CMD is "amqpd").
#   amqpd [flags]        runs the broker in the foreground, replacing this shell (exec),
#                        so SIGTERM from `docker stop` reaches it and it shuts down gracefully;
#   -flag ...            the same, with those flags (`docker run amqpd --log-level debug`);
#   amqpctl <verb> ...   the CLI against the broker in this container (same env: port, user);
#   anything else        run as given (`docker run -it amqpd sh`).
# Configuration comes from AMQPD_* env vars (RABBITMQ_DEFAULT_USER/PASS/VHOST are read as aliases of
# AMQPD_DEFAULT_USER/PASS/VHOST by the broker itself). The app directory is this script's parent's parent.
set -eu
app_dir=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- amqpd "$@"
fi

case "$1" in
  amqpd)
    shift
    exec node "$app_dir/bin/amqpd" "$@"
    ;;
  amqpctl)
    shift
    exec node "$app_dir/bin/amqpctl" "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
