// The kinds of metric the proxy registers, all read at scrape time from counters the request path
// keeps (nothing is pushed per request): a counter or a gauge of one value, a labelled one filled
// from a record, and the request latency histogram read from RequestStats.

import { Counter, Gauge, type Aggregator, type Registry } from 'prom-client';
import { opcodeName } from '../protocol/constants.js';
import { LATENCY_BUCKETS_SECONDS, type LatencySnapshot } from './request-stats.js';

/** Every metric of the proxy is named cqlproxy_... */
export const METRIC_PREFIX = 'cqlproxy_';

export function counter(
  registers: Registry[],
  name: string,
  help: string,
  value: () => number,
): void {
  new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(value());
    },
  });
}

/**
 * With --workers N the primary sums the workers' metrics (primary-http.ts); `aggregator` says
 * otherwise for a gauge whose sum means nothing (a flag: min or max).
 */
export function gauge(
  registers: Registry[],
  name: string,
  help: string,
  value: () => number,
  aggregator: Aggregator = 'sum',
): void {
  new Gauge({
    name,
    help,
    registers,
    aggregator,
    collect() {
      this.set(value());
    },
  });
}

/** A labelled counter or gauge filled from a record at scrape time. */
export function labelled(
  kind: 'counter' | 'gauge',
  registers: Registry[],
  name: string,
  help: string,
  label: string,
  read: () => Readonly<Record<string, number>> | undefined,
): void {
  const config = {
    name,
    help,
    labelNames: [label],
    registers,
    collect(this: Counter | Gauge) {
      this.reset();
      const values = read();
      if (values === undefined) return;
      for (const [key, value] of Object.entries(values)) {
        if (this instanceof Gauge) this.set({ [label]: key }, value);
        else this.inc({ [label]: key }, value);
      }
    },
  };
  if (kind === 'counter') new Counter(config);
  else new Gauge(config);
}

/**
 * The request latency histogram, read from RequestStats at scrape time. prom-client's Histogram
 * can only be fed one observation at a time, so this is a metric of our own that prom-client's
 * Registry renders like any other: it reads `name`, `help`, `type`, `aggregator` and `get()`.
 */
export class LatencyHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly snapshot: () => LatencySnapshot[];

  constructor(name: string, help: string, snapshot: () => LatencySnapshot[]) {
    this.name = name;
    this.help = help;
    this.snapshot = snapshot;
  }

  get(): Promise<{
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: { metricName: string; labels: Record<string, string | number>; value: number }[];
  }> {
    const values = [];
    for (const h of this.snapshot()) {
      const opcode = opcodeName(h.opcode);
      h.cumulative.forEach((count, i) => {
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { opcode, le: LATENCY_BUCKETS_SECONDS[i] ?? '+Inf' },
          value: count,
        });
      });
      values.push(
        { metricName: `${this.name}_bucket`, labels: { opcode, le: '+Inf' }, value: h.count },
        { metricName: `${this.name}_sum`, labels: { opcode }, value: h.sumSeconds },
        { metricName: `${this.name}_count`, labels: { opcode }, value: h.count },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** The data belong to RequestStats: nothing to reset here. */
  reset(): void {}
}
