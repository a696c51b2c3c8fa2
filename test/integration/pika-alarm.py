"""A pika publisher under a memory alarm (run by test/integration/alarms.test.ts).

    pika-alarm.py <port> <queue>

Publishes 1 KiB messages in confirm mode, one every 10 ms, printing 'ready' once connected, then
'blocked <reason>' when the broker sends connection.blocked and 'unblocked' when it clears, until
'stop' arrives on stdin; then it publishes 5 more and prints 'done <confirmed count>'. Every line is
flushed at once.
"""
import select
import sys
import time

import pika

port, queue = int(sys.argv[1]), sys.argv[2]
state = {'blocked': None, 'unblocked': False}


def say(line):
    sys.stdout.write(line + '\n')
    sys.stdout.flush()


def on_blocked(_conn, frame):
    state['blocked'] = frame.method.reason
    say('blocked ' + frame.method.reason)


def on_unblocked(_conn, _frame):
    state['unblocked'] = True
    say('unblocked')


params = pika.ConnectionParameters(host='127.0.0.1', port=port, heartbeat=0)
conn = pika.BlockingConnection(params)
conn.add_on_connection_blocked_callback(on_blocked)
conn.add_on_connection_unblocked_callback(on_unblocked)
ch = conn.channel()
ch.queue_declare(queue)
ch.confirm_delivery()
say('ready')
confirmed = 0
deadline = time.time() + 60
while time.time() < deadline and not select.select([sys.stdin], [], [], 0)[0]:
    ch.basic_publish('', queue, b'p' * 1024)  # returns once confirmed (waits while we are blocked)
    confirmed += 1
    conn.sleep(0.01)
for _ in range(5):
    ch.basic_publish('', queue, b'p' * 1024)
    confirmed += 1
say('done %d' % confirmed)
conn.close()
