/**
 * Counters and histograms for the serving path, where prom-client's own cost per observation
 * (a label object, its validation and a hash string each time: ≈ 2–4 µs) was a tenth of a
 * featureVector request. A series here is a slot the caller obtains once per label values
 * (`series(…)`) and then updates with a few additions; the families render themselves in the
 * Prometheus text format at scrape time, beside the registry's.
 */

/** One histogram series: counts per bucket (not cumulative until rendered), sum, count. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** One counter series. */
export class CounterSeries {
  value = 0;
  inc(by = 1): void {
    this.value += by;
  }
}

/** A family of series of one metric, by label values (in `labelNames` order). */
abstract class Family<S> {
  readonly #series = new Map<string, { readonly values: readonly string[]; readonly series: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected abstract create(): S;

  /** The series of these label values, made on first use. */
  series(...values: string[]): S {
    const key = values.join('\u0000');
    let entry = this.#series.get(key);
    if (!entry) {
      entry = { values, series: this.create() };
      this.#series.set(key, entry);
    }
    return entry.series;
  }

  protected *entries(): Iterable<{ readonly labels: string; readonly series: S }> {
    for (const { values, series } of this.#series.values()) {
      yield { labels: values.map((v, i) => `${this.labelNames[i]}="${escapeLabel(v)}"`).join(','), series };
    }
  }

  abstract render(): string;
}

export class HotHistogram extends Family<HistogramSeries> {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
  }

  protected create(): HistogramSeries {
    return new HistogramSeries(this.buckets);
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const { labels, series } of this.entries()) {
      const prefix = labels ? `${labels},` : '';
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += series.counts[i]!;
        lines.push(`${this.name}_bucket{${prefix}le="${bound}"} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${series.count}`);
      const braces = labels ? `{${labels}}` : '';
      lines.push(`${this.name}_sum${braces} ${series.sum}`, `${this.name}_count${braces} ${series.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

export class HotCounter extends Family<CounterSeries> {
  protected create(): CounterSeries {
    return new CounterSeries();
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} counter`];
    for (const { labels, series } of this.entries()) lines.push(`${this.name}${labels ? `{${labels}}` : ''} ${series.value}`);
    return `${lines.join('\n')}\n`;
  }
}

/** A label value in the text format: backslash, double quote and line feed escaped. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
