"""Delayed-message exchange with pika (RabbitMQ's delayed-message plugin, built into amqpd).

Ours: the Debian RabbitMQ package has no such plugin, so every scenario first declares a probe
exchange of type x-delayed-message and skips ("ours: ...") when the broker refuses the type.
"""

import time

import pika
import pika.exceptions

from confkit import Collector, Skip, expect_channel_error, pump, scenario

PLUGIN_SKIP = ('ours: the broker has no x-delayed-message type '
               '(RabbitMQ needs the rabbitmq_delayed_message_exchange plugin)')


def _require_delayed_type(ctx):
    conn = ctx.connect()
    probe = ctx.exchange('delayed_probe')
    try:
        ch = conn.channel()
        ch.exchange_declare(exchange=probe, exchange_type='x-delayed-message',
                            arguments={'x-delayed-type': 'direct'})
    except (pika.exceptions.ChannelClosedByBroker, pika.exceptions.ConnectionClosedByBroker):
        raise Skip(PLUGIN_SKIP)
    ch.exchange_delete(probe)


def _setup(ctx, ch, durable=False):
    x = ctx.exchange('delayed')
    ch.exchange_declare(exchange=x, exchange_type='x-delayed-message', durable=durable,
                        arguments={'x-delayed-type': 'direct'})
    q = ctx.queue('delayed_q')
    ch.queue_declare(queue=q, durable=durable)
    ch.queue_bind(queue=q, exchange=x, routing_key='k')
    return x, q


def _props(delay, persistent=False):
    headers = None if delay is None else {'x-delay': delay}
    return pika.BasicProperties(headers=headers, delivery_mode=2 if persistent else 1)


@scenario('delayed-messages-in-due-order')
def due_order(ctx):
    _require_delayed_type(ctx)
    conn, ch = ctx.channel()
    x, q = _setup(ctx, ch)
    box = Collector()
    arrived = []

    def on_msg(c, m, p, b):
        arrived.append(time.monotonic())
        box(c, m, p, b)

    ch.basic_consume(queue=q, on_message_callback=on_msg, auto_ack=True)
    t0 = time.monotonic()
    ch.basic_publish(x, 'k', b'd600', _props(600))
    ch.basic_publish(x, 'k', b'd200', _props(200))
    ch.basic_publish(x, 'k', b'd400', _props('400'))
    ch.basic_publish(x, 'k', b'now', _props(None))
    ch.basic_publish(x, 'k', b'zero', _props(0))
    box.wait(conn, 2, timeout=2)
    assert box.bodies() == ['now', 'zero'], box.bodies()
    box.wait(conn, 5, timeout=5)
    assert box.bodies() == ['now', 'zero', 'd200', 'd400', 'd600'], box.bodies()
    waited = [(t - t0) * 1000 for t in arrived]
    assert waited[2] >= 195 and waited[3] >= 395 and waited[4] >= 595, waited
    assert [m[1].headers['x-delay'] for m in box.messages[2:]] == [-200, -400, -600]


@scenario('delayed-declare-arguments-406')
def declare_406(ctx):
    _require_delayed_type(ctx)
    conn = ctx.connect()

    def declare(args):
        return lambda: conn.channel().exchange_declare(
            exchange=ctx.exchange('delayed_bad'), exchange_type='x-delayed-message', arguments=args)

    expect_channel_error(declare({}), 406,
                         "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type")
    expect_channel_error(declare({'x-delayed-type': 7}), 406,
                         "'x-delayed-type' must be an existing exchange type")
    expect_channel_error(declare({'x-delayed-type': 'x-delayed-message'}), 406,
                         "PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'")


@scenario('delayed-mandatory-returned-at-once-confirmed-delivered-later')
def mandatory_confirm(ctx):
    _require_delayed_type(ctx)
    conn, ch = ctx.channel()
    x, q = _setup(ctx, ch)
    ch.confirm_delivery()
    t0 = time.monotonic()
    try:
        ch.basic_publish(x, 'k', b'later', _props(500), mandatory=True)
    except pika.exceptions.UnroutableError as e:
        # Plugin behaviour: at publish the message routes to no queue, so mandatory returns it.
        assert [m.body for m in e.messages] == [b'later']
    else:
        raise AssertionError('expected basic.return for a held mandatory message')
    assert time.monotonic() - t0 < 0.4, 'confirm came late'
    box = Collector()
    ch.basic_consume(queue=q, on_message_callback=box, auto_ack=True)
    pump(conn, 0.1)
    assert box.bodies() == []
    box.wait(conn, 1, timeout=3)
    assert time.monotonic() - t0 >= 0.495
    assert box.bodies() == ['later']


@scenario('delayed-persistent-survives-restart', needs_restart=True, timeout=60)
def survives_restart(ctx):
    _require_delayed_type(ctx)
    conn, ch = ctx.channel()
    x, q = _setup(ctx, ch, durable=True)
    ch.confirm_delivery()
    t0 = time.monotonic()
    ch.basic_publish(x, 'k', b'kept', _props(2000, persistent=True))
    conn.close()
    ctx.restart()
    conn2, ch2 = ctx.channel()
    box = Collector()
    ch2.basic_consume(queue=q, on_message_callback=box, auto_ack=True)
    box.wait(conn2, 1, timeout=8)
    assert time.monotonic() - t0 >= 1.995, 'delivered before its time'
    pump(conn2, 0.5)
    assert box.bodies() == ['kept']
    assert box.messages[0][1].headers['x-delay'] == -2000
