// A management scraper for bench/compare.mjs --scraper (issue 15, "Performance"): polls GET
// /api/overview, /api/queues and the Prometheus /metrics of one amqpd every `intervalMs` (5 s, as a
// Prometheus job and a dashboard do), the three calls one after the other. It counts the calls and
// keeps the slowest; failures are counted, never thrown (the benchmark must not stop for them).
//
// Bounded: one round in flight at a time; stop() ends the timer and waits for that round.
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

export function startScraper({ http, metrics, intervalMs = 5000 }) {
  const stats = { rounds: 0, calls: 0, failures: 0, slowestMs: 0 };
  const urls = [
    [`http://127.0.0.1:${http}/api/overview`, true],
    [`http://127.0.0.1:${http}/api/queues`, true],
    [`http://127.0.0.1:${metrics}/metrics`, false],
  ];
  let inFlight = Promise.resolve();
  const round = async () => {
    stats.rounds++;
    for (const [url, auth] of urls) {
      const t0 = performance.now();
      try {
        const res = await fetch(url, { headers: auth ? { authorization: AUTH } : {}, signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (!res.ok) stats.failures++;
      } catch {
        stats.failures++;
      }
      stats.calls++;
      stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
    }
  };
  const timer = setInterval(() => {
    inFlight = inFlight.then(round);
  }, intervalMs);
  inFlight = round();
  return {
    stats,
    async stop() {
      clearInterval(timer);
      await inFlight;
      return stats;
    },
  };
}
