import { formatNumber, formatTime } from '../../format.ts';

// A training dataset's split settings (`TrainingDataset.split`, JSON as stored) in words.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function share(value: unknown): string | null {
  return typeof value === 'number' && value > 0 ? `${formatNumber(value * 100, 3)} %` : null;
}

function window(name: string, value: unknown): string | null {
  if (!isObj(value)) return null;
  const start = typeof value.start === 'string' ? formatTime(value.start) : 'the start';
  const end = typeof value.end === 'string' ? formatTime(value.end) : 'now';
  return `${name} ${start} to ${end}`;
}

/** "random: test 20 %, seed 42", "time series: train … to …, test … to …", "none: every row in train". */
export function splitSummary(split: unknown): string {
  if (!isObj(split)) return '—';
  const parts: string[] = [];
  let kind: string;
  switch (split.kind) {
    case 'RANDOM': {
      kind = 'random';
      const test = share(split.testSize);
      const validation = share(split.validationSize);
      if (test) parts.push(`test ${test}`);
      if (validation) parts.push(`validation ${validation}`);
      if (typeof split.seed === 'number') parts.push(`seed ${split.seed}`);
      break;
    }
    case 'TIME_SERIES':
      kind = 'time series';
      for (const name of ['train', 'validation', 'test']) {
        const text = window(name, split[name]);
        if (text) parts.push(text);
      }
      break;
    case 'NONE':
      kind = 'none';
      parts.push('every row in train');
      break;
    default:
      kind = String(split.kind ?? 'unknown');
  }
  if (typeof split.startTime === 'string' || typeof split.endTime === 'string') {
    parts.push(
      `rows from ${typeof split.startTime === 'string' ? formatTime(split.startTime) : 'the start'} to ${typeof split.endTime === 'string' ? formatTime(split.endTime) : 'now'}`,
    );
  }
  return parts.length > 0 ? `${kind}: ${parts.join(', ')}` : kind;
}
