"""TLS (amqps) with pika's ssl_options: the same listener as conformance/amqplib/tls.mjs (peer
verification against the run's CA, a client certificate required). Messages flow over it with
PLAIN; ExternalCredentials logs the certificate's CN in (conf-cert) and a CN that is no user gets
RabbitMQ's 403 login text; a certificate from another CA, an expired one and none at all are
refused in the TLS handshake, while the good one connects in the same scenario."""

import ssl
import urllib.parse

import pika
import pika.credentials
import pika.exceptions

from confkit import Skip, get_message, scenario

EXTERNAL_REFUSED = ('ACCESS_REFUSED - Login was refused using authentication mechanism EXTERNAL. '
                    'For details see the broker logfile.')


def tls_of(ctx):
    if not ctx.tls:
        raise Skip('needs a TLS listener (--tls-url and --tls-pki with --url)')
    return ctx.tls


def params(ctx, pair, vhost='/', credentials=None):
    tls = tls_of(ctx)
    context = ssl.create_default_context(cafile=tls['ca'])
    if pair is not None:
        context.load_cert_chain(pair['cert'], pair['key'])
    u = urllib.parse.urlparse(tls['url'])
    return pika.ConnectionParameters(
        host=u.hostname, port=u.port, virtual_host=vhost, connection_attempts=1, socket_timeout=5,
        credentials=credentials or pika.PlainCredentials('guest', 'guest'),
        ssl_options=pika.SSLOptions(context, 'localhost'))


def connect(ctx, pair, **kw):
    conn = pika.BlockingConnection(params(ctx, pair, **kw))
    ctx._conns.append(conn)
    return conn


def expect_tls_refusal(ctx, pair, what):
    try:
        conn = pika.BlockingConnection(params(ctx, pair))
    except pika.exceptions.AMQPConnectionError as e:
        text = repr(e)
        assert 'ACCESS_REFUSED' not in text and 'NOT_ALLOWED' not in text, '%s: refused by AMQP, not TLS: %s' % (what, text)
        ctx.log('%s: %s' % (what, text))
        return
    conn.close()
    raise AssertionError('%s: the broker accepted the connection' % what)


@scenario('amqps-publish-get-with-client-certificate')
def publish_get(ctx):
    conn = connect(ctx, tls_of(ctx)['client'])
    ch = conn.channel()
    q = ctx.queue('tls')
    ch.queue_declare(q)
    body = b'\x5a' * 200000  # several TLS records and AMQP frames
    ch.basic_publish('', q, body, pika.BasicProperties(headers={'via': 'amqps'}))
    method, props, got = get_message(ch, q)
    assert got == body
    assert props.headers == {'via': 'amqps'}, props.headers


@scenario('external-login-from-certificate-cn')
def external(ctx):
    tls = tls_of(ctx)
    conn = connect(ctx, tls['client'], vhost='conf-tenant', credentials=pika.credentials.ExternalCredentials())
    ch = conn.channel()
    q = 'cert-' + ctx.suffix
    ch.queue_declare(q, exclusive=True)  # conf-cert may configure cert-*
    ch.basic_publish('', q, b'by certificate')
    try:
        connect(ctx, tls['unknownUser'], vhost='conf-tenant', credentials=pika.credentials.ExternalCredentials())
        raise AssertionError('conf-nobody was let in')
    except pika.exceptions.ProbableAuthenticationError as e:
        assert EXTERNAL_REFUSED in str(e), str(e)


@scenario('certificate-from-another-ca-refused')
def foreign_ca(ctx):
    expect_tls_refusal(ctx, tls_of(ctx)['foreign'], 'a certificate of another CA')
    connect(ctx, tls_of(ctx)['client'])


@scenario('expired-certificate-refused')
def expired(ctx):
    expect_tls_refusal(ctx, tls_of(ctx)['expired'], 'an expired certificate')
    connect(ctx, tls_of(ctx)['client'])


@scenario('no-client-certificate-refused-when-required')
def no_cert(ctx):
    expect_tls_refusal(ctx, None, 'no client certificate')
    connect(ctx, tls_of(ctx)['client'])
