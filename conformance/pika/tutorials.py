"""The six RabbitMQ tutorials in their pika BlockingConnection form, each checking outcomes."""

import subprocess
import sys

import pika

from confkit import Collector, get_message, pump, scenario, wait_for

WORKER = r'''
import sys, pika
conn = pika.BlockingConnection(pika.URLParameters(sys.argv[1]))
ch = conn.channel()
ch.basic_qos(prefetch_count=1)
def on_msg(ch, method, props, body):
    sys.stdout.write('GOT %s\n' % body.decode()); sys.stdout.flush()  # then "work" forever
ch.basic_consume(queue=sys.argv[2], on_message_callback=on_msg)
ch.start_consuming()
'''


@scenario('hello-world')
def hello_world(ctx):
    q = ctx.queue('hello')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q)
    ch.basic_publish(exchange='', routing_key=q, body=b'Hello World!')
    sconn, sub = ctx.channel()
    box = Collector()
    sub.basic_consume(queue=q, on_message_callback=box, auto_ack=True)
    [(method, props, body)] = box.wait(sconn, 1)
    assert body == b'Hello World!'
    assert method.routing_key == q
    assert method.exchange == ''
    assert method.redelivered is False


@scenario('work-queue-killed-worker-redelivers')
def killed_worker(ctx):
    q = ctx.queue('task_queue')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q, durable=True)
    worker = subprocess.Popen([sys.executable, '-c', WORKER, ctx.url, q], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    ctx.defer(worker.kill)
    wait_for(conn, lambda: ch.queue_declare(queue=q, passive=True).method.consumer_count == 1,
             10, 'the worker process to start consuming')
    ch.basic_publish(exchange='', routing_key=q, body=b'task-1',
                     properties=pika.BasicProperties(delivery_mode=2))
    line = worker.stdout.readline().decode().strip()
    assert line == 'GOT task-1', line
    worker.kill()  # SIGKILL mid-task: no ack, no close
    worker.wait(5)
    conn2, ch2 = ctx.channel()
    ch2.basic_qos(prefetch_count=1)
    box = Collector()
    ch2.basic_consume(queue=q, on_message_callback=box)
    [(method, props, body)] = box.wait(conn2, 1, timeout=8)
    assert body == b'task-1'
    assert method.redelivered is True
    assert props.delivery_mode == 2
    ch2.basic_ack(method.delivery_tag)
    pump(conn2, 0.1)
    assert ch.queue_declare(queue=q, passive=True).method.message_count == 0


@scenario('work-queue-fair-dispatch-prefetch-1')
def fair_dispatch(ctx):
    q = ctx.queue('fair')
    n = 10
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q, durable=True)
    slow_conn, slow = ctx.channel()
    fast_conn, fast = ctx.channel()
    slow.basic_qos(prefetch_count=1)
    fast.basic_qos(prefetch_count=1)
    slow_box = Collector()
    fast_box = Collector()

    def fast_cb(ch_, method, props, body):
        fast_box(ch_, method, props, body)
        ch_.basic_ack(method.delivery_tag)

    slow.basic_consume(queue=q, on_message_callback=slow_box)
    fast.basic_consume(queue=q, on_message_callback=fast_cb)
    for i in range(n):
        ch.basic_publish(exchange='', routing_key=q, body=b'job-%d' % i,
                         properties=pika.BasicProperties(delivery_mode=2))

    def all_in():
        slow_conn.process_data_events(time_limit=0)
        fast_conn.process_data_events(time_limit=0)
        return len(slow_box.messages) + len(fast_box.messages) == n

    wait_for(None, all_in, 8, 'all jobs dispatched')
    pump(slow_conn, 0.2)
    assert len(slow_box.messages) == 1, 'slow worker got %d' % len(slow_box.messages)
    assert len(fast_box.messages) == n - 1
    slow.basic_ack(slow_box.messages[0][0].delivery_tag)
    assert sorted(slow_box.bodies() + fast_box.bodies()) == sorted('job-%d' % i for i in range(n))


@scenario('durable-persistent-survives-restart', needs_restart=True, timeout=60)
def durable_restart(ctx):
    q = ctx.queue('durable_tasks')
    conn, ch = ctx.channel()
    ch.queue_declare(queue=q, durable=True)
    ch.confirm_delivery()
    ch.basic_publish(exchange='', routing_key=q, body=b'persistent',
                     properties=pika.BasicProperties(delivery_mode=2))
    ch.basic_publish(exchange='', routing_key=q, body=b'transient',
                     properties=pika.BasicProperties(delivery_mode=1))
    conn.close()
    ctx.restart()
    conn2, ch2 = ctx.channel()
    ok = ch2.queue_declare(queue=q, durable=True, passive=True)
    assert ok.method.message_count == 1, 'only the persistent message survives'
    method, props, body = get_message(ch2, q)
    assert body == b'persistent'
    assert props.delivery_mode == 2


@scenario('publish-subscribe-fanout')
def fanout(ctx):
    x = ctx.exchange('logs')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=x, exchange_type='fanout')
    subs = []
    for _ in range(2):
        c, sch = ctx.channel()
        result = sch.queue_declare(queue='', exclusive=True)
        qn = result.method.queue
        assert qn.startswith('amq.gen-'), qn
        sch.queue_bind(exchange=x, queue=qn)
        box = Collector()
        sch.basic_consume(queue=qn, on_message_callback=box, auto_ack=True)
        subs.append((c, qn, box))
    assert subs[0][1] != subs[1][1]
    ch.basic_publish(exchange=x, routing_key='', body=b'log line 1')
    ch.basic_publish(exchange=x, routing_key='ignored-key', body=b'log line 2')
    for c, _, box in subs:
        box.wait(c, 2)
        assert box.bodies() == ['log line 1', 'log line 2']


@scenario('routing-direct-by-severity')
def direct_routing(ctx):
    x = ctx.exchange('direct_logs')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=x, exchange_type='direct')
    c1, ch1 = ctx.channel()
    c2, ch2 = ctx.channel()
    q1 = ch1.queue_declare(queue='', exclusive=True).method.queue
    q2 = ch2.queue_declare(queue='', exclusive=True).method.queue
    ch1.queue_bind(exchange=x, queue=q1, routing_key='error')
    for sev in ('info', 'warning', 'error'):
        ch2.queue_bind(exchange=x, queue=q2, routing_key=sev)
    b1, b2 = Collector(), Collector()
    ch1.basic_consume(queue=q1, on_message_callback=b1, auto_ack=True)
    ch2.basic_consume(queue=q2, on_message_callback=b2, auto_ack=True)
    ch.basic_publish(exchange=x, routing_key='debug', body=b'debug msg')  # unbound: nobody
    ch.basic_publish(exchange=x, routing_key='info', body=b'info msg')
    ch.basic_publish(exchange=x, routing_key='error', body=b'error msg')
    b1.wait(c1, 1)
    b2.wait(c2, 2)
    pump(c1, 0.2)
    pump(c2, 0.1)
    assert b1.bodies() == ['error msg'], b1.bodies()
    assert b2.bodies() == ['info msg', 'error msg'], b2.bodies()


@scenario('topics-star-and-hash')
def topics(ctx):
    x = ctx.exchange('topic_logs')
    conn, ch = ctx.channel()
    ch.exchange_declare(exchange=x, exchange_type='topic')
    keys = ['kern.critical', 'kern.info.x', 'user.critical', 'old', 'old.boy', 'old.boy.python',
            'a.z', 'a.b.c.z', 'anonymous.info']
    expected = {
        'kern.*': ['kern.critical'],
        '*.critical': ['kern.critical', 'user.critical'],
        '#': keys,
        'old.#': ['old', 'old.boy', 'old.boy.python'],
        'old.*': ['old.boy'],
        'a.#.z': ['a.z', 'a.b.c.z'],
    }
    boxes = {}
    for key in expected:
        qn = ch.queue_declare(queue='', exclusive=True).method.queue
        ch.queue_bind(exchange=x, queue=qn, routing_key=key)
        boxes[key] = Collector()
        ch.basic_consume(queue=qn, on_message_callback=boxes[key], auto_ack=True)
    for k in keys:
        ch.basic_publish(exchange=x, routing_key=k, body=k.encode())
    total = sum(len(v) for v in expected.values())
    wait_for(conn, lambda: sum(len(b.messages) for b in boxes.values()) >= total, 5,
             '%d deliveries' % total)
    pump(conn, 0.2)
    for key, want in expected.items():
        assert boxes[key].bodies() == want, (key, boxes[key].bodies())


def _fib(n):
    return n if n < 2 else _fib(n - 1) + _fib(n - 2)


def _rpc_server(ctx, rpc_q, seen_reply_to):
    sconn, sch = ctx.channel()
    sch.queue_declare(queue=rpc_q)
    sch.basic_qos(prefetch_count=1)

    def on_request(ch, method, props, body):
        seen_reply_to.append(props.reply_to)
        ch.basic_publish(exchange='', routing_key=props.reply_to,
                         properties=pika.BasicProperties(correlation_id=props.correlation_id),
                         body=str(_fib(int(body))).encode())
        ch.basic_ack(delivery_tag=method.delivery_tag)

    sch.basic_consume(queue=rpc_q, on_message_callback=on_request)
    return sconn


@scenario('rpc-reply-to-correlation-id')
def rpc(ctx):
    rpc_q = ctx.queue('rpc_queue')
    seen = []
    sconn = _rpc_server(ctx, rpc_q, seen)
    cconn, cch = ctx.channel()
    callback_queue = cch.queue_declare(queue='', exclusive=True).method.queue
    responses = {}

    def on_response(ch, method, props, body):
        responses[props.correlation_id] = body.decode()

    cch.basic_consume(queue=callback_queue, on_message_callback=on_response, auto_ack=True)
    for corr, n in (('c-10', 10), ('c-20', 20), ('c-7', 7)):
        cch.basic_publish(exchange='', routing_key=rpc_q, body=str(n).encode(),
                          properties=pika.BasicProperties(reply_to=callback_queue,
                                                          correlation_id=corr))

    def done():
        sconn.process_data_events(time_limit=0)
        cconn.process_data_events(time_limit=0)
        return len(responses) == 3

    wait_for(None, done, 5, 'three RPC responses')
    assert responses == {'c-10': '55', 'c-20': '6765', 'c-7': '13'}, responses
    assert seen == [callback_queue] * 3


@scenario('rpc-direct-reply-to')
def rpc_direct_reply_to(ctx):
    rpc_q = ctx.queue('rpc_drt')
    seen = []
    sconn = _rpc_server(ctx, rpc_q, seen)
    cconn, cch = ctx.channel()
    responses = {}

    def on_response(ch, method, props, body):
        responses[props.correlation_id] = body.decode()

    # Consume the pseudo-queue in no-ack mode before publishing with reply_to set to it.
    cch.basic_consume(queue='amq.rabbitmq.reply-to', on_message_callback=on_response, auto_ack=True)
    cch.basic_publish(exchange='', routing_key=rpc_q, body=b'12',
                      properties=pika.BasicProperties(reply_to='amq.rabbitmq.reply-to',
                                                      correlation_id='r1'))

    def done():
        sconn.process_data_events(time_limit=0)
        cconn.process_data_events(time_limit=0)
        return responses

    wait_for(None, done, 5, 'the direct reply-to response')
    assert responses == {'r1': '144'}, responses
    assert seen[0].startswith('amq.rabbitmq.reply-to.'), seen
