"""pika over TLS against amqpd (run by test/integration/tls.test.ts).

    pika-tls.py <tls port> <ca file> <json {good, nobody, foreign, expired: {cert, key}}>

Prints one JSON line: each case -> "ok" (connected, a message went round) or "refused".
"""
import json
import ssl
import sys

import pika
from pika.credentials import ExternalCredentials, PlainCredentials


def attempt(port, ca, client, credentials):
    ctx = ssl.create_default_context(cafile=ca)
    if client is not None:
        ctx.load_cert_chain(client['cert'], client['key'])
    params = pika.ConnectionParameters(
        host='127.0.0.1', port=port, credentials=credentials,
        ssl_options=pika.SSLOptions(ctx, 'localhost'), connection_attempts=1, socket_timeout=5)
    try:
        conn = pika.BlockingConnection(params)
    except Exception:  # noqa: BLE001 - any refusal (TLS alert, 403, closed socket) counts
        return 'refused'
    try:
        ch = conn.channel()
        q = ch.queue_declare('', exclusive=True).method.queue
        ch.basic_publish('', q, b'over tls')
        for _ in range(50):
            method, _props, body = ch.basic_get(q, auto_ack=True)
            if method is not None:
                return 'ok' if body == b'over tls' else 'wrong body'
            conn.sleep(0.01)
        return 'no message'
    finally:
        conn.close()


def main():
    port, ca, certs = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    plain = PlainCredentials('guest', 'guest')
    out = {
        'plain_with_cert': attempt(port, ca, certs['good'], plain),
        'external': attempt(port, ca, certs['good'], ExternalCredentials()),
        'external_unknown_user': attempt(port, ca, certs['nobody'], ExternalCredentials()),
        'no_cert': attempt(port, ca, None, plain),
        'foreign_ca': attempt(port, ca, certs['foreign'], plain),
        'expired': attempt(port, ca, certs['expired'], plain),
    }
    print(json.dumps(out))


main()
