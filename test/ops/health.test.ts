// Liveness and readiness as answers: cql-proxy's rule (ready while the control connection is up
// or down for less than --readiness-timeout), ours on top of it (ready whatever the outage while
// a node is usable), our phases (starting, draining), the body, and the Go duration syntax of
// cql-proxy's OutageDuration field.

import { describe, expect, it } from 'vitest';
import {
  Phase,
  goDuration,
  isReady,
  liveness,
  readiness,
  readinessBody,
  type HealthClusterSource,
  type HealthState,
} from '../../src/ops/health.js';

function cluster(outageMs: number, nodesUp: boolean[] = [true, true, true]): HealthClusterSource {
  return {
    controlConnected: outageMs === 0,
    controlOutageMs: outageMs,
    nodeStates: () => nodesUp.map((up) => ({ up })),
  };
}

function state(phase: Phase, c: HealthClusterSource | undefined, clients = 0): HealthState {
  return { phase, cluster: c, clientConnections: clients };
}

describe('goDuration: Go time.Duration.String() of milliseconds', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [-5, '0s'],
    [1, '1ms'],
    [250, '250ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1005, '1.005s'],
    [1050, '1.05s'],
    [59_999, '59.999s'],
    [60_000, '1m0s'],
    [62_500, '1m2.5s'],
    [3_600_000, '1h0m0s'],
    [3_723_004, '1h2m3.004s'],
    [90_000_000, '25h0m0s'],
    [1499.6, '1.5s'],
  ];
  for (const [ms, text] of cases) {
    it(`${ms} ms → ${text}`, () => expect(goDuration(ms)).toBe(text));
  }
});

describe('liveness', () => {
  it('is always 200 ok, as cql-proxy', () => {
    expect(liveness()).toStrictEqual({
      statusCode: 200,
      contentType: 'text/plain; charset=utf-8',
      body: 'ok',
    });
  });
});

describe('readiness', () => {
  const TIMEOUT = 30_000;

  it('is 200 with cql-proxy\u2019s field and ours while the control connection is up', () => {
    const answer = readiness(state(Phase.RUNNING, cluster(0, [true, false, true]), 7), TIMEOUT);
    expect(answer.statusCode).toBe(200);
    expect(answer.contentType).toBe('application/json');
    expect(JSON.parse(answer.body)).toStrictEqual({
      OutageDuration: '0s',
      status: 'UP',
      controlConnection: 'UP',
      outageMs: 0,
      readinessTimeoutMs: TIMEOUT,
      nodes: { up: 2, down: 1 },
      clientConnections: 7,
    });
  });

  it('with no node usable, stays 200 during an outage shorter than the timeout, 503 from the timeout on', () => {
    const noNode = [false, false, false];
    const short = readiness(state(Phase.RUNNING, cluster(TIMEOUT - 1, noNode)), TIMEOUT);
    expect(short.statusCode).toBe(200);
    expect(JSON.parse(short.body)).toMatchObject({
      status: 'UP',
      controlConnection: 'DOWN',
      OutageDuration: '29.999s',
      nodes: { up: 0, down: 3 },
    });
    for (const outage of [TIMEOUT, TIMEOUT + 1, 10 * TIMEOUT]) {
      const long = readiness(state(Phase.RUNNING, cluster(outage, noNode)), TIMEOUT);
      expect(long.statusCode).toBe(503);
      expect(JSON.parse(long.body)).toMatchObject({ status: 'DOWN', outageMs: outage });
    }
  });

  it('is 200 whatever the control connection\u2019s outage while any node is usable', () => {
    // Regression: after the whole cluster came back, traffic succeeded over the pools while
    // readiness stayed 503 for the control connection's reconnection backoff (~24 s).
    for (const outage of [TIMEOUT, TIMEOUT + 1, 10 * TIMEOUT]) {
      const answer = readiness(
        state(Phase.RUNNING, cluster(outage, [false, true, false])),
        TIMEOUT,
      );
      expect(answer.statusCode).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({
        status: 'UP',
        controlConnection: 'DOWN',
        outageMs: outage,
        OutageDuration: goDuration(outage),
        nodes: { up: 1, down: 2 },
      });
    }
    // Draining still wins.
    expect(readiness(state(Phase.DRAINING, cluster(TIMEOUT, [true])), TIMEOUT).statusCode).toBe(
      503,
    );
  });

  it('is 503 while starting (no cluster yet) and while draining, whatever the cluster', () => {
    for (const s of [
      state(Phase.STARTING, undefined),
      state(Phase.RUNNING, undefined),
      state(Phase.DRAINING, cluster(0)),
    ]) {
      const answer = readiness(s, TIMEOUT);
      expect(answer.statusCode).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({
        status: s.phase === Phase.DRAINING ? 'DRAINING' : 'STARTING',
      });
      expect(isReady(s, TIMEOUT)).toBe(false);
    }
    expect(readinessBody(state(Phase.STARTING, undefined), TIMEOUT)).toMatchObject({
      nodes: { up: 0, down: 0 },
      controlConnection: 'DOWN',
      OutageDuration: '0s',
    });
  });

  it('isReady agrees with the status code', () => {
    for (const outage of [0, 1, TIMEOUT - 1, TIMEOUT, TIMEOUT * 2]) {
      for (const phase of Object.values(Phase)) {
        for (const nodes of [[true], [false], []]) {
          const s = state(phase, cluster(outage, nodes));
          expect(isReady(s, TIMEOUT)).toBe(readiness(s, TIMEOUT).statusCode === 200);
        }
      }
    }
  });
});
