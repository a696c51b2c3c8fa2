"""Entry point the conformance runner (conformance/run.mjs) calls for pika scenarios.

    harness.py --list                          JSON list of scenarios
    harness.py --run <group/name> --url U --suffix S [--can-restart]

One scenario per process, so a wedged pika connection can only hang its own process (the runner
kills it after its timeout; SIGALRM here fails it a little earlier with a traceback). The last
stdout line is ``@@RESULT {"status": "pass"|"fail"|"skip", "detail": ...}``.
"""

import argparse
import importlib
import json
import os
import signal
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import pika  # noqa: F401
except ImportError:
    sys.stderr.write("pika not found: run 'apt-get install -y python3-pika'\n")
    sys.exit(3)

import confkit  # noqa: E402

MODULES = ['tutorials', 'declares', 'exchanges', 'delivery', 'publishing', 'connection',
           'resilience', 'select_connection', 'dispatch', 'limits', 'priorities', 'delayed', 'access',
           'max_length', 'dead_letter_ttl', 'tls']


def load():
    for m in MODULES:
        importlib.import_module(m)
    return confkit.REGISTRY


def result(status, detail=None):
    sys.stdout.write('@@RESULT %s\n' % json.dumps({'status': status, 'detail': detail}))
    sys.stdout.flush()


def on_alarm(signum, frame):
    raise confkit.Timeout('scenario timed out (SIGALRM)')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--run')
    ap.add_argument('--url')
    ap.add_argument('--suffix', default='x')
    ap.add_argument('--can-restart', action='store_true')
    args = ap.parse_args()
    scenarios = load()
    if args.list:
        print(json.dumps([{k: s[k] for k in ('id', 'name', 'needs_restart', 'timeout_s')}
                          for s in scenarios]))
        return 0
    match = [s for s in scenarios if s['id'] == args.run]
    if not match:
        result('fail', 'no such scenario %r' % args.run)
        return 1
    s = match[0]
    ctx = confkit.Ctx(args.url, args.suffix, args.can_restart)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(s['timeout_s'])
    try:
        s['fn'](ctx)
        status, detail = 'pass', None
    except confkit.Skip as e:
        status, detail = 'skip', str(e)
    except BaseException:  # noqa: BLE001 - every failure is reported, including Timeout
        status, detail = 'fail', traceback.format_exc()
    finally:
        signal.alarm(0)
    signal.alarm(10)  # bound the cleanup too
    try:
        ctx.dispose()
    except BaseException:  # noqa: BLE001
        pass
    signal.alarm(0)
    result(status, detail)
    return 0


if __name__ == '__main__':
    sys.exit(main())
