/**
 * Wire tests of the connection handshake against RabbitMQ's observed behaviour (checked with a raw
 * socket against a RabbitMQ node): AMQPLAIN, failed logins and the silent-close delay, tune-ok
 * refusals, heartbeat 0, connection.update-secret. Servers run with a 50 ms silent-close delay
 * (RabbitMQ: 3 s) so the suite stays fast.
 */
import { describe, expect, it } from 'vitest';
import { encodeTable, tableFromJs } from '../../src/codec/field-table.js';
import { method } from '../../src/codec/methods.generated.js';
import { AMQP_HEADER, RawClient } from '../helpers/raw-client.js';
import { withServer } from '../helpers/server.js';

const LOGIN_REFUSED = (mech: string) => `ACCESS_REFUSED - Login was refused using authentication mechanism ${mech}. For details see the broker logfile.`;

function amqplainResponse(login: string, password: string): Buffer {
  // AMQPLAIN's response is a field table without its 4-byte length prefix.
  return encodeTable(tableFromJs({ LOGIN: login, PASSWORD: password })).subarray(4);
}

const withCap = tableFromJs({ capabilities: { authentication_failure_close: true } });

async function startOk(c: RawClient, m: { mechanism: string; response: Buffer; clientProperties?: ReturnType<typeof tableFromJs> }) {
  c.send(AMQP_HEADER);
  await c.expectMethod('connection.start');
  c.sendMethod(0, method('connection.start-ok', { clientProperties: m.clientProperties ?? withCap, mechanism: m.mechanism, response: m.response, locale: 'en_US' }));
}

/** No frame at all arrives before the socket closes. */
async function expectSilentClose(c: RawClient): Promise<void> {
  await c.expectClosed();
  await expect(c.expectFrame(10)).rejects.toThrow(/timed out/);
}

async function servesAfterwards(port: number): Promise<void> {
  const c = await RawClient.connect(port);
  await c.handshake();
  await c.openChannel(1);
  c.close();
}

describe('handshake', () => {
  it('logs in with AMQPLAIN and opens the connection', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await startOk(c, { mechanism: 'AMQPLAIN', response: amqplainResponse('guest', 'guest') });
      const tune = await c.expectMethod('connection.tune');
      expect([tune.channelMax, tune.frameMax, tune.heartbeat]).toEqual([2047, 131072, 60]);
      c.sendMethod(0, method('connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 0 }));
      c.sendMethod(0, method('connection.open', { virtualHost: '/' }));
      await c.expectMethod('connection.open-ok');
      await c.openChannel(1);
      c.close();
    });
  });

  it('refuses a wrong AMQPLAIN password with 403 naming AMQPLAIN and class/method 0/0, and lets go at close-ok', async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const c = await RawClient.connect(port);
        await startOk(c, { mechanism: 'AMQPLAIN', response: amqplainResponse('guest', 'wrong') });
        const close = await c.expectMethod('connection.close');
        expect(close).toMatchObject({ channel: 0, replyCode: 403, replyText: LOGIN_REFUSED('AMQPLAIN'), classId: 0, methodId: 0 });
        // RabbitMQ compat: close-ok ends it at once, even though the silent-close delay is long here.
        c.sendMethod(0, method('connection.close-ok'));
        await c.expectClosed(2_000);
        await servesAfterwards(port);
      },
      { limits: { silentCloseDelayMs: 60_000 } },
    );
  });

  it('drops a refused client that never sends close-ok after the silent-close delay', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await startOk(c, { mechanism: 'PLAIN', response: Buffer.from('\0guest\0wrong') });
      const close = await c.expectMethod('connection.close');
      expect(close.replyText).toBe(LOGIN_REFUSED('PLAIN'));
      await c.expectClosed();
      await servesAfterwards(port);
    });
  });

  it('closes without a close frame for a wrong password from a client lacking authentication_failure_close', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await startOk(c, { mechanism: 'AMQPLAIN', response: amqplainResponse('guest', 'wrong'), clientProperties: new Map() });
      await expectSilentClose(c);
      await servesAfterwards(port);
    });
  });

  it('closes without a close frame for an unknown authentication mechanism', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await startOk(c, { mechanism: 'EXTERNAL', response: Buffer.alloc(0) });
      await expectSilentClose(c);
      await servesAfterwards(port);
    });
  });

  it('closes without a close frame for a malformed AMQPLAIN response', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await startOk(c, { mechanism: 'AMQPLAIN', response: Buffer.from([5, 0x4c]) });
      await expectSilentClose(c);
      await servesAfterwards(port);
    });
  });

  it('closes without a close frame for a tune-ok above our frame_max or channel_max', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      for (const tuneOk of [
        { channelMax: 10, frameMax: 200_000, heartbeat: 0 },
        { channelMax: 5000, frameMax: 131072, heartbeat: 0 },
        { channelMax: 10, frameMax: 1000, heartbeat: 0 },
      ]) {
        const c = await RawClient.connect(port);
        await startOk(c, { mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest') });
        await c.expectMethod('connection.tune');
        c.sendMethod(0, method('connection.tune-ok', tuneOk));
        c.sendMethod(0, method('connection.open', { virtualHost: '/' }));
        await expectSilentClose(c);
      }
      await servesAfterwards(port);
    });
  });

  it('disables heartbeats both ways when the client asks for 0', async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const c = await RawClient.connect(port);
        const tune = await c.handshake({ heartbeat: 0 });
        expect(tune.heartbeat).toBe(1);
        const before = c.receivedBytes().length;
        // With heartbeats on, we would send one every 0.5 s and drop a silent client after 2 s.
        await new Promise((r) => setTimeout(r, 2_300));
        expect(c.receivedBytes().length).toBe(before);
        expect(c.ended).toBe(false);
        await c.openChannel(1);
        c.close();
      },
      { config: { heartbeatS: 1 } },
    );
  });

  it('answers connection.update-secret with update-secret-ok and keeps the connection', async () => {
    expect.hasAssertions();
    await withServer(async ({ port }) => {
      const c = await RawClient.connect(port);
      await c.handshake();
      c.sendMethod(0, method('connection.update-secret', { newSecret: Buffer.from('guest'), reason: 'token refresh' }));
      const ok = await c.expectMethod('connection.update-secret-ok');
      expect(ok.channel).toBe(0);
      await c.openChannel(1);
      c.close();
    });
  });

  it('drops a client that does not finish the handshake in time', async () => {
    expect.hasAssertions();
    await withServer(
      async ({ port }) => {
        const c = await RawClient.connect(port);
        c.send(AMQP_HEADER);
        await c.expectMethod('connection.start');
        await expectSilentClose(c);
        await servesAfterwards(port);
      },
      { limits: { handshakeTimeoutMs: 200 } },
    );
  });
});
