/**
 * Resource alarms as the operations surface shows them: with the broker's memory alarm on (a
 * resource reader reporting more memory than the limit), /api/nodes says mem_alarm, the alarms
 * health checks answer 503, the Prometheus alarm gauge is 1 and `amqpctl check_alarms` fails
 * with 69; with memory under the limit, all of them are clear.
 */
import { describe, expect, it } from 'vitest';
import type { ResourceReader } from '../../src/broker/alarms.js';
import { runCtl } from '../../src/cli/amqpctl.js';
import { withManagement } from '../helpers/management.js';

const reader = (usedBytes: number): ResourceReader => ({ memoryUsedBytes: () => usedBytes, diskFreeBytes: () => undefined });

describe('alarms in the management API, metrics and CLI', () => {
  it('reports a memory alarm everywhere operators look', async () => {
    await withManagement(
      async (m) => {
        const [node] = (await m.api('GET', '/api/nodes')).json;
        expect(node).toMatchObject({ mem_alarm: true, disk_free_alarm: false });
        const check = await m.api('GET', '/api/health/checks/alarms');
        expect(check.status).toBe(503);
        expect(check.json).toMatchObject({ status: 'failed', reason: 'resource alarm(s) in effect', alarms: [{ resource: 'memory' }] });
        expect((await m.api('GET', '/api/health/checks/local-alarms')).status).toBe(503);
        expect((await m.metrics()).text).toMatch(/^rabbitmq_alarms_memory_used_watermark 1$/m);
        await expect(runCtl(['-P', String(m.httpPort), 'check_alarms'], {})).rejects.toMatchObject({ exitCode: 69 });
      },
      { resources: reader(Number.MAX_SAFE_INTEGER) },
    );
  });

  it('is clear when memory is under the limit', async () => {
    await withManagement(
      async (m) => {
        expect((await m.api('GET', '/api/nodes')).json[0].mem_alarm).toBe(false);
        expect((await m.api('GET', '/api/health/checks/alarms')).json).toEqual({ status: 'ok' });
        expect((await m.metrics()).text).toMatch(/^rabbitmq_alarms_memory_used_watermark 0$/m);
        expect((await runCtl(['-P', String(m.httpPort), 'check_alarms'], {})).code).toBe(0);
      },
      { resources: reader(1) },
    );
  });
});
