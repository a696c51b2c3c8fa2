"""Connection-level behaviour with pika: heartbeats (negotiation; a client whose I/O loop stops is
dropped), refused logins and vhosts, channel_max / frame_max, 100 channels, requeue on close."""

import time

import pika
import pika.exceptions

from confkit import Collector, get_message, poll, scenario


@scenario('heartbeat-negotiation')
def heartbeat_negotiation(ctx):
    offered = []

    def choose(conn, server_value):
        offered.append(server_value)
        return 7

    c = ctx.connect(heartbeat=choose)
    assert offered == [60], 'server proposes 60 s: %r' % offered
    assert c._impl.params.heartbeat == 7, 'a callable decides the value'
    assert ctx.connect()._impl.params.heartbeat == 60, 'no preference: server default'
    assert ctx.connect(heartbeat=5)._impl.params.heartbeat == 5
    assert ctx.connect(heartbeat=0)._impl.params.heartbeat == 0


@scenario('silent-client-dropped-after-heartbeat-timeout', timeout=30)
def silent_client(ctx):
    # A BlockingConnection only does I/O when called: sleeping is a stopped I/O loop.
    conn, ch = ctx.channel(heartbeat=2)
    assert conn._impl.params.heartbeat == 2
    q = ch.queue_declare(queue='', exclusive=True).method.queue
    time.sleep(9)
    # Seen from another connection, the broker dropped us: our exclusive queue is gone.
    oconn, other = ctx.channel()
    try:
        other.queue_declare(queue=q, passive=True)
        raise AssertionError('exclusive queue of the silent connection still exists')
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == 404, e
    try:
        conn.process_data_events(time_limit=1)
        conn.process_data_events(time_limit=1)
        raise AssertionError('the silent connection is still usable')
    except pika.exceptions.AMQPConnectionError as e:
        ctx.log('pika saw: %r' % e)


@scenario('wrong-password-refused')
def wrong_password(ctx):
    p = ctx.params(credentials=pika.PlainCredentials('guest', 'wrong-' + ctx.suffix))
    try:
        pika.BlockingConnection(p).close()
        raise AssertionError('login with a wrong password succeeded')
    except pika.exceptions.ProbableAuthenticationError as e:
        assert 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN' in str(e), e


@scenario('unknown-vhost-530')
def unknown_vhost(ctx):
    vhost = 'no-such-vhost-' + ctx.suffix
    try:
        pika.BlockingConnection(ctx.params(virtual_host=vhost)).close()
        raise AssertionError('connection to an unknown vhost succeeded')
    except pika.exceptions.ProbableAccessDeniedError as e:
        # pika wraps the connection.close it got during the handshake into this error's text.
        assert "(530) 'NOT_ALLOWED - vhost %s not found'" % vhost in str(e), str(e)


@scenario('channel-max-and-frame-max-negotiation')
def channel_frame_max(ctx):
    dflt = ctx.connect()
    assert dflt._impl.params.channel_max == 2047, dflt._impl.params.channel_max
    assert dflt._impl.params.frame_max == 131072, dflt._impl.params.frame_max
    small = ctx.connect(channel_max=10, frame_max=8192)
    assert small._impl.params.channel_max == 10
    assert small._impl.params.frame_max == 8192
    ch = small.channel()
    q = ch.queue_declare(queue='', exclusive=True).method.queue
    body = b'start' + b'\x07' * 99992 + b'end'
    ch.basic_publish('', q, body)
    assert get_message(ch, q)[2] == body
    chans = [small.channel() for _ in range(9)]  # 10 open now
    assert all(c.is_open for c in chans)
    try:
        small.channel()
        raise AssertionError('an 11th channel opened with channel_max=10')
    except pika.exceptions.NoFreeChannels:
        pass


@scenario('hundred-channels-on-one-connection')
def hundred_channels(ctx):
    conn = ctx.connect()
    chans = [conn.channel() for _ in range(100)]
    assert len({c.channel_number for c in chans}) == 100
    queues = [c.queue_declare(queue='', exclusive=True).method.queue for c in chans]
    for i, c in enumerate(chans):
        c.basic_publish('', queues[i], b'ch-%d' % i)
    got = [get_message(c, queues[i])[2] for i, c in enumerate(chans)]
    assert got == [b'ch-%d' % i for i in range(100)]
    for c in chans:
        c.close()
    again = conn.channel()
    again.queue_declare(queue=queues[0], passive=True)


@scenario('channel-close-requeues-unacked')
def close_requeues(ctx):
    q = ctx.queue('requeue_on_close')
    conn = ctx.connect()
    ch = conn.channel()
    ch.queue_declare(queue=q)
    for b in (b'u1', b'u2', b'u3'):
        ch.basic_publish('', q, b)
    box = Collector()
    ch.basic_consume(queue=q, on_message_callback=box)
    box.wait(conn, 3)
    ch.basic_ack(box.messages[1][0].delivery_tag)
    ch.close()
    ch2 = conn.channel()
    poll(lambda: ch2.queue_declare(queue=q, passive=True).method.message_count == 2, 3,
         'two requeued messages')
    got = [get_message(ch2, q) for _ in range(2)]
    assert [(g[2], g[0].redelivered) for g in got] == [(b'u1', True), (b'u3', True)]
