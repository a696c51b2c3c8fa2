"""Publishing with pika (BlockingConnection): mandatory/return, confirms (also a lone confirming
publisher with a consumer thread), tx, big and empty bodies, all 14 properties with every header
type pika can encode, UTF-8 names."""

import datetime
import threading
import time
import decimal

import pika
import pika.exceptions

from confkit import Collector, expect_channel_error, get_message, pump, scenario, wait_for


@scenario('mandatory-unroutable-returned')
def mandatory(ctx):
    x = ctx.exchange('mand')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=x, exchange_type='direct')
    returned = []
    ch.add_on_return_callback(lambda c, method, props, body: returned.append((method, props, body)))
    ch.basic_publish(x, 'nowhere', b'bounce', pika.BasicProperties(message_id='m-1'),
                     mandatory=True)
    ch.basic_publish(x, 'nowhere', b'dropped silently', mandatory=False)
    wait_for(conn, lambda: returned, 3, 'basic.return')
    pump(conn, 0.2)
    assert len(returned) == 1
    method, props, body = returned[0]
    assert (method.reply_code, method.reply_text) == (312, 'NO_ROUTE')
    assert (method.exchange, method.routing_key) == (x, 'nowhere')
    assert body == b'bounce' and props.message_id == 'm-1'


@scenario('publisher-confirms-blocking')
def confirms(ctx):
    q = ctx.queue('confirms')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q, durable=True)
    ch.confirm_delivery()  # pika checks the server's publisher_confirms + basic.nack capabilities
    n = 300
    for i in range(n):
        # In confirm mode a blocking publish returns only after the broker's ack.
        ch.basic_publish('', q, b'c%d' % i, pika.BasicProperties(delivery_mode=2 if i % 2 else 1))
    assert ch.queue_declare(queue=q, passive=True).method.message_count == n
    try:
        ch.basic_publish('', 'no-such-queue-%s' % ctx.suffix, b'r', mandatory=True)
    except pika.exceptions.UnroutableError as e:
        assert [m.body for m in e.messages] == [b'r']
    else:
        raise AssertionError('an unroutable mandatory publish in confirm mode must raise')


@scenario('tx-commit-and-rollback')
def tx(ctx):
    q = ctx.queue('tx')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q)
    ch.tx_select()
    ch.basic_publish('', q, b't1')
    ch.basic_publish('', q, b't2')
    oconn, observer = ctx.channel()
    pump(oconn, 0.2)
    assert observer.queue_declare(queue=q, passive=True).method.message_count == 0
    ch.tx_commit()
    assert observer.queue_declare(queue=q, passive=True).method.message_count == 2
    ch.basic_publish('', q, b't3')
    ch.tx_rollback()
    pump(oconn, 0.2)
    assert observer.queue_declare(queue=q, passive=True).method.message_count == 2
    m, _, body = ch.basic_get(q)
    assert body == b't1'
    ch.basic_ack(m.delivery_tag)
    ch.tx_rollback()
    ch.basic_ack(m.delivery_tag)
    ch.tx_commit()
    assert observer.queue_declare(queue=q, passive=True).method.message_count == 1
    # message_count counts ready messages only (an ignored ack leaves t1 unacked, not ready):
    # recover returns every unacked message, so t1 comes back unless the committed ack took.
    ch.basic_recover(requeue=True)
    assert observer.queue_declare(queue=q, passive=True).method.message_count == 1, \
        'the committed ack survives basic.recover'
    _, _, nxt = ch.basic_get(q, auto_ack=True)
    assert nxt == b't2', 't1 was acked; t2 is next (got %r)' % (nxt,)
    ch2 = conn.channel()
    ch2.tx_select()
    expect_channel_error(ch2.confirm_delivery, 406,
                         'PRECONDITION_FAILED - cannot switch from tx to confirm mode')


@scenario('large-message-5mib')
def large(ctx):
    q = ctx.queue('big')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q)
    body = bytes((i * 7 + i // 251) % 256 for i in range(5 * 1024 * 1024))
    ch.basic_publish('', q, body)
    box = Collector()
    ch.basic_consume(queue=q, on_message_callback=box, auto_ack=True)
    [(m, p, got)] = box.wait(conn, 1, timeout=15)
    assert len(got) == len(body)
    assert got == body


@scenario('empty-body')
def empty(ctx):
    q = ctx.queue('empty')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q)
    ch.basic_publish('', q, b'', pika.BasicProperties(content_type='text/plain'))
    ch.basic_publish('', q, b'')
    box = Collector()
    ch.basic_consume(queue=q, on_message_callback=box, auto_ack=True)
    box.wait(conn, 2)
    assert [m[2] for m in box.messages] == [b'', b'']
    assert box.messages[0][1].content_type == 'text/plain'


HEADERS = {
    'bool': True,
    'int': -70000,
    'long': 2 ** 40,  # pika decodes 'l' as unsigned: only non-negative longs round-trip
    'decimal': decimal.Decimal('123.45'),
    'longstr': 'héllo wörld ✓',
    'timestamp': datetime.datetime(2023, 11, 14, 22, 13, 20),
    'table': {'nested': 'yes', 'deeper': {'n': 1}},
    'array': [1, 'two', True, None, {'k': 'v'}, [3]],
    'void': None,
    'bytes': b'\x00\x01\x02\xfe\xff',
}


@scenario('all-properties-and-header-types-round-trip')
def properties(ctx):
    q = ctx.queue('props')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q)
    user = pika.URLParameters(ctx.url).credentials.username
    sent = pika.BasicProperties(
        content_type='application/json', content_encoding='gzip', headers=HEADERS,
        delivery_mode=2, priority=7, correlation_id='corr-1', reply_to='reply-queue',
        expiration='60000', message_id='msg-1', timestamp=1700000001, type='order.created',
        user_id=user, app_id='conformance', cluster_id='cluster-1')
    ch.basic_publish('', q, b'{}', sent)
    m, got, body = get_message(ch, q)
    assert body == b'{}'
    for field in ('content_type', 'content_encoding', 'delivery_mode', 'priority',
                  'correlation_id', 'reply_to', 'expiration', 'message_id', 'timestamp', 'type',
                  'user_id', 'app_id', 'cluster_id'):
        assert getattr(got, field) == getattr(sent, field), (field, getattr(got, field))
    assert got.headers == HEADERS, got.headers
    # Byte-exact as far as pika can tell: the received properties re-encode to the same bytes.
    assert b''.join(got.encode()) == b''.join(sent.encode())


@scenario('utf8-names')
def utf8(ctx):
    q = ctx.queue('очередь-队列-🐇')
    x = ctx.exchange('échange-交换')
    conn, ch = ctx.channel()
    assert ch.queue_declare(queue=q).method.queue == q
    ch.exchange_declare(exchange=x, exchange_type='topic')
    ch.queue_bind(queue=q, exchange=x, routing_key='ключ.*')
    ch.basic_publish(x, 'ключ.日本', 'ünïcödé'.encode(),
                     pika.BasicProperties(headers={'schlüssel-🔑': 'wert-✓'}))
    m, props, body = get_message(ch, q)
    assert body.decode() == 'ünïcödé'
    assert (m.exchange, m.routing_key) == (x, 'ключ.日本')
    assert props.headers == {'schlüssel-🔑': 'wert-✓'}
    expect_channel_error(lambda: ch.queue_declare(queue=q + '-нет', passive=True), 404,
                         "NOT_FOUND - no queue '%s-нет' in vhost '/'" % q)


@scenario('lone-confirming-publisher-with-a-consumer-thread')
def lone_publisher(ctx):
    """Publish-and-wait-for-confirm, persistent, onto a durable queue that a consumer on another
    connection (its own thread) acks at once: every publish is confirmed and consumed, in order.
    (amqpd may hold such messages back from the disk and confirm them at the ack.)"""
    q = ctx.queue('lone')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q, durable=True)
    ch.confirm_delivery()
    n = 300
    got = []
    ready = threading.Event()
    done = threading.Event()
    errors = []

    def consume():
        try:
            c = pika.BlockingConnection(ctx.params())
            try:
                cch = c.channel()
                cch.basic_qos(prefetch_count=100)

                def on_message(chan, method, props, body):
                    got.append(body)
                    chan.basic_ack(method.delivery_tag)
                    if len(got) == n:
                        done.set()

                cch.basic_consume(queue=q, on_message_callback=on_message)
                ready.set()
                deadline = time.time() + 15
                while not done.is_set() and time.time() < deadline:
                    c.process_data_events(time_limit=0.05)
            finally:
                c.close()
        except Exception as e:  # reported by the main thread
            errors.append(e)
            ready.set()

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    assert ready.wait(10), 'consumer did not start'
    for i in range(n):
        ch.basic_publish('', q, b'lone-%d' % i, pika.BasicProperties(delivery_mode=2))
    t.join(20)
    assert not errors, errors
    assert got == [b'lone-%d' % i for i in range(n)], (len(got), got[:3])
