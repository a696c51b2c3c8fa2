"""Vhosts, users and permissions with pika: refused logins, 530 for a vhost without permissions,
403 for configure / write / read and topic permissions. Setup: amqpd loads
conformance/access-definitions.json; on RabbitMQ run conformance/setup-rabbitmq-access.sh first.
RabbitMQ 3.10.8 writes "access to ..." where 3.13 (and amqpd) write "configure access to ...":
the checks accept both."""

import re

import pika
import pika.exceptions

from confkit import get_message, scenario

APP = pika.PlainCredentials('conf-app', 'conf-secret')
LOGIN_REFUSED = 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.'


def refused(perm, what):
    return re.compile(r"^ACCESS_REFUSED - (%s )?access to %s in vhost 'conf-tenant' refused for user 'conf-app'$" % (perm, re.escape(what)))


def expect_refused(fn, pattern):
    try:
        fn()
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == 403, (e.reply_code, e.reply_text)
        assert pattern.match(e.reply_text), e.reply_text
        return
    raise AssertionError('expected 403 %s, got success' % pattern.pattern)


def app_channel(ctx):
    return ctx.connect(credentials=APP, virtual_host='conf-tenant').channel()


@scenario('login-refused-unknown-user-and-user-without-password')
def login_refused(ctx):
    for user, pw in (('nobody-' + ctx.suffix, 'x'), ('conf-cert', ''), ('conf-app', 'wrong')):
        try:
            ctx.connect(credentials=pika.PlainCredentials(user, pw))
            raise AssertionError('login of %s succeeded' % user)
        except pika.exceptions.ProbableAuthenticationError as e:
            assert LOGIN_REFUSED in str(e), str(e)


@scenario('vhost-without-permissions-530')
def vhost_refused(ctx):
    for vhost in ('conf-closed', '/'):
        try:
            ctx.connect(credentials=APP, virtual_host=vhost)
            raise AssertionError('conf-app opened %s' % vhost)
        except pika.exceptions.ProbableAccessDeniedError as e:
            want = "(530) \"NOT_ALLOWED - access to vhost '%s' refused for user 'conf-app'\"" % vhost
            assert want in str(e), str(e)
    ctx.connect(credentials=APP, virtual_host='conf-tenant')


@scenario('configure-write-read-permissions-403')
def permissions(ctx):
    other = 'other-' + ctx.suffix
    own = 'app-' + ctx.suffix
    admin = ctx.connect(virtual_host='conf-tenant').channel()
    admin.queue_declare(queue=other)
    ctx.defer(lambda: admin.queue_delete(queue=other))
    expect_refused(lambda: app_channel(ctx).queue_declare(queue='q-' + ctx.suffix), refused('configure', "queue 'q-%s'" % ctx.suffix))
    expect_refused(lambda: app_channel(ctx).queue_delete(queue=other), refused('configure', "queue '%s'" % other))
    expect_refused(lambda: app_channel(ctx).basic_get(queue=other), refused('read', "queue '%s'" % other))
    expect_refused(lambda: app_channel(ctx).queue_purge(queue=other), refused('read', "queue '%s'" % other))
    expect_refused(lambda: app_channel(ctx).queue_bind(queue=other, exchange='amq.direct', routing_key='k'), refused('write', "queue '%s'" % other))

    def publish_fanout():
        ch = app_channel(ctx)
        ch.basic_publish(exchange='amq.fanout', routing_key='', body=b'x')
        ch.queue_declare(queue=own, passive=True)
    expect_refused(publish_fanout, refused('write', "exchange 'amq.fanout'"))
    ch = app_channel(ctx)
    ch.queue_declare(queue=own)
    ctx.defer(lambda: admin.queue_delete(queue=own))
    ch.basic_publish(exchange='', routing_key=own, body=b'mine')
    assert get_message(ch, own)[2] == b'mine'


@scenario('topic-permissions-on-routing-keys')
def topic_permissions(ctx):
    own = 'app-t-' + ctx.suffix
    admin = ctx.connect(virtual_host='conf-tenant').channel()
    ch = app_channel(ctx)
    ch.queue_declare(queue=own)
    ctx.defer(lambda: admin.queue_delete(queue=own))
    ch.queue_bind(queue=own, exchange='amq.topic', routing_key='app.#')
    ch.basic_publish(exchange='amq.topic', routing_key='app.ok', body=b'allowed')
    assert get_message(ch, own)[2] == b'allowed'
    topic = lambda perm, key: refused(perm, "topic '%s' in exchange 'amq.topic'" % key)
    expect_refused(lambda: app_channel(ctx).queue_bind(queue=own, exchange='amq.topic', routing_key='other.#'), topic('read', 'other.#'))

    def publish_other():
        c = app_channel(ctx)
        c.basic_publish(exchange='amq.topic', routing_key='other.key', body=b'x')
        c.queue_declare(queue=own, passive=True)
    expect_refused(publish_other, topic('write', 'other.key'))
