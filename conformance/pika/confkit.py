"""Shared kit for the pika conformance scenarios: registry, per-scenario context, bounded waits.

Job: give each scenario unique entity names (a random suffix, so runs against a shared RabbitMQ
never collide), connections that are closed afterwards however the scenario ends, a restart hook
(the runner owns the broker: we print ``@@RESTART`` and block until ``@@RESTARTED`` arrives on
stdin), and waits that always have a deadline. Invariant: nothing here can block without a bound.
Deliberately not here: assertions about broker behaviour (those live in the scenario modules).

Standard library + Debian's python3-pika (1.2) only.
"""

import json
import os
import sys
import time

import pika
import pika.exceptions

REGISTRY = []  # [{'id', 'name', 'fn', 'needs_restart', 'timeout_s'}] in definition order


def scenario(name, needs_restart=False, timeout=20):
    """Register ``fn(ctx)`` as scenario ``<module>/<name>``."""

    def register(fn):
        group = fn.__module__.rsplit('.', 1)[-1]
        REGISTRY.append({'id': '%s/%s' % (group, name), 'name': name, 'fn': fn,
                         'needs_restart': needs_restart, 'timeout_s': timeout})
        return fn

    return register


class Skip(Exception):
    pass


class Timeout(AssertionError):
    pass


def pump(conn, seconds):
    """Let a BlockingConnection dispatch callbacks for ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        conn.process_data_events(time_limit=min(left, 0.05))


def wait_for(conn, predicate, timeout, what):
    """Dispatch ``conn``'s events until ``predicate()`` is truthy; raise Timeout after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Timeout('timed out after %.1f s waiting for %s' % (timeout, what))
        if conn is not None:
            conn.process_data_events(time_limit=0.05)
        else:
            time.sleep(0.05)


def poll(fn, timeout, what):
    """Call ``fn()`` until it returns a truthy value (for basic_get loops)."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Timeout('timed out after %.1f s waiting for %s' % (timeout, what))
        time.sleep(0.05)


def get_message(ch, queue, timeout=3.0, auto_ack=True):
    """basic_get until a message arrives: returns (method, properties, body)."""
    def attempt():
        method, props, body = ch.basic_get(queue, auto_ack=auto_ack)
        return (method, props, body) if method is not None else None
    return poll(attempt, timeout, 'a message on %r' % queue)


def expect_channel_error(fn, code, text=None):
    """Run ``fn()``; it must raise ChannelClosedByBroker with ``code`` and text containing ``text``."""
    try:
        fn()
    except pika.exceptions.ChannelClosedByBroker as e:
        assert e.reply_code == code, 'expected %d, got %d %r' % (code, e.reply_code, e.reply_text)
        if text is not None:
            assert text in e.reply_text, 'expected text containing %r, got %r' % (text, e.reply_text)
        return e
    raise AssertionError('expected a channel error %d, got success' % code)


class Collector:
    """Consumer callback that records (method, properties, body)."""

    def __init__(self):
        self.messages = []

    def __call__(self, ch, method, props, body):
        self.messages.append((method, props, body))

    def bodies(self):
        return [m[2].decode('utf-8') for m in self.messages]

    def wait(self, conn, n, timeout=5.0):
        wait_for(conn, lambda: len(self.messages) >= n, timeout,
                 '%d messages (got %d)' % (n, len(self.messages)))
        return self.messages[:n]


class Ctx:
    def __init__(self, url, suffix, can_restart):
        self.url = url
        self.suffix = suffix
        self.can_restart = can_restart
        self._conns = []
        self._cleanups = []
        self._queues = []
        self._exchanges = []
        # The TLS listener and certificates (conformance/lib/tls-pki.mjs plus 'url'), from the runner.
        self.tls = json.loads(os.environ.get('AMQPD_CONF_TLS') or 'null')

    def log(self, msg):
        sys.stdout.write('%s\n' % msg)
        sys.stdout.flush()

    def name(self, base):
        return 'conf.%s.%s' % (base, self.suffix)

    def queue(self, base):
        n = self.name(base)
        self._queues.append(n)
        return n

    def exchange(self, base):
        n = self.name(base)
        self._exchanges.append(n)
        return n

    def defer(self, fn):
        self._cleanups.append(fn)

    def params(self, **overrides):
        p = pika.URLParameters(self.url)
        p.connection_attempts = 1
        p.socket_timeout = 5
        p.blocked_connection_timeout = 10
        for k, v in overrides.items():
            setattr(p, k, v)
        return p

    def connect(self, **overrides):
        conn = pika.BlockingConnection(self.params(**overrides))
        self._conns.append(conn)
        return conn

    def channel(self, **overrides):
        conn = self.connect(**overrides)
        return conn, conn.channel()

    def restart(self):
        if not self.can_restart:
            raise Skip('needs restart control')
        sys.stdout.write('@@RESTART\n')
        sys.stdout.flush()
        line = sys.stdin.readline().strip()
        if line != '@@RESTARTED':
            raise AssertionError('broker restart failed: %s' % (line or 'no answer from runner'))

    def dispose(self):
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception:  # noqa: BLE001 - cleanup must not mask the scenario's result
                pass
        for c in self._conns:
            try:
                if c.is_open:
                    c.close()
            except Exception:  # noqa: BLE001
                pass
        if not self._queues and not self._exchanges:
            return
        try:
            conn = pika.BlockingConnection(self.params())
        except Exception:  # noqa: BLE001 - broker may be down after a failed restart scenario
            return
        try:
            for kind, names in (('queue', self._queues), ('exchange', self._exchanges)):
                for n in names:
                    try:
                        ch = conn.channel()
                        if kind == 'queue':
                            ch.queue_delete(n)
                        else:
                            ch.exchange_delete(n)
                        ch.close()
                    except Exception:  # noqa: BLE001
                        pass
        finally:
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
