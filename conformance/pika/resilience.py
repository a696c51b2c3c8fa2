"""Resilience with pika: a broker restart mid-stream keeps durable state (only durable state), and
a killed client process leaves no consumer and no unacked message behind."""

import subprocess
import sys

import pika
import pika.exceptions

from confkit import Collector, expect_channel_error, poll, scenario

CONSUMER = r'''
import sys, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
ch.basic_consume(queue=sys.argv[2], on_message_callback=lambda *a: None)
ch.basic_consume(queue=sys.argv[2], on_message_callback=lambda *a: None)
sys.stdout.write('CONSUMING\n'); sys.stdout.flush()
ch.start_consuming()
'''


@scenario('restart-mid-stream-keeps-durable-state', needs_restart=True, timeout=60)
def restart_mid_stream(ctx):
    x = ctx.exchange('durable_x')
    tx = ctx.exchange('transient_x')
    q = ctx.queue('durable_q')
    tq = ctx.queue('transient_q')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=x, exchange_type='topic', durable=True)
    ch.exchange_declare(exchange=tx, exchange_type='fanout')
    ch.queue_declare(queue=q, durable=True, arguments={'x-max-length': 1000})
    ch.queue_declare(queue=tq)
    ch.queue_bind(queue=q, exchange=x, routing_key='orders.#')
    ch.confirm_delivery()
    n = 50
    for i in range(n):
        ch.basic_publish(x, 'orders.new', b'o%d' % i,
                         pika.BasicProperties(delivery_mode=2, message_id='id-%d' % i))
    cch = conn.channel()
    cch.basic_qos(prefetch_count=25)
    box = Collector()
    cch.basic_consume(queue=q, on_message_callback=box)
    box.wait(conn, 25)
    for m in box.messages[:20]:
        cch.basic_ack(m[0].delivery_tag)
    cch.queue_declare(queue=q, passive=True)  # a round trip after the acks
    ctx.restart()
    try:
        for _ in range(20):
            conn.process_data_events(time_limit=0.5)
        raise AssertionError('the connection survived a broker restart')
    except pika.exceptions.ConnectionClosedByBroker as e:
        assert e.reply_code == 320, e
        assert e.reply_text == "CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'", e
    conn2, after = ctx.channel()
    assert after.queue_declare(queue=q, passive=True).method.message_count == n - 20
    after.basic_publish(x, 'orders.late', b'late', pika.BasicProperties(delivery_mode=2))
    poll(lambda: after.queue_declare(queue=q, passive=True).method.message_count == n - 19, 3,
         'routing through the recovered binding')
    bodies = [after.basic_get(q, auto_ack=True)[2] for _ in range(n - 19)]
    assert bodies == [b'o%d' % i for i in range(20, n)] + [b'late'], bodies
    expect_channel_error(lambda: after.queue_declare(queue=tq, passive=True), 404)
    ch3 = conn2.channel()
    expect_channel_error(lambda: ch3.exchange_declare(exchange=tx, passive=True), 404)
    ch4 = conn2.channel()
    ch4.queue_declare(queue=q, durable=True, arguments={'x-max-length': 1000})


@scenario('abrupt-disconnect-leaves-no-consumer')
def abrupt(ctx):
    q = ctx.queue('abrupt')
    conn, admin = ctx.channel()
    admin.queue_declare(queue=q)
    admin.basic_publish('', q, b'a1')
    admin.basic_publish('', q, b'a2')
    proc = subprocess.Popen([sys.executable, '-c', CONSUMER, ctx.url, q], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    ctx.defer(proc.kill)
    assert proc.stdout.readline().strip() == b'CONSUMING'
    poll(lambda: admin.queue_declare(queue=q, passive=True).method.consumer_count == 2, 5,
         'two consumers of the child process')
    poll(lambda: admin.queue_declare(queue=q, passive=True).method.message_count == 0, 3,
         'both messages delivered (unacked) to the child')
    proc.kill()  # SIGKILL: the kernel closes the socket, no AMQP close
    proc.wait(5)
    poll(lambda: admin.queue_declare(queue=q, passive=True).method.consumer_count == 0, 5,
         'consumer_count back to 0')
    poll(lambda: admin.queue_declare(queue=q, passive=True).method.message_count == 2, 3,
         'unacked messages requeued')
