"""pika's asynchronous SelectConnection, where it differs from BlockingConnection: many publishes
in flight with confirms arriving as (possibly multiple) Basic.Ack frames, an idle connection kept
alive by the I/O loop's heartbeats, and errors/cancels surfacing as callbacks."""

import pika
import pika.exceptions

from confkit import scenario


class Loop:
    """Run a SelectConnection until ``done()`` or ``fail()``, bounded by ``timeout`` seconds."""

    def __init__(self, ctx, timeout, **params):
        self.error = None
        self.finished = False
        self.conn = pika.SelectConnection(
            ctx.params(**params), on_open_callback=self._opened,
            on_open_error_callback=lambda c, e: self.fail('open failed: %r' % e),
            on_close_callback=self._closed)
        self.conn.ioloop.call_later(timeout, lambda: self.fail('timed out after %ss' % timeout))
        self.on_open = None

    def _opened(self, conn):
        try:
            self.on_open(conn)
        except Exception as e:  # noqa: BLE001 - report instead of killing the loop silently
            self.fail(repr(e))

    def _closed(self, conn, reason):
        if not self.finished and self.error is None:
            self.error = 'connection closed unexpectedly: %r' % reason
        conn.ioloop.stop()

    def guard(self, fn):
        """Wrap a callback so an assertion inside it fails the scenario."""
        def wrapped(*a):
            try:
                fn(*a)
            except Exception as e:  # noqa: BLE001
                self.fail('%s: %s' % (type(e).__name__, e))
        return wrapped

    def done(self):
        self.finished = True
        if self.conn.is_open:
            self.conn.close()
        else:
            self.conn.ioloop.stop()

    def fail(self, msg):
        if self.error is None:
            self.error = msg
        self.finished = True
        if self.conn.is_open:
            self.conn.close()
        else:
            self.conn.ioloop.stop()

    def run(self, on_open):
        self.on_open = on_open
        self.conn.ioloop.start()
        assert self.error is None, self.error


@scenario('select-confirms-many-in-flight-then-consume')
def select_confirms(ctx):
    q = ctx.queue('select_confirms')
    n = 1000
    loop = Loop(ctx, 20)
    acked = set()
    state = {'multiple_acks': 0, 'received': []}

    def on_open(conn):
        conn.channel(on_open_callback=loop.guard(on_channel))

    def on_channel(ch):
        ch.confirm_delivery(ack_nack_callback=loop.guard(lambda f: on_confirm(ch, f)),
                            callback=loop.guard(lambda _: ch.queue_declare(
                                q, durable=True, callback=loop.guard(lambda _: publish(ch)))))

    def publish(ch):
        for i in range(n):  # all in flight at once
            ch.basic_publish('', q, b'c%d' % i, pika.BasicProperties(delivery_mode=2))

    def on_confirm(ch, frame):
        m = frame.method
        assert isinstance(m, pika.spec.Basic.Ack), 'nack: %r' % m
        if m.multiple:
            state['multiple_acks'] += 1
            acked.update(t for t in range(1, m.delivery_tag + 1))
        else:
            acked.add(m.delivery_tag)
        if len(acked) == n:
            ch.basic_qos(prefetch_count=100, callback=loop.guard(lambda _: ch.basic_consume(
                q, loop.guard(on_message))))

    def on_message(ch, method, props, body):
        state['received'].append(body)
        if len(state['received']) % 100 == 0:
            ch.basic_ack(method.delivery_tag, multiple=True)
        if len(state['received']) == n:
            assert state['received'] == [b'c%d' % i for i in range(n)]
            ch.queue_declare(q, passive=True, callback=loop.guard(lambda f: check_empty(f)))

    def check_empty(frame):
        assert frame.method.message_count == 0, frame.method.message_count
        loop.done()

    loop.run(on_open)
    assert acked == set(range(1, n + 1))
    ctx.log('%d confirms arrived as multiple acks' % state['multiple_acks'])


@scenario('select-heartbeat-keeps-idle-connection-alive', timeout=30)
def select_heartbeat(ctx):
    # Same 2 s heartbeat as the silent-client scenario, but the I/O loop runs and sends them.
    loop = Loop(ctx, 20, heartbeat=2)
    seen = {}

    def on_open(conn):
        seen['heartbeat'] = conn.params.heartbeat
        conn.channel(on_open_callback=loop.guard(lambda ch: conn.ioloop.call_later(
            7, loop.guard(lambda: after_idle(ch)))))

    def after_idle(ch):
        assert ch.is_open
        ch.queue_declare('', exclusive=True, callback=loop.guard(declared))

    def declared(frame):
        seen['queue'] = frame.method.queue
        loop.done()

    loop.run(on_open)
    assert seen['heartbeat'] == 2
    assert seen['queue'].startswith('amq.gen-')


@scenario('select-channel-error-and-server-cancel-callbacks')
def select_callbacks(ctx):
    q = ctx.queue('select_cancel')
    missing = ctx.queue('select_missing')
    loop = Loop(ctx, 10)
    seen = {}

    def on_open(conn):
        conn.channel(on_open_callback=loop.guard(lambda ch: on_first(conn, ch)))

    def on_first(conn, ch):
        ch.add_on_close_callback(loop.guard(lambda c, reason: on_first_closed(conn, reason)))
        ch.queue_declare(missing, passive=True)

    def on_first_closed(conn, reason):
        assert isinstance(reason, pika.exceptions.ChannelClosedByBroker), repr(reason)
        seen['close'] = (reason.reply_code, reason.reply_text)
        conn.channel(on_open_callback=loop.guard(on_second))

    def on_second(ch):
        ch.add_on_cancel_callback(loop.guard(lambda f: on_cancel(ch, f)))
        ch.queue_declare(q, callback=loop.guard(lambda _: ch.basic_consume(
            q, lambda *a: None, consumer_tag='sel-' + ctx.suffix,
            callback=loop.guard(lambda _: ch.queue_delete(q)))))

    def on_cancel(ch, frame):
        seen['cancel'] = frame.method.consumer_tag
        loop.done()

    loop.run(on_open)
    assert seen['close'] == (404, "NOT_FOUND - no queue '%s' in vhost '/'" % missing), seen
    assert seen['cancel'] == 'sel-' + ctx.suffix
