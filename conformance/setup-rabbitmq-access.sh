#!/bin/sh
# The same users, vhosts and permissions as conformance/access-definitions.json (which the runner
# loads into amqpd with --load-definitions), set up on a RabbitMQ node for the access scenarios:
#   RABBITMQ_NODE=ref@localhost sh conformance/setup-rabbitmq-access.sh
set -e
R="rabbitmqctl -q -n ${RABBITMQ_NODE:-rabbit@localhost}"
$R add_vhost conf-tenant 2>/dev/null || true
$R add_vhost conf-closed 2>/dev/null || true
$R add_user conf-app conf-secret 2>/dev/null || $R change_password conf-app conf-secret
$R add_user conf-cert unused 2>/dev/null || true
$R clear_password conf-cert
$R set_permissions -p conf-tenant conf-app '^app-' '^(app-.*|amq\.default|amq\.topic)$' '^(app-.*|amq\.topic)$'
$R set_permissions -p conf-tenant guest '.*' '.*' '.*'
$R set_permissions -p conf-tenant conf-cert '^cert-' '^(cert-.*|amq\.default)$' '^cert-'
$R set_topic_permissions -p conf-tenant conf-app amq.topic '^app\.' '^app\.'
# Per-user and per-vhost limits (amqplib/limits.mjs, pika/limits.py): clear them with
#   rabbitmqctl clear_user_limits conf-limited all; rabbitmqctl clear_vhost_limits -p conf-limited-vh
$R add_vhost conf-limited-vh 2>/dev/null || true
$R add_user conf-limited conf-limited 2>/dev/null || $R change_password conf-limited conf-limited
$R set_permissions -p conf-tenant conf-limited '^lim-' '^(lim-.*|amq\.default)$' '^lim-'
$R set_permissions -p conf-limited-vh guest '.*' '.*' '.*'
$R set_user_limits conf-limited '{"max-connections": 1, "max-channels": 2}'
$R set_vhost_limits -p conf-limited-vh '{"max-connections": 1, "max-queues": 1}'
